"""Summaries of an inventory for people: counts per site and per access method, the servers,
address pool use.

Access is counted as the VPN grants it: a person with `vpn: true` who is suspended or revoked
(`access/revocations.yml`, passed in as `revoked`) is counted as revoked, not as a VPN user.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection

from telework.inventory.loaded import LoadedInventory
from telework.inventory.model import DeviceStatus, Inventory, Person, PersonStatus, PoolKind
from telework.inventory.validation import pool_usable

#: access methods, in the order tables show them
ACCESS_METHODS = ("openvpn_totp", "wireguard_device", "openvpn_and_wireguard", "phone_only", "revoked", "none")


def access_method(inv: Inventory, person: Person, revoked: Collection[str], devices: Collection[str],
                  phones: Collection[str] = ()) -> str:
    """How a person works from home: the VPN account, a WireGuard device, only a desk phone, or nothing."""
    if person.vpn and (person.status is not PersonStatus.active or person.username in revoked):
        return "revoked"
    openvpn = person.vpn
    wireguard = person.username in devices and person.status is PersonStatus.active
    if openvpn and wireguard:
        return "openvpn_and_wireguard"
    if openvpn:
        return "openvpn_totp"
    if wireguard:
        return "wireguard_device"
    return "phone_only" if person.username in phones else "none"


def inventory_summary(loaded: LoadedInventory, revoked: Collection[str] = ()) -> dict:
    inv = loaded.model
    devices = {e.owner for e in inv.wireguard_devices() if e.owner and e.wireguard_public_key}
    phones = {d.owner for d in inv.desk_phones if d.status is not DeviceStatus.retired}
    methods = {p.username: access_method(inv, p, revoked, devices, phones) for p in inv.people}
    home = {p.username for p in inv.people
            if (p.home_office if p.home_office is not None else methods[p.username] not in ("none", "revoked"))}
    rows = []
    count = lambda items: Counter(i.site for i in items)  # noqa: E731
    people = count(inv.people)
    by_method = {m: Counter(p.site for p in inv.people if methods[p.username] == m) for m in ACCESS_METHODS}
    numbers = Counter(p.site for p in inv.people if p.phone)
    igel, linux, notebooks = count(inv.igel_devices), count(inv.linux_endpoints), count(inv.notebooks)
    desk, servers = count(inv.desk_phones), Counter(s.site for _, s in inv.servers())
    workstations = count(inv.workstations)
    for site in inv.sites:
        rows.append({"site": site.id, "people": people[site.id],
                     "home_office": sum(1 for p in inv.people if p.site == site.id and p.username in home),
                     "vpn": by_method["openvpn_totp"][site.id] + by_method["openvpn_and_wireguard"][site.id],
                     "revoked": by_method["revoked"][site.id], "numbers": numbers[site.id],
                     # kept for readers of the JSON before "numbers" (people with a city number)
                     "phones": numbers[site.id],
                     "igel": igel[site.id], "linux": linux[site.id], "notebooks": notebooks[site.id],
                     "desk_phones": desk[site.id], "workstations": workstations[site.id],
                     "servers": servers[site.id]})
    access = [{"method": m, "people": sum(by_method[m].values()),
               **{site.id: by_method[m][site.id] for site in inv.sites}} for m in ACCESS_METHODS]
    server_rows = [{"name": s.name, "group": group, "site": s.site, "address": str(s.address),
                    "public_address": str(getattr(s, "public_address", "") or ""), "ring": s.ring or ""}
                   for group, s in inv.servers()]
    # members as telework.ipam counts them: a revoked person keeps the address until removed
    members = {PoolKind.openvpn: len(inv.vpn_people()),
               PoolKind.wireguard: sum(1 for e in inv.wireguard_devices() if e.status is DeviceStatus.active)}
    allocations = _allocations(loaded)
    pools = []
    for pool in inv.address_pools:
        capacity = pool_usable(pool.prefix)
        used = allocations.get(pool.name, (0, 0))
        pools.append({"pool": pool.name, "kind": pool.kind.value, "concentrator": pool.concentrator,
                      "prefix": str(pool.prefix), "members": members[pool.kind], "allocated": used[0],
                      "quarantined": used[1], "capacity": capacity,
                      "use": (used[0] + used[1]) / capacity if capacity else 0.0})
    return {"organisation": inv.organisation.name, "sites": rows, "access": access, "servers": server_rows,
            "revoked": len(revoked), "pools": pools}


def _allocations(loaded: LoadedInventory) -> dict[str, tuple[int, int]]:
    """(allocated, quarantined) per pool from the committed allocations file, if IPAM is set up."""
    try:
        from telework.ipam.allocations import pool_usage
    except ImportError:
        return {}
    return pool_usage(loaded)
