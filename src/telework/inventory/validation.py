"""Cross-reference checks over the whole inventory.

The schema (`telework.inventory.model`) checks each object alone; these rules need several:
references to sites, departments, networks, rings and people must resolve; identifiers
(usernames, MACs, serials, extensions, DIDs, host names) must be unique; numbers must lie
in the organisation's number blocks; address pools must not overlap each other, the
organisation's networks or (as a warning) the LANs of common home routers; pinned and
static addresses must lie in their pool or network; every pool must hold its members.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator

import netaddr

from telework.core.problems import Problem, Severity
from telework.inventory.loaded import LoadedInventory
from telework.inventory.model import DeviceStatus, PoolKind
from telework.inventory.phone import din5008
from telework.ipam.allocations import RESERVED_AT_END, RESERVED_AT_START, allocation_problems

#: LANs that employees' own routers use out of the box. A VPN pool overlapping one of
#: them makes the home LAN and the tunnel collide on that person's machine.
HOME_ROUTER_LANS: dict[str, netaddr.IPNetwork] = {
    "AVM FRITZ!Box": netaddr.IPNetwork("192.168.178.0/24"),
    "Telekom Speedport": netaddr.IPNetwork("192.168.2.0/24"),
    "many routers (TP-Link, Netgear, D-Link)": netaddr.IPNetwork("192.168.0.0/24"),
    "many routers (Vodafone, o2, ASUS)": netaddr.IPNetwork("192.168.1.0/24"),
}


def cross_check(loaded: LoadedInventory) -> list[Problem]:
    problems: list[Problem] = []
    for rule in (_references, _uniqueness, _numbers, _pools_and_networks, _static_addresses, _capacity,
                 _home_office):
        problems.extend(rule(loaded))
    if not any(p.severity is Severity.ERROR for p in (*loaded.problems, *problems)):
        # The allocations file is checked against a consistent inventory only: its messages
        # ("member without an address") would be noise on top of a broken reference.
        problems.extend(allocation_problems(loaded))
    return problems


# ---------------------------------------------------------------- references


def _references(loaded: LoadedInventory) -> Iterator[Problem]:
    inv = loaded.model
    sites = {s.id for s in inv.sites}
    deps = {d.id for d in inv.departments}
    nets = {n.name for n in inv.networks}
    rings = {r.name for r in inv.rollout_rings}
    people = {p.username for p in inv.people}
    auth = {a.name for a in inv.auth_servers}
    concentrators = {c.name for c in inv.vpn_concentrators}
    blocks = {b.name for b in inv.number_blocks}
    # Items with schema errors are out of the model but keep their name: a reference to one
    # is fine until that entry's own error is fixed (one typo, one error).
    def keep(section: str, known: set[str]) -> set[str]:
        gone = loaded.invalid_ids.get(section, set())
        return known | gone | {key.lower() for key in gone}

    sites, deps, nets, rings = keep("sites", sites), keep("departments", deps), keep("networks", nets), \
        keep("rollout_rings", rings)
    people, auth, blocks = keep("people", people), keep("auth_servers", auth), keep("number_blocks", blocks)
    concentrators = keep("vpn_concentrators", concentrators)

    gone = {key for keys in loaded.invalid_ids.values() for key in keys}

    def ref(section, index, key, value, known, what, where):
        if value is not None and value not in known:
            hint = _closest(value, known)
            if hint in gone:  # the entry meant is the one with the schema error: that error is the cause
                return
            fix = f"did you mean '{hint}'? " if hint else ""
            yield loaded.problem(f"ref.unknown_{what}", section, index, key, f"unknown {what} '{value}'",
                                 fix + f"define it in {where} or correct the name")

    site_where = "the 'sites' section"
    for section in ("networks", "number_blocks", "vpn_concentrators", "auth_servers", "sip_servers", "people",
                    "igel_devices", "linux_endpoints", "notebooks", "desk_phones", "workstations"):
        for i, item in enumerate(getattr(inv, section)):
            yield from ref(section, i, ("site",), item.site, sites, "site", site_where)
    for i, dep in enumerate(inv.departments):
        for j, net in enumerate(dep.access):
            yield from ref("departments", i, ("access", j), net, nets, "network", "the 'networks' section")
    for i, person in enumerate(inv.people):
        yield from ref("people", i, ("department",), person.department, deps, "department",
                       "the 'departments' section")
        for j, net in enumerate(person.extra_access):
            yield from ref("people", i, ("extra_access", j), net, nets, "network", "the 'networks' section")
    for i, pool in enumerate(inv.address_pools):
        yield from ref("address_pools", i, ("concentrator",), pool.concentrator, concentrators, "concentrator",
                       "the 'vpn_concentrators' section")
    for i, conc in enumerate(inv.vpn_concentrators):
        yield from ref("vpn_concentrators", i, ("auth_server",), conc.auth_server, auth, "auth server",
                       "the 'auth_servers' section")
    for i, sip in enumerate(inv.sip_servers):
        for j, block in enumerate(sip.number_blocks):
            yield from ref("sip_servers", i, ("number_blocks", j), block, blocks, "number block",
                           "the 'number_blocks' section")
    for section in ("vpn_concentrators", "auth_servers", "sip_servers", "igel_devices", "linux_endpoints",
                    "notebooks"):
        for i, item in enumerate(getattr(inv, section)):
            yield from ref(section, i, ("ring",), item.ring, rings, "ring", "the 'rollout_rings' section")
    for section in ("igel_devices", "linux_endpoints", "notebooks", "desk_phones", "workstations"):
        for i, item in enumerate(getattr(inv, section)):
            yield from ref(section, i, ("owner",), item.owner, people, "person", "the 'people' section")


def _home_office(loaded: LoadedInventory) -> Iterator[Problem]:
    """`home_office: false` beside access that only serves a home office is a contradiction to resolve."""
    inv = loaded.model
    at_home: dict[str, list[str]] = defaultdict(list)
    for section in ("igel_devices", "linux_endpoints", "notebooks", "desk_phones"):
        for item in getattr(inv, section):
            if item.owner and item.status is not DeviceStatus.retired:
                at_home[item.owner].append(getattr(item, "name", None) or f"desk phone {item.mac}")
    for i, person in enumerate(inv.people):
        if person.home_office is False and (person.vpn or at_home[person.username]):
            what = ", ".join((["vpn: true"] if person.vpn else []) + at_home[person.username][:3])
            yield loaded.problem("people.home_office", "people", i, ("home_office",),
                                 f"home_office: false, but {person.username} has home-office access ({what})",
                                 "write home_office: true, or take the access away", severity=Severity.WARNING)


def _closest(value: str, known: Iterable[str]) -> str | None:
    import difflib

    match = difflib.get_close_matches(value, list(known), n=1, cutoff=0.75)
    return match[0] if match else None


# ---------------------------------------------------------------- uniqueness


def _uniqueness(loaded: LoadedInventory) -> Iterator[Problem]:
    inv = loaded.model
    # (what, [(section, index, key path, value)])
    groups: dict[str, list[tuple[str, int, tuple, object]]] = defaultdict(list)
    ids = {
        "sites": "id", "departments": "id", "rollout_rings": "name", "networks": "name",
        "address_pools": "name", "number_blocks": "name",
    }
    for section, key in ids.items():
        for i, item in enumerate(getattr(inv, section)):
            groups[f"{section} {key}"].append((section, i, (key,), getattr(item, key)))
    for section in ("vpn_concentrators", "auth_servers", "sip_servers", "igel_devices", "linux_endpoints",
                    "notebooks", "workstations"):
        for i, item in enumerate(getattr(inv, section)):
            groups["host name"].append((section, i, ("name",), item.name))
    for i, person in enumerate(inv.people):
        groups["username"].append(("people", i, ("username",), person.username))
        if person.phone:
            groups["extension"].append(("people", i, ("phone", "extension"), person.phone.extension))
            groups["DID"].append(("people", i, ("phone", "did"), person.phone.did))
    for section in ("igel_devices", "linux_endpoints", "notebooks", "desk_phones", "workstations"):
        for i, item in enumerate(getattr(inv, section)):
            if item.mac:
                groups["MAC address"].append((section, i, ("mac",), item.mac))
            serial = getattr(item, "serial", None)
            if serial:
                groups["serial number"].append((section, i, ("serial",), serial))
    for what, entries in groups.items():
        first_seen: dict[object, tuple[str, int, tuple]] = {}
        for section, i, key, value in entries:
            if value in first_seen:
                other_section, other_i, other_key = first_seen[value]
                file, line = loaded.source.locate(loaded.item_path(other_section, other_i, *other_key))
                shown = din5008(str(value), inv.number_blocks) if what == "DID" else value
                yield loaded.problem(f"unique.{what.replace(' ', '_').lower()}", section, i, key,
                                     f"duplicate {what} '{shown}', already used at {file}:{line}",
                                     f"give each a unique {what.split()[-1]}")
            else:
                first_seen[value] = (section, i, key)


# ---------------------------------------------------------------- phone numbers


def _numbers(loaded: LoadedInventory) -> Iterator[Problem]:
    inv = loaded.model
    for i, block in enumerate(inv.number_blocks):
        if block.first > block.last:
            yield loaded.problem("numbers.block_range", "number_blocks", i, ("first",),
                                 f"first extension {block.first} is above last {block.last}", "swap them")
    by_prefix = defaultdict(list)
    for block in inv.number_blocks:
        by_prefix[block.prefix].append(block)
    blocks_text = ", ".join(f"{b.written_prefix} {b.first}-{b.last}" for b in inv.number_blocks) or "none defined"
    for i, person in enumerate(inv.people):
        if person.phone is None:
            continue
        did = person.phone.did
        if _in_blocks(did, by_prefix):
            ext = _extension_in(did, by_prefix)
            if ext is not None and ext != person.phone.extension:
                yield loaded.problem(
                    "numbers.did_extension", "people", i, ("phone", "extension"),
                    f"extension {person.phone.extension} does not match DID {din5008(did, inv.number_blocks)}, "
                    f"which ends in extension {ext}: callers from outside would reach another phone than "
                    "colleagues dialling the extension",
                    f"make them agree: extension '{ext}' or DID ending in {person.phone.extension}")
            continue
        width = _width_mismatch(did, by_prefix)
        if width is not None:
            block, digits = width
            ext = did[len(block.prefix):]
            yield loaded.problem(
                "numbers.extension_width", "people", i, ("phone", "did"),
                f"DID {din5008(did, inv.number_blocks)} ends in the {len(ext)}-digit extension {ext}, but block "
                f"'{block.name}' ({block.written_prefix} {block.first}-{block.last}) has {digits}-digit extensions: "
                "an extension has "
                f"as many digits as its block's 'last'",
                f"use a {digits}-digit extension from {block.first}-{block.last} (or a block of "
                f"{len(ext)}-digit numbers)")
            continue
        yield loaded.problem("numbers.did_outside_blocks", "people", i, ("phone", "did"),
                             f"DID {din5008(did, inv.number_blocks)} is not in any of the organisation's number "
                             f"blocks ({blocks_text})",
                             "use a number from a block or add the block to 'number_blocks'")


def _extension_in(did: str, by_prefix: dict) -> str | None:
    """The extension a DID dials: what follows the prefix of the block it lies in."""
    for prefix, blocks in by_prefix.items():
        rest = did[len(prefix):]
        if did.startswith(prefix) and rest.isdigit() and any(b.first <= int(rest) <= b.last for b in blocks):
            return rest
    return None


def _width_mismatch(did: str, by_prefix: dict):
    """(block, its width) when the DID starts with a block's prefix but has another number of digits."""
    for prefix, blocks in by_prefix.items():
        rest = did[len(prefix):]
        if did.startswith(prefix) and rest.isdigit():
            width = max(len(str(b.last)) for b in blocks)
            if len(rest) != width:
                return blocks[0], width
    return None


