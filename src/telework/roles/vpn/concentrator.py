"""What one VPN concentrator serves: its clients and peers with their tunnel addresses, its
pools, and its firewall's access groups (see telework.roles.vpn.people for the rules)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from hashlib import sha256
from typing import NamedTuple

import netaddr

from telework.core.gcpause import without_gc_pauses
from telework.inventory.loaded import LoadedInventory
from telework.inventory.lookup import unknown_name
from telework.inventory.model import (
    AddressPool,
    AuthServer,
    DeviceStatus,
    Inventory,
    LinuxEndpoint,
    PoolKind,
    VpnConcentrator,
)
from telework.ipam.allocations import concentrator_address, device_key, person_key
from telework.roles.vpn.people import OWNERLESS, AccessError, VpnFacts, facts_of, pools_of_kind
from telework.roles.vpn.secret_names import (
    TLS_CRYPT_SECRET,
    radius_secret,
    server_key_secret,
    wireguard_key_secret,
)


@dataclass(frozen=True)
class TunnelPool:
    """A concentrator's pool of one tunnel kind and its own address in it (the first host)."""

    pool: AddressPool
    network: netaddr.IPNetwork
    address: netaddr.IPAddress

    @property
    def interface(self) -> netaddr.IPNetwork:
        """The concentrator's tunnel address with the pool's mask, e.g. 10.128.0.1/22."""
        return netaddr.IPNetwork(f"{self.address}/{self.network.prefixlen}")


@dataclass(frozen=True, slots=True)
class OpenVpnClient:
    """A person who may log in on this concentrator, with their fixed tunnel address."""

    username: str
    address: netaddr.IPAddress
    department: str
    group: str
    networks: list[str]
    prefixes: list[netaddr.IPNetwork]


@dataclass(frozen=True, slots=True)
class WireguardPeer:
    """A managed device allowed on this concentrator (AllowedIPs = `address`/32)."""

    name: str
    public_key: str
    address: netaddr.IPAddress
    owner: str | None
    group: str
    networks: list[str]
    prefixes: list[netaddr.IPNetwork]


@dataclass(frozen=True)
class AccessGroup:
    """Tunnel addresses that may reach the same networks: one nftables set and one rule.

    `set_name` is safe as an nftables identifier (letters, digits, `_`)."""

    name: str
    set_name: str
    department: str | None
    networks: list[str]
    destinations: list[netaddr.IPNetwork]
    sources: list[netaddr.IPAddress]
    members: list[str]


class AccessRule(NamedTuple):
    """One allowed flow: tunnel address (as a /32 prefix) -> internal prefix."""

    source: netaddr.IPNetwork
    destination: netaddr.IPNetwork
    comment: str


@dataclass(frozen=True)
class ConcentratorView:
    """Everything a concentrator's deploy renders. Secrets are named, never included."""

    concentrator: VpnConcentrator
    auth_server: AuthServer
    openvpn_pool: TunnelPool | None
    wireguard_pool: TunnelPool | None
    openvpn_clients: list[OpenVpnClient]
    wireguard_peers: list[WireguardPeer]
    #: the compact form of the firewall: one set of sources per group (use this for nftables)
    access_groups: list[AccessGroup]
    #: the same flows one by one, source by source (for checks and small templates)
    access_rules: list[AccessRule]
    #: every prefix any client or peer may reach: routes to push, routes to the LAN
    internal_routes: list[netaddr.IPNetwork]
    dns_servers: list[netaddr.IPAddress]
    #: secret names (SecretStore): decrypt them in the deploy, never put them in host data
    server_key_secret: str
    tls_crypt_secret: str
    radius_secret: str
    wireguard_key_secret: str


@without_gc_pauses
def concentrator_view(loaded: LoadedInventory, concentrator_name: str) -> ConcentratorView:
    """The clients, peers, address pools and firewall groups of one concentrator.

    Raises AccessError when the concentrator is unknown or a client or peer has no tunnel
    address in this concentrator's pools (run `telework ipam sync` and commit allocations.yml):
    a concentrator is never rendered with people silently missing."""
    facts = facts_of(loaded)
    inv = facts.inv
    concentrator = next((c for c in inv.vpn_concentrators if c.name == concentrator_name), None)
    if concentrator is None:
        raise unknown_name(loaded, "VPN concentrator", concentrator_name, (c.name for c in inv.vpn_concentrators))
    auth_server = next(a for a in inv.auth_servers if a.name == concentrator.auth_server)
    openvpn_pool = _tunnel_pool(inv, concentrator.name, PoolKind.openvpn)
    wireguard_pool = _tunnel_pool(inv, concentrator.name, PoolKind.wireguard)
    missing: list[str] = []
    groups: dict[tuple[str | None, tuple[str, ...]], list[tuple[netaddr.IPAddress, str]]] = {}

    clients = []
    if openvpn_pool is not None:
        for person in sorted(inv.people, key=lambda p: p.username):
            vp = facts.person(person) if person.vpn else None
            if vp is None or not vp.has_access or not vp.enrolled:
                continue
            address = facts.allocations.address_of(openvpn_pool.pool.name, person_key(vp.username))
            if address is None:
                missing.append(f"{person_key(vp.username)} in {openvpn_pool.pool.name}")
                continue
            group_key: tuple[str | None, tuple[str, ...]] = (vp.department, tuple(vp.networks))
            groups.setdefault(group_key, []).append((address, person_key(vp.username)))
            clients.append(OpenVpnClient(vp.username, address, vp.department, _group_name(facts, *group_key),
                                         vp.networks, vp.prefixes))

    peers = []
    if wireguard_pool is not None:
        for device in sorted(peer_devices(loaded, facts), key=lambda d: d.name):
            address = facts.allocations.address_of(wireguard_pool.pool.name, device_key(device.name))
            if address is None:
                missing.append(f"{device_key(device.name)} in {wireguard_pool.pool.name}")
                continue
            department, networks = _device_networks(facts, device)
            group_key = (department, tuple(networks))
            groups.setdefault(group_key, []).append((address, device_key(device.name)))
            peers.append(WireguardPeer(device.name, device.wireguard_public_key or "", address, device.owner,
                                       _group_name(facts, *group_key), networks, facts.prefixes(networks)))
    if missing:
        raise AccessError(
            f"{concentrator.name}: {len(missing)} client(s) have no tunnel address: "
            f"{', '.join(missing[:5])}{' …' if len(missing) > 5 else ''} (fix: run `telework ipam sync "
            f"{loaded.root}` and commit allocations.yml)")

    access_groups = _access_groups(facts, groups)
    rules = []
    for g in access_groups:
        targets = [(facts.prefix_of[net], f"{g.name}: {net}") for net in g.networks if net in facts.prefix_of]
        for source in g.sources:
            host = facts.host_prefix(source)
            rules.extend(AccessRule(host, prefix, comment) for prefix, comment in targets)
    routes = sorted({d for g in access_groups for d in g.destinations})
    return ConcentratorView(
        concentrator=concentrator,
        auth_server=auth_server,
        openvpn_pool=openvpn_pool,
        wireguard_pool=wireguard_pool,
        openvpn_clients=clients,
        wireguard_peers=peers,
        access_groups=access_groups,
        access_rules=rules,
        internal_routes=routes,
        dns_servers=list(inv.organisation.settings.dns_servers),
        server_key_secret=server_key_secret(concentrator.name),
        tls_crypt_secret=TLS_CRYPT_SECRET,
        radius_secret=radius_secret(concentrator.name),
        wireguard_key_secret=wireguard_key_secret(concentrator.name),
    )




