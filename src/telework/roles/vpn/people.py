"""Who may reach what over the VPN: people, their access, networks and tunnel addresses.

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

The concentrator and RADIUS views (telework.roles.vpn.concentrator, .radius) are built from the
people here; the facts every view needs are read once per inventory and shared (`facts`).
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field
from hashlib import sha256
from pathlib import Path

import netaddr

from telework.core.gcpause import without_gc_pauses
from telework.core.problems import InventoryError, TeleworkError
from telework.inventory.loaded import LoadedInventory
from telework.inventory.lookup import find_person
from telework.inventory.model import AddressPool, Inventory, Person, PersonStatus, PoolKind
from telework.ipam.allocations import Allocations, allocations_path, person_key
from telework.roles.vpn.revocations import Revocation, load_revocations, revocations_path
from telework.roles.vpn.secret_names import TOTP_PREFIX
from telework.secrets.store import SECRETS_DIR, SUFFIX

#: Name of the access group of devices without an owner.
OWNERLESS = "ownerless"


class AccessError(TeleworkError):
    """A person, device or concentrator cannot be served as asked."""


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
class VpnFacts:
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
            known = self._pools[kind] = pools_of_kind(self.inv, kind)
        return known

    def host_prefix(self, address: netaddr.IPAddress) -> netaddr.IPNetwork:
        known = self._host_prefixes.get(address)
        if known is None:
            known = self._host_prefixes[address] = _host_prefix(address)
        return known


#: id(loaded inventory) -> (weak reference to it, stamp of the files read, facts): the views
#: of one inventory (every concentrator, the auth server) share their people and memos
_FACTS_CACHE: dict[int, tuple[weakref.ref, tuple, VpnFacts]] = {}


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


def facts_of(loaded: LoadedInventory) -> VpnFacts:
    if loaded.errors:
        raise InventoryError(loaded.errors)
    stamp = _files_stamp(loaded.root)
    cached = _FACTS_CACHE.get(id(loaded))
    if cached is not None and cached[0]() is loaded and cached[1] == stamp:
        return cached[2]
    inv = loaded.model
    departments = [set(d.access) for d in inv.departments]
    shared = sorted(set.intersection(*departments)) if departments else []
    facts = VpnFacts(
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


def _vpn_person(facts: VpnFacts, person: Person) -> VpnPerson:
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
    facts = facts_of(loaded)
    return [facts.person(p) for p in sorted(loaded.model.people, key=lambda p: p.username) if p.vpn]


def vpn_person(loaded: LoadedInventory, username: str) -> VpnPerson:
    """Any person of the inventory (also one with `vpn: false`); unknown names raise AccessError
    with the closest usernames."""
    facts = facts_of(loaded)
    return facts.person(find_person(loaded, username))


def pools_of_kind(inv: Inventory, kind: PoolKind) -> list[AddressPool]:
    """The address pools of one tunnel kind, by concentrator and name."""
    return sorted((p for p in inv.address_pools if p.kind is kind), key=lambda p: (p.concentrator, p.name))


def _host_prefix(address: netaddr.IPAddress) -> netaddr.IPNetwork:
    return netaddr.IPNetwork(address)  # the address alone: /32 (IPv4) or /128 (IPv6)
