"""The inventory as pyinfra sees it: hosts in groups by role, site and ring, with their data.

An organisation's `inventory.py` (see inventory/sample/inventory.py) calls
`pyinfra_groups(__file__)`, so `pyinfra inventory/sample/inventory.py deploy/<role>.py`
works directly. Group defaults live in group_data/ (pyinfra loads it from the working
directory and from the inventory directory).

Production addresses come from the inventory; the lab (or any other environment) maps
hosts elsewhere through an overlay file named by $TELEWORK_OVERLAY, so the inventory is
never edited for a test environment.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import yaml

from .inventory import load_inventory
from .ipam import Allocations, allocations_path
from .model import Inventory
from .problems import TeleworkError

OVERLAY_ENV = "TELEWORK_OVERLAY"
#: Connection settings an overlay may set per host; anything else is ignored.
OVERLAY_KEYS = {"ssh_hostname", "ssh_user", "ssh_port", "ssh_key", "ssh_known_hosts_file",
                "ssh_strict_host_key_checking", "apt_proxy"}


def group_name(prefix: str, value: str) -> str:
    """pyinfra group names are Python identifiers: `site_technisches_rathaus`."""
    return f"{prefix}_{re.sub(r'[^0-9a-zA-Z_]', '_', value)}"


def host_entries(inv: Inventory, inventory_dir: Path, overlay: dict | None = None) -> list[tuple[str, dict, list[str]]]:
    """(host name, host data, group names) for every host telework manages over SSH."""
    overlay_hosts = (overlay or {}).get("hosts", {}) or {}
    endpoints = inv.managed_endpoints()
    # Read once for all endpoints (each is reached on its tunnel address), not once per host.
    allocations = Allocations.load(allocations_path(inventory_dir)) if endpoints else None
    entries = []
    for role, server in inv.servers() + endpoints:
        data = {
            "ssh_hostname": _production_address(inv, allocations, role, server),
            "telework_inventory": str(inventory_dir),
            "telework_role": role,
            "telework_site": server.site,
            "telework_ring": server.ring,
        }
        data.update({k: v for k, v in (overlay_hosts.get(server.name) or {}).items() if k in OVERLAY_KEYS})
        groups = [role, group_name("site", server.site)]
        if server.ring:
            groups.append(group_name("ring", server.ring))
        entries.append((server.name, data, groups))
    return entries


def _production_address(inv: Inventory, allocations: Allocations | None, role: str, host) -> str:
    """Servers are reached on their inventory address; endpoints on their WireGuard tunnel address."""
    if role in ("linux_endpoints", "notebooks"):
        if host.vpn_address is not None:
            return str(host.vpn_address)
        for pool in inv.address_pools:
            if pool.kind.value == "wireguard":
                address = allocations.address_of(pool.name, f"device:{host.name}")
                if address is not None:
                    return str(address)
        return host.name
    return str(host.address.ip)


def load_overlay(path: str | Path | None = None) -> dict | None:
    path = path or os.environ.get(OVERLAY_ENV)
    if not path:
        return None
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TeleworkError(f"${OVERLAY_ENV} names {path}, which does not exist (fix: start the lab it belongs "
                            f"to with `telework lab up <inventory>`, or unset ${OVERLAY_ENV} to reach the "
                            f"hosts at their inventory addresses)") from None
    try:
        return yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise TeleworkError(f"{path}: not valid YAML ({exc}); the lab writes this file, "
                            f"`telework lab up` writes it again") from None


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