def peer_devices(loaded: LoadedInventory, facts: VpnFacts | None = None) -> list[LinuxEndpoint]:
    """Active Linux endpoints and notebooks with a public key whose owner has access, or no owner."""
    facts = facts or facts_of(loaded)
    inv = facts.inv
    out = []
    for _, device in inv.managed_endpoints():
        if device.status is not DeviceStatus.active or not device.wireguard_public_key:
            continue
        if device.owner is not None:
            owner = inv.person(device.owner)
            if owner is None or not facts.person(owner).has_access:
                continue
        out.append(device)
    return out


def device_networks(loaded: LoadedInventory, device: LinuxEndpoint) -> list[str]:
    """The networks a device reaches: its owner's, or the shared ones for an ownerless device."""
    return _device_networks(facts_of(loaded), device)[1]


def network_prefixes(loaded: LoadedInventory, names: Iterable[str]) -> list[netaddr.IPNetwork]:
    """The prefixes of the named networks, sorted (unknown names are left out: validation reports them)."""
    found = (loaded.model.network(name) for name in names)
    return sorted({network.prefix for network in found if network is not None})


def _device_networks(facts: VpnFacts, device: LinuxEndpoint) -> tuple[str | None, list[str]]:
    owner = facts.inv.person(device.owner) if device.owner else None
    if owner is None:  # no owner (an unknown one is a validation error, never rendered)
        return None, facts.shared_networks
    person = facts.person(owner)
    return person.department, person.networks


def _tunnel_pool(inv: Inventory, concentrator: str, kind: PoolKind) -> TunnelPool | None:
    pool = next((p for p in pools_of_kind(inv, kind) if p.concentrator == concentrator), None)
    if pool is None:
        return None
    return TunnelPool(pool, pool.prefix, concentrator_address(pool.prefix))




_NFT_UNSAFE = re.compile(r"[^a-z0-9_]")


def _group_name(facts: VpnFacts, department: str | None, networks: tuple[str, ...]) -> str:
    """The department, `+` each network beyond the department's access; `ownerless`."""
    known = facts.group_names.get((department, networks))
    if known is not None:
        return known
    if department is None:
        name = OWNERLESS
    else:
        dep = facts.inv.department(department)
        base = set(dep.access) if dep else set()
        name = "+".join([department, *(n for n in networks if n not in base)])
    facts.group_names[(department, networks)] = name
    return name


def _access_groups(facts: VpnFacts, groups: dict) -> list[AccessGroup]:
    out = []
    for (department, networks), members in groups.items():
        members = sorted(members, key=lambda m: (m[0].version, m[0].value, m[1]))  # ints: fast
        out.append(AccessGroup(
            name=_group_name(facts, department, networks),
            set_name="",
            department=department,
            networks=list(networks),
            destinations=facts.prefixes(networks),
            sources=[address for address, _ in members],
            members=sorted(member for _, member in members),
        ))
    out.sort(key=lambda g: g.name)
    # nftables identifiers: letters, digits and `_`. The name is derived from the group alone
    # (never from a counter), so adding a group never renames another; a clash of two sanitised
    # names (`a-b` and `a_b`) gets a digest of the real name.
    seen: dict[str, int] = {}
    for g in out:
        seen[_nft_name(g.name)] = seen.get(_nft_name(g.name), 0) + 1
    return [replace(g, set_name=_nft_name(g.name) if seen[_nft_name(g.name)] == 1
                    else f"{_nft_name(g.name)}_{sha256(g.name.encode()).hexdigest()[:6]}")
            for g in out]


def _nft_name(name: str) -> str:
    return "vpn_" + _NFT_UNSAFE.sub("_", name.replace("+", "__"))


