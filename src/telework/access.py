"""Who may reach what over the VPN: the data the concentrator and RADIUS deploys render.

Everything here is a pure function of the loaded inventory and the files committed beside it
(`allocations.yml`, `access/revocations.yml`, the names of the files in `secrets/`): nothing is
decrypted or written, and equal inputs give equal results in the same (sorted) order, so a
rendered config changes only when the inventory does.

The rules, in one place:

* A person **has access** when active, `vpn: true` and not in `access/revocations.yml`.
* An OpenVPN **client** of a concentrator is a person with access who is **enrolled**
  (a `totp/<username>` secret exists: `telework person enroll` made it with their bundle).
* A WireGuard **peer** is an active Linux endpoint or notebook with a `wireguard_public_key`
  whose owner has access, or which has no owner. A person's devices therefore drop out when
  the person is revoked or suspended.
* A person's **networks** are their department's `access` plus their `extra_access`. A device
  has its owner's networks; an ownerless device gets the networks *every* department reaches
  (the intersection of all departments' `access`): a shared device should reach what any
  employee reaches, and nothing that only some departments may see.
* **Access groups** collect the tunnel addresses of clients and peers with the same department
  and the same networks, so the firewall needs one address set and one rule per group (about
  twenty for 750 people) instead of one rule per person and network. A group is named after
  the department, plus `+<network>` for each extra network (`schulverwaltung+fv-einwohner`);
  ownerless devices form the group `ownerless`. A new person only adds addresses to a set.
"""

from __future__ import annotations

import difflib
import os
import re
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from hashlib import sha256
from pathlib import Path
from typing import NamedTuple

import netaddr

from .gcpause import without_gc_pauses
from .inventory import LoadedInventory
from .ipam import Allocations, allocations_path, concentrator_address, device_key, person_key
from .model import (
    AddressPool,
    AuthServer,
    DeviceStatus,
    Inventory,
    LinuxEndpoint,
    Person,
    PersonStatus,
    PoolKind,
    VpnConcentrator,
)
from .problems import InventoryError, TeleworkError
from .revocations import Revocation, load_revocations, revocations_path
from .secrets import SECRETS_DIR, SUFFIX

# ---------------------------------------------------------------- secret names
# The names under which `telework.pki` and `telework.enrolment` store what the deploys need.

CA_KEY_SECRET = "openvpn/ca-key"
TLS_CRYPT_SECRET = "openvpn/tls-crypt"
TOTP_PREFIX = "totp"


def server_key_secret(concentrator: str) -> str:
    """The OpenVPN server's private key (PEM)."""
    return f"openvpn/server-key/{concentrator}"


def radius_secret(concentrator: str) -> str:
    """The RADIUS shared secret between a concentrator and its auth_server."""
    return f"radius/secret/{concentrator}"


def wireguard_key_secret(concentrator: str) -> str:
    """The concentrator's WireGuard private key (kind wireguard: its public key is in index.yml)."""
    return f"wireguard/server-key/{concentrator}"


def totp_secret(username: str) -> str:
    """A person's TOTP seed (base32)."""
    return f"{TOTP_PREFIX}/{username}"


#: Name of the access group of devices without an owner.
OWNERLESS = "ownerless"


class AccessError(TeleworkError):
    """A person, device or concentrator cannot be served as asked."""


# ---------------------------------------------------------------- people


@dataclass(frozen=True, slots=True)
class VpnPerson:
    """A person as the VPN sees them."""

    username: str
    name: str
    department: str
    site: str
    status: PersonStatus
    vpn: bool
    networks: list[str]
    prefixes: list[netaddr.IPNetwork]
    #: concentrator name -> the person's tunnel address in its OpenVPN pool (allocations.yml)
    openvpn_address: dict[str, netaddr.IPAddress]
    enrolled: bool
    revoked: bool
    revocation: Revocation | None = None

    @property
    def has_access(self) -> bool:
        """Active, `vpn: true` and not revoked: may log in once enrolled."""
        return self.vpn and self.status is PersonStatus.active and not self.revoked


