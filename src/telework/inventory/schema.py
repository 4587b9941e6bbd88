"""The JSON Schema of an inventory file, for editors (yaml-language-server) and CI linters.

Any file of an inventory may hold any subset of the sections, so the file schema is the
inventory model with every section optional; cross-file rules stay with `telework validate`.
"""

from __future__ import annotations

import json

from telework.inventory.model import Inventory

SCHEMA_ID = "https://telework.example/schema/inventory.schema.json"


def inventory_file_schema() -> dict:
    schema = Inventory.model_json_schema(mode="validation")
    schema["required"] = []
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = SCHEMA_ID
    schema["description"] = (
        "One file of a telework inventory. Sections may be split across files; "
        "list sections are concatenated. Check the whole inventory with `telework validate`."
    )
    return schema


def inventory_file_schema_json() -> str:
    return json.dumps(inventory_file_schema(), indent=2, ensure_ascii=False, sort_keys=False) + "\n"
