"""The JSON Schema of allocations.yml, so an editor that checks every `*.yml` of the repository
against the inventory schema is told by the file's own `$schema` line what the file is.

The file is written by `telework ipam sync` only (telework.ipam.file); the schema describes its
layout for editors and says so, it does not replace the reader's own checks.
"""

from __future__ import annotations

import json

SCHEMA_ID = "https://telework.example/schema/allocations.schema.json"
#: where the schema lies, relative to allocations.yml at the root of an inventory directory
SCHEMA_PATH = "../schema/allocations.schema.json"

_ENTRY = r"^(person|device):[a-z0-9][a-z0-9._-]* [0-9]{4}-[0-9]{2}-[0-9]{2}$"
_ADDRESSES = {
    "type": "object",
    "description": "tunnel address -> '<member> <date>' (person:<username> or device:<name>, YYYY-MM-DD)",
    "additionalProperties": {"type": "string", "pattern": _ENTRY, "examples": ["person:jmueller 2026-11-22"]},
}


def allocations_file_schema() -> dict:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "telework allocations.yml",
        "description": "VPN tunnel addresses per address pool, written by `telework ipam sync`: do not edit by hand.",
        "type": "object",
        "additionalProperties": False,
        "required": ["pools"],
        "properties": {
            "pools": {
                "type": "object",
                "description": "address pool name -> its allocated and released (quarantined) addresses",
                "additionalProperties": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "allocated": {**_ADDRESSES, "description": "address -> member holding it, since when"},
                        "released": {**_ADDRESSES, "description": "address -> member who held it, released when "
                                     "(quarantined for organisation.settings.address_quarantine_days)"},
                    },
                },
            },
        },
    }


def allocations_file_schema_json() -> str:
    return json.dumps(allocations_file_schema(), indent=2, ensure_ascii=False) + "\n"
