"""What deploy files need: the inventory, loaded once per process, and their templates.

Only `deploy/*.py` read `host.data`; they hand the inventory path to these functions and get
validated model objects back (style: inventory YAML -> model -> host data -> deploy -> templates).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import jinja2

from telework.inventory.loaded import LoadedInventory
from telework.inventory.loading import require_inventory
from telework.resources import templates_dir

#: Every template starts with this header (templates/_header.j2); it names no commit or date,
#: so an unchanged inventory renders byte-identical files and a plan stays empty.
MANAGED_HEADER = "managed by telework from inventory '{org}': local changes are overwritten"


@lru_cache(maxsize=8)
def loaded_inventory(inventory_dir: str) -> LoadedInventory:
    return require_inventory(Path(inventory_dir))


def template_path(role: str, destination: str) -> str:
    """templates/<role>/<destination>.j2: templates mirror the path they are written to."""
    return str(templates_dir() / role / (destination.lstrip("/") + ".j2"))


def header(inventory_dir: str, comment: str = "#") -> str:
    org = loaded_inventory(inventory_dir).model.organisation.slug
    return f"{comment} {MANAGED_HEADER.format(org=org)}"


@lru_cache(maxsize=32)
def _environment(directory: str) -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(directory), undefined=jinja2.StrictUndefined,
                              keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True)


def render_template(role: str, destination: str, **context) -> str:
    """templates/<role>/<destination>.j2 rendered with StrictUndefined (a missing value is an
    error, never an empty string in a firewall rule). Rendered here, not by pyinfra's
    `files.template`, which would put the template arguments into automatic operation names."""
    path = Path(template_path(role, destination))
    return _environment(str(path.parent)).get_template(path.name).render(**context)