def _in_blocks(did: str, by_prefix: dict) -> bool:
    for prefix, blocks in by_prefix.items():
        rest = did[len(prefix):]
        if did.startswith(prefix) and rest.isdigit():
            width = max(len(str(b.last)) for b in blocks)
            if len(rest) == width and any(b.first <= int(rest) <= b.last for b in blocks):
                return True
    return False


# ---------------------------------------------------------------- pools and networks


def _pools_and_networks(loaded: LoadedInventory) -> Iterator[Problem]:
    inv = loaded.model
    ranges = [("address_pools", i, p.name, p.prefix) for i, p in enumerate(inv.address_pools)]
    ranges += [("networks", i, n.name, n.prefix) for i, n in enumerate(inv.networks)]
    for a in range(len(ranges)):
        for b in range(a):
            sa, ia, na, pa = ranges[a]
            sb, ib, nb, pb = ranges[b]
            if pa.first <= pb.last and pb.first <= pa.last:
                file, line = loaded.source.locate(loaded.item_path(sb, ib, "prefix"))
                kind = "address pool" if sa == "address_pools" else "network"
                yield loaded.problem("ipam.overlap", sa, ia, ("prefix",),
                                     f"{kind} '{na}' {pa} overlaps '{nb}' {pb} ({file}:{line})",
                                     "choose a prefix that no other pool or network uses")
    for i, pool in enumerate(inv.address_pools):
        for router, lan in HOME_ROUTER_LANS.items():
            if pool.prefix.first <= lan.last and lan.first <= pool.prefix.last:
                yield loaded.problem(
                    "ipam.home_lan_overlap", "address_pools", i, ("prefix",),
                    f"VPN pool '{pool.name}' {pool.prefix} overlaps {lan}, the home LAN of {router}: "
                    "people behind such a router cannot reach the tunnel's addresses",
                    "use a prefix from 10.0.0.0/8 or 172.16.0.0/12 away from home-router defaults",
                    severity=Severity.WARNING)
    have = defaultdict(set)
    for pool in inv.address_pools:
        have[pool.concentrator].add(pool.kind)
    for i, conc in enumerate(inv.vpn_concentrators):
        for kind in PoolKind:
            if kind not in have[conc.name]:
                yield loaded.problem("ipam.pool_missing", "vpn_concentrators", i, ("name",),
                                     f"concentrator '{conc.name}' has no {kind.value} address pool",
                                     f"add an address pool with kind: {kind.value} and concentrator: {conc.name}")


