"""Summaries of an inventory for people: counts per site, address pool use."""

from __future__ import annotations

from collections import Counter

from telework.inventory.loaded import LoadedInventory
from telework.inventory.model import PoolKind
from telework.inventory.validation import pool_usable


def inventory_summary(loaded: LoadedInventory) -> dict:
    inv = loaded.model
    rows = []
    count = lambda items: Counter(i.site for i in items)  # noqa: E731
    people, vpn = count(inv.people), count(inv.vpn_people())
    phones = Counter(p.site for p in inv.people if p.phone)
    igel, linux, notebooks = count(inv.igel_devices), count(inv.linux_endpoints), count(inv.notebooks)
    desk, servers = count(inv.desk_phones), Counter(s.site for _, s in inv.servers())
    for site in inv.sites:
        rows.append({"site": site.id, "people": people[site.id], "vpn": vpn[site.id], "phones": phones[site.id],
                     "igel": igel[site.id], "linux": linux[site.id], "notebooks": notebooks[site.id],
                     "desk_phones": desk[site.id], "servers": servers[site.id]})
    members = {PoolKind.openvpn: len(inv.vpn_people()), PoolKind.wireguard: len(inv.wireguard_devices())}
    allocations = _allocations(loaded)
    pools = []
    for pool in inv.address_pools:
        capacity = pool_usable(pool.prefix)
        used = allocations.get(pool.name, (0, 0))
        pools.append({"pool": pool.name, "kind": pool.kind.value, "concentrator": pool.concentrator,
                      "prefix": str(pool.prefix), "members": members[pool.kind], "allocated": used[0],
                      "quarantined": used[1], "capacity": capacity,
                      "use": (used[0] + used[1]) / capacity if capacity else 0.0})
    return {"organisation": inv.organisation.name, "sites": rows, "pools": pools}


def _allocations(loaded: LoadedInventory) -> dict[str, tuple[int, int]]:
    """(allocated, quarantined) per pool from the committed allocations file, if IPAM is set up."""
    try:
        from telework.ipam.allocations import pool_usage
    except ImportError:
        return {}
    return pool_usage(loaded)