@dataclass
class _Facts:
    """What every view needs, read once per inventory while its files stay as they are."""

    loaded: LoadedInventory
    allocations: Allocations
    revocations: dict[str, Revocation]
    enrolled: frozenset[str]
    prefix_of: dict[str, netaddr.IPNetwork]
    shared_networks: list[str]
    people: dict[str, VpnPerson] = field(default_factory=dict)
    #: memos: people share their department's networks, and each address many rules
    _prefixes: dict[tuple[str, ...], list[netaddr.IPNetwork]] = field(default_factory=dict)
    _pools: dict[PoolKind, list[AddressPool]] = field(default_factory=dict)
    _host_prefixes: dict[netaddr.IPAddress, netaddr.IPNetwork] = field(default_factory=dict)
    group_names: dict[tuple, str] = field(default_factory=dict)

    @property
    def inv(self) -> Inventory:
        return self.loaded.model

    def person(self, person: Person) -> VpnPerson:
        known = self.people.get(person.username)
        if known is None:
            known = self.people[person.username] = _vpn_person(self, person)
        return known

    def prefixes(self, networks: Iterable[str]) -> list[netaddr.IPNetwork]:
        key = tuple(networks)
        known = self._prefixes.get(key)
        if known is None:
            known = self._prefixes[key] = sorted({self.prefix_of[name] for name in key if name in self.prefix_of})
        return list(known)

    def pools(self, kind: PoolKind) -> list[AddressPool]:
        known = self._pools.get(kind)
        if known is None:
            known = self._pools[kind] = _pools(self.inv, kind)
        return known

    def host_prefix(self, address: netaddr.IPAddress) -> netaddr.IPNetwork:
        known = self._host_prefixes.get(address)
        if known is None:
            known = self._host_prefixes[address] = _host_prefix(address)
        return known


#: id(loaded inventory) -> (weak reference to it, stamp of the files read, facts): the views
#: of one inventory (every concentrator, the auth server) share their people and memos
_FACTS_CACHE: dict[int, tuple[weakref.ref, tuple, _Facts]] = {}


def _files_stamp(root: Path) -> tuple:
    """What `_facts` reads besides the model: digests of allocations.yml and revocations.yml
    and the enrolled names. A change (an enrolment, `ipam sync`, a revocation) makes cached
    facts stale; hashing is ~50x cheaper than parsing allocations.yml again."""
    stamp: list = []
    for path in (allocations_path(root), revocations_path(root)):
        try:
            stamp.append(sha256(path.read_bytes()).digest())
        except FileNotFoundError:
            stamp.append(None)
    stamp.append(enrolled_usernames(root))
    return tuple(stamp)


def _facts(loaded: LoadedInventory) -> _Facts:
    if loaded.errors:
        raise InventoryError(loaded.errors)
    stamp = _files_stamp(loaded.root)
    cached = _FACTS_CACHE.get(id(loaded))
    if cached is not None and cached[0]() is loaded and cached[1] == stamp:
        return cached[2]
    inv = loaded.model
    departments = [set(d.access) for d in inv.departments]
    shared = sorted(set.intersection(*departments)) if departments else []
    facts = _Facts(
        loaded=loaded,
        allocations=Allocations.load(allocations_path(loaded.root)),
        revocations=load_revocations(loaded.root),
        enrolled=stamp[-1],
        prefix_of={n.name: n.prefix for n in inv.networks},
        shared_networks=shared,
    )
    for key in [k for k, (ref, _, _) in _FACTS_CACHE.items() if ref() is None]:
        del _FACTS_CACHE[key]
    _FACTS_CACHE[id(loaded)] = (weakref.ref(loaded), stamp, facts)
    return facts


def enrolled_usernames(inventory_dir: str | Path) -> frozenset[str]:
    """Usernames with a `totp/<username>` secret, from the file names alone (no decryption)."""
    directory = Path(inventory_dir) / SECRETS_DIR / TOTP_PREFIX
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return frozenset()
    return frozenset(n[: -len(SUFFIX)] for n in names if n.endswith(SUFFIX))


def _vpn_person(facts: _Facts, person: Person) -> VpnPerson:
    inv = facts.inv
    networks = inv.reachable_networks(person)
    member = person_key(person.username)
    addresses = {}
    for pool in facts.pools(PoolKind.openvpn):
        address = facts.allocations.address_of(pool.name, member)
        if address is not None:
            addresses[pool.concentrator] = address
    revocation = facts.revocations.get(person.username)
    return VpnPerson(
        username=person.username,
        name=person.name,
        department=person.department,
        site=person.site,
        status=person.status,
        vpn=person.vpn,
        networks=networks,
        prefixes=facts.prefixes(networks),
        openvpn_address=dict(sorted(addresses.items())),
        enrolled=person.username in facts.enrolled,
        revoked=revocation is not None,
        revocation=revocation,
    )


@without_gc_pauses
def vpn_people(loaded: LoadedInventory) -> list[VpnPerson]:
    """Every person with `vpn: true` (suspended and revoked ones included, see `has_access`),
    sorted by username."""
    facts = _facts(loaded)
    return [facts.person(p) for p in sorted(loaded.model.people, key=lambda p: p.username) if p.vpn]


def vpn_person(loaded: LoadedInventory, username: str) -> VpnPerson:
    """Any person of the inventory (also one with `vpn: false`); unknown names raise AccessError
    with the closest usernames."""
    facts = _facts(loaded)
    return facts.person(find_person(loaded, username))


def find_person(loaded: LoadedInventory, username: str) -> Person:
    """The person called `username`, or AccessError naming the closest usernames."""
    person = loaded.model.person(username)
    if person is None:
        raise _unknown(loaded, "person", username, (p.username for p in loaded.model.people))
    return person


