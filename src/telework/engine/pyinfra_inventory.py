"""An organisation's inventory directory as a pyinfra inventory file.

An organisation's `inventory.py` (see inventory/sample/inventory.py) calls
`pyinfra_groups(__file__)`, so `pyinfra INVENTORY/inventory.py deploy/site.py` works directly,
with the same hosts, groups and data as `telework plan|apply` (telework.inventory.hosts).
Give pyinfra telework's group_data with `--group-data` when telework is installed as a package
(`python -c 'from telework.resources import group_data_dir; print(group_data_dir())'`).
"""

from __future__ import annotations

import sys
from pathlib import Path

from telework.core.problems import TeleworkError
from telework.inventory.hosts import host_entries
from telework.inventory.loading import load_inventory
from telework.inventory.overlay import load_overlay


def pyinfra_groups(inventory_file: str | Path, overlay: str | Path | None = None) -> dict[str, tuple[list, dict]]:
    """Groups for a pyinfra inventory module: {group: ([(host, data), ...], {})}.

    Exits with the validation errors (never a traceback) when the inventory is invalid:
    pyinfra must not deploy from an inventory that `telework validate` rejects.
    """
    inventory_dir = Path(inventory_file).resolve()
    if inventory_dir.is_file():
        inventory_dir = inventory_dir.parent
    loaded = load_inventory(inventory_dir)
    if loaded.errors:
        for problem in loaded.errors:
            print(problem.format(), file=sys.stderr)
        print(f"{inventory_dir}: {len(loaded.errors)} error(s); run `telework validate {inventory_dir}`",
              file=sys.stderr)
        raise SystemExit(1)
    try:
        overlay_data = load_overlay(overlay)
    except TeleworkError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
    groups: dict[str, list] = {}
    for name, data, host_groups in host_entries(loaded.model, inventory_dir, overlay_data):
        for group in host_groups:
            groups.setdefault(group, []).append((name, data))
    return {group: (hosts, {}) for group, hosts in groups.items()}