# ---------------------------------------------------------------- static addresses


def _dropped_prefixes(loaded: LoadedInventory) -> list[netaddr.IPNetwork]:
    """The prefixes of networks left out for schema errors: an address in one is that error's follow-on."""
    alive = loaded.origin.get("networks")
    raw = loaded.source.data.get("networks")
    if alive is None or not isinstance(raw, list):
        return []
    out = []
    for index, item in enumerate(raw):
        if index not in alive and isinstance(item, dict):
            try:
                out.append(netaddr.IPNetwork(str(item.get("prefix"))))
            except (netaddr.AddrFormatError, ValueError, TypeError):
                continue
    return out


def _static_addresses(loaded: LoadedInventory) -> Iterator[Problem]:
    inv = loaded.model
    dropped = _dropped_prefixes(loaded)
    for section in ("vpn_concentrators", "auth_servers", "sip_servers"):
        for i, server in enumerate(getattr(inv, section)):
            ip = server.address.ip
            if any(ip in prefix for prefix in dropped):
                continue
            site_nets = [n for n in inv.networks if n.site in (server.site, None)]  # site-less: anyone's
            home = [n for n in site_nets if ip in n.prefix]
            public = getattr(server, "public_address", None)
            for key, addr in (("address", ip), ("public_address", public)):
                pool = next((p for p in inv.address_pools if addr is not None and addr in p.prefix), None)
                if pool is not None:
                    yield loaded.problem(
                        "ipam.server_in_pool", section, i, (key,),
                        f"{key.replace('_', ' ')} {addr} of '{server.name}' lies in address pool '{pool.name}' "
                        f"{pool.prefix}, whose addresses concentrator '{pool.concentrator}' hands to VPN clients",
                        "use an address from one of the site's networks" if key == "address"
                        else "use the address clients reach from the internet, outside every address pool")
            if any(ip in p.prefix for p in inv.address_pools):
                continue
            if not home:
                listed = ", ".join(f"{n.name} {n.prefix}" for n in site_nets) or "none"
                yield loaded.problem("ipam.static_outside", section, i, ("address",),
                                     f"address {server.address} is outside the networks of site '{server.site}' "
                                     f"({listed})", "use an address from one of the site's networks")
            elif home[0].prefix.prefixlen != server.address.prefixlen:
                yield loaded.problem("ipam.mask_mismatch", section, i, ("address",),
                                     f"address {server.address} has mask /{server.address.prefixlen} but network "
                                     f"'{home[0].name}' is {home[0].prefix}",
                                     f"write it as {ip}/{home[0].prefix.prefixlen}")
            elif ip in (home[0].prefix.network, home[0].prefix.broadcast):
                yield loaded.problem("ipam.static_reserved", section, i, ("address",),
                                     f"address {ip} is the network or broadcast address of {home[0].prefix}",
                                     "use a host address")
    pools = {kind: [p for p in inv.address_pools if p.kind is kind] for kind in PoolKind}
    pinned = [("people", i, p.vpn_address, PoolKind.openvpn) for i, p in enumerate(inv.people) if p.vpn_address]
    for section in ("linux_endpoints", "notebooks"):
        pinned += [(section, i, e.vpn_address, PoolKind.wireguard)
                   for i, e in enumerate(getattr(inv, section)) if e.vpn_address]
    seen: dict = {}
    for section, i, ip, kind in pinned:
        if not any(ip in pool.prefix for pool in pools[kind]):
            listed = ", ".join(f"{p.name} {p.prefix}" for p in pools[kind]) or "none"
            yield loaded.problem("ipam.static_outside", section, i, ("vpn_address",),
                                 f"pinned address {ip} is outside the {kind.value} pools ({listed})",
                                 f"pick an address inside a {kind.value} pool or remove the pin")
        if ip in seen:
            yield loaded.problem("unique.vpn_address", section, i, ("vpn_address",),
                                 f"pinned address {ip} is already pinned by {seen[ip]}", "pin each address once")
        seen[ip] = f"{section}[{i}]"


