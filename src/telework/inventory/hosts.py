"""The hosts telework reaches over SSH, with the data and groups deploys see.

Groups are by role (the inventory section: `vpn_concentrators`, `auth_servers`, `sip_servers`,
`linux_endpoints`, `notebooks`), by site (`site_<id>`) and by rollout ring (`ring_<name>`).
Production addresses come from the inventory; an environment overlay (`telework.inventory.
overlay`: the lab writes one) maps hosts elsewhere without editing the inventory.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from telework.inventory.model import Inventory
from telework.inventory.overlay import OVERLAY_KEYS
from telework.ipam.allocations import Allocations, allocations_path

#: a file of the managed hosts' SSH host keys for every connection (a CI job's file variable),
#: so that no job writes into the runner user's ~/.ssh/known_hosts; an overlay still wins
KNOWN_HOSTS_ENV = "TELEWORK_SSH_KNOWN_HOSTS"
#: the account every connection logs in as: a merge-request plan job sets the plan account
#: (group_data base_plan_user), whose key may only run telework's read-only probe; an
#: overlay still wins
SSH_USER_ENV = "TELEWORK_SSH_USER"


def group_name(prefix: str, value: str) -> str:
    """pyinfra group names are Python identifiers: `site_technisches_rathaus`."""
    return f"{prefix}_{re.sub(r'[^0-9a-zA-Z_]', '_', value)}"


def host_entries(inv: Inventory, inventory_dir: Path, overlay: dict | None = None) -> list[tuple[str, dict, list[str]]]:
    """(host name, host data, group names) for every host telework manages over SSH."""
    overlay_hosts = (overlay or {}).get("hosts", {}) or {}
    endpoints = inv.managed_endpoints()
    # Read once for all endpoints (each is reached on its tunnel address), not once per host.
    allocations = Allocations.load(allocations_path(inventory_dir)) if endpoints else None
    known_hosts = os.environ.get(KNOWN_HOSTS_ENV)
    entries = []
    for role, server in inv.servers() + endpoints:
        data = {
            "ssh_hostname": _production_address(inv, allocations, role, server),
            "telework_inventory": str(inventory_dir),
            "telework_role": role,
            "telework_site": server.site,
            "telework_ring": server.ring,
        }
        if known_hosts:
            data["ssh_known_hosts_file"] = known_hosts
        if os.environ.get(SSH_USER_ENV):
            data["ssh_user"] = os.environ[SSH_USER_ENV]
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