def find_device(loaded: LoadedInventory, name: str) -> LinuxEndpoint:
    """The Linux endpoint or notebook called `name`, or AccessError naming the closest ones."""
    devices = {d.name: d for _, d in loaded.model.managed_endpoints()}
    if name not in devices:
        raise _unknown(loaded, "Linux endpoint or notebook", name, devices)
    return devices[name]


def _unknown(loaded: LoadedInventory, what: str, name: str, candidates: Iterable[str]) -> AccessError:
    """The error for a name the inventory does not have, naming the closest ones it has."""
    close = difflib.get_close_matches(name, list(candidates), n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(close)}?" if close else " (check the spelling)"
    return AccessError(f"no {what} '{name}' in {loaded.root}{hint}")


def where(loaded: LoadedInventory, section: str, key: str, value: str) -> str:
    """`file:line` of the item of `section` whose `key` is `value`, for error messages."""
    for index, item in enumerate(getattr(loaded.model, section)):
        if getattr(item, key) == value:
            return loaded.source.problem("where", loaded.item_path(section, index), "").where
    return str(loaded.root)


# ---------------------------------------------------------------- concentrators


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
    facts = _facts(loaded)
    inv = facts.inv
    concentrator = next((c for c in inv.vpn_concentrators if c.name == concentrator_name), None)
    if concentrator is None:
        raise _unknown(loaded, "VPN concentrator", concentrator_name, (c.name for c in inv.vpn_concentrators))
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


def _host_prefix(address: netaddr.IPAddress) -> netaddr.IPNetwork:
    return netaddr.IPNetwork(address)  # the address alone: /32 (IPv4) or /128 (IPv6)


def peer_devices(loaded: LoadedInventory, facts: _Facts | None = None) -> list[LinuxEndpoint]:
    """Active Linux endpoints and notebooks with a public key whose owner has access, or no owner."""
    facts = facts or _facts(loaded)
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
    return _device_networks(_facts(loaded), device)[1]


def network_prefixes(loaded: LoadedInventory, names: Iterable[str]) -> list[netaddr.IPNetwork]:
    """The prefixes of the named networks, sorted (unknown names are left out: validation reports them)."""
    found = (loaded.model.network(name) for name in names)
    return sorted({network.prefix for network in found if network is not None})


def _device_networks(facts: _Facts, device: LinuxEndpoint) -> tuple[str | None, list[str]]:
    owner = facts.inv.person(device.owner) if device.owner else None
    if owner is None:  # no owner (an unknown one is a validation error, never rendered)
        return None, facts.shared_networks
    person = facts.person(owner)
    return person.department, person.networks


def _tunnel_pool(inv: Inventory, concentrator: str, kind: PoolKind) -> TunnelPool | None:
    pool = next((p for p in _pools(inv, kind) if p.concentrator == concentrator), None)
    if pool is None:
        return None
    return TunnelPool(pool, pool.prefix, concentrator_address(pool.prefix))


def _pools(inv: Inventory, kind: PoolKind) -> list[AddressPool]:
    return sorted((p for p in inv.address_pools if p.kind is kind), key=lambda p: (p.concentrator, p.name))


_NFT_UNSAFE = re.compile(r"[^a-z0-9_]")


def _group_name(facts: _Facts, department: str | None, networks: tuple[str, ...]) -> str:
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


def _access_groups(facts: _Facts, groups: dict) -> list[AccessGroup]:
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


# ---------------------------------------------------------------- RADIUS


@dataclass(frozen=True)
class RadiusClient:
    """A concentrator that asks this RADIUS server, from its internal address."""

    name: str
    address: netaddr.IPAddress
    secret: str


@dataclass(frozen=True, slots=True)
class RadiusUser:
    """A person who may log in: username and the name of their TOTP seed secret."""

    username: str
    totp_secret: str


@dataclass(frozen=True)
class RadiusView:
    auth_server: AuthServer
    clients: list[RadiusClient]
    users: list[RadiusUser]


@without_gc_pauses
def radius_view(loaded: LoadedInventory, auth_server_name: str) -> RadiusView:
    """The concentrators that use `auth_server_name` and every person who may log in (has
    access and is enrolled). Secrets are named, never included."""
    facts = _facts(loaded)
    inv = facts.inv
    server = next((a for a in inv.auth_servers if a.name == auth_server_name), None)
    if server is None:
        raise _unknown(loaded, "auth server", auth_server_name, (a.name for a in inv.auth_servers))
    clients = [RadiusClient(c.name, c.address.ip, radius_secret(c.name))
               for c in sorted(inv.vpn_concentrators, key=lambda c: c.name) if c.auth_server == server.name]
    users = []
    for person in sorted(inv.people, key=lambda p: p.username):
        if not person.vpn:
            continue
        vp = facts.person(person)
        if vp.has_access and vp.enrolled:
            users.append(RadiusUser(vp.username, totp_secret(vp.username)))
    return RadiusView(server, clients, users)