# ---------------------------------------------------------------- capacity


def pool_usable(prefix: netaddr.IPNetwork) -> int:
    """Client addresses a pool can hand out: all but the reserved ones (`telework.ipam.allocations.RESERVED_AT_START`)."""
    return max(prefix.size - RESERVED_AT_START - RESERVED_AT_END, 0)


def _capacity(loaded: LoadedInventory) -> Iterator[Problem]:
    inv = loaded.model
    members = {
        PoolKind.openvpn: len(inv.vpn_people()),
        PoolKind.wireguard: sum(1 for e in inv.wireguard_devices() if e.status is DeviceStatus.active),
    }
    for i, pool in enumerate(inv.address_pools):
        need = members[pool.kind]
        have = pool_usable(pool.prefix)
        if need > have:
            who = "people with vpn: true" if pool.kind is PoolKind.openvpn else "active Linux endpoints and notebooks"
            yield loaded.problem("ipam.capacity", "address_pools", i, ("prefix",),
                                 f"pool '{pool.name}' {pool.prefix} holds {have} addresses but has {need} members "
                                 f"({who})",
                                 f"enlarge the prefix to at least /{_prefixlen_for(need + 3, pool.prefix.version)}")


def _prefixlen_for(count: int, version: int = 4) -> int:
    """The longest prefix (IPv4 or IPv6) holding `count` addresses."""
    bits = max((count - 1).bit_length(), 2)
    return (32 if version == 4 else 128) - bits
