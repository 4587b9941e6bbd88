"""Address management: which person or device holds which VPN tunnel address.

Every address pool has members: each OpenVPN pool holds every person with VPN access
(`person:<username>`, one address per concentrator, so failover pairs have their own
ranges), each WireGuard pool every active Linux endpoint and notebook (`device:<name>`).
`sync()` brings the allocations in line with the inventory, and guarantees that

- addresses are stable: adding or removing a member never moves another member;
- new members get the lowest free address, in sorted member order (same inputs, same result);
- pins (`vpn_address` of a person or device) are honoured in the pool that contains them;
  in the member's other pools it gets an ordinary allocation;
- a released address stays in quarantine for `organisation.settings.address_quarantine_days`
  (log lines keep pointing at one person): only the member who held it may get it back
  before then; after it the entry is purged and the address is free.

The allocations are committed in `<inventory>/allocations.yml` (format in
`telework.ipam.file`). `sync()` is pure; `Allocations.load`/`save` do the I/O,
`allocation_problems()` reports for `telework validate`, `pool_usage()` for the report.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import Enum
from pathlib import Path

import netaddr

from telework.core.atomicfile import write_atomic
from telework.core.problems import AllocationError, Problem, Severity
from telework.inventory.loaded import LoadedInventory
from telework.inventory.model import AddressPool, Inventory, PoolKind
from telework.ipam.file import FileProblem, ParsedFile, PoolEntries, int_to_address, parse, render

#: The allocations file, inside the inventory directory (the inventory loader skips it).
ALLOCATIONS_FILE = "allocations.yml"

#: Addresses of every pool that are never handed to a member, counted from each end of its
#: prefix: at the start the network address and the concentrator's own tunnel address (the
#: first host, which OpenVPN's `server` directive and the WireGuard interface take), at the
#: end the broadcast address. Everything derives from these two numbers: `client_bounds()`,
#: `concentrator_address()` and `telework.inventory.validation.pool_usable()`.
RESERVED_AT_START = 2
RESERVED_AT_END = 1


def concentrator_address(prefix: netaddr.IPNetwork) -> netaddr.IPAddress:
    """The concentrator's own address in a pool: its first host address."""
    return netaddr.IPAddress(prefix.first + 1, prefix.version)


def client_bounds(prefix: netaddr.IPNetwork) -> tuple[int, int]:
    """First and last address (as integers) that members may get; empty when first > last."""
    return prefix.first + RESERVED_AT_START, prefix.last - RESERVED_AT_END


def person_key(username: str) -> str:
    return f"person:{username}"


def device_key(name: str) -> str:
    return f"device:{name}"


def pool_members(inv: Inventory, pool: AddressPool) -> dict[str, netaddr.IPAddress | None]:
    """Member key -> its pinned address in this pool (None: no pin, or a pin in another pool)."""
    keys, pins = _kind_members(inv, pool.kind)
    members: dict[str, netaddr.IPAddress | None] = dict.fromkeys(keys)
    members.update((key, pin) for key, pin in pins.items() if pin in pool.prefix)
    return members


def _kind_members(inv: Inventory, kind: PoolKind) -> tuple[list[str], dict[str, netaddr.IPAddress]]:
    """The member keys every pool of `kind` holds, and the pins among them."""
    if kind is PoolKind.openvpn:
        people = inv.vpn_people()
        return ([f"person:{p.username}" for p in people],
                {person_key(p.username): p.vpn_address for p in people if p.vpn_address is not None})
    devices = inv.wireguard_devices()
    return ([f"device:{d.name}" for d in devices],
            {device_key(d.name): d.vpn_address for d in devices if d.vpn_address is not None})


# ---------------------------------------------------------------- allocations


class Allocations:
    """The addresses of every pool: who holds which, which are quarantined, since when.

    Treat an instance as a value: `sync()` returns a new one instead of changing it.
    """

    def __init__(self, pools: dict[str, PoolEntries] | None = None):
        self.pools: dict[str, PoolEntries] = pools if pools is not None else {}
        self._by_member: dict[str, dict[str, int]] = {}

    @classmethod
    def load(cls, path: str | Path) -> Allocations:
        """Read an allocations file; a missing file is no allocations yet.

        Raises AllocationError naming every line that does not fit the layout."""
        path = Path(path)
        if not path.exists():
            return cls()
        parsed = parse(path.read_text(encoding="utf-8"))
        if parsed.problems:
            raise AllocationError(
                f"{path} cannot be read:\n" + "\n".join(_format_line_problem(path, p) for p in parsed.problems))
        return cls(parsed.pools)

    def render(self) -> str:
        return render(self.pools)

    def save(self, path: str | Path) -> bool:
        """Write the file atomically if its content changes; True when it was written."""
        path = Path(path)
        text = self.render()
        if path.exists() and path.read_text(encoding="utf-8") == text:
            return False
        write_atomic(path, text)
        return True

    def address_of(self, pool: str, member: str) -> netaddr.IPAddress | None:
        """The address `member` (person:<username> or device:<name>) holds in `pool`."""
        entries = self.pools.get(pool)
        if entries is None:
            return None
        index = self._by_member.get(pool)
        if index is None:
            index = self._by_member[pool] = {m: value for value, (m, _) in entries.allocated.items()}
        value = index.get(member)
        return None if value is None else netaddr.IPAddress(value, entries.version)

    def holder_of(self, pool: str, address: netaddr.IPAddress | str) -> str | None:
        """The member `address` is allocated to, or who held it last if it is quarantined."""
        entries = self.pools.get(pool)
        if entries is None:
            return None
        value = int(netaddr.IPAddress(address))
        held = entries.allocated.get(value) or entries.released.get(value)
        return held[0] if held else None

    def allocated(self, pool: str) -> list[tuple[netaddr.IPAddress, str, date]]:
        """(address, member, date allocated) of a pool, by address."""
        return self._listing(pool, "allocated")

    def released(self, pool: str) -> list[tuple[netaddr.IPAddress, str, date]]:
        """(address, former member, date released) of a pool, by address."""
        return self._listing(pool, "released")

    def _listing(self, pool: str, section: str) -> list[tuple[netaddr.IPAddress, str, date]]:
        entries = self.pools.get(pool)
        if entries is None:
            return []
        return [(netaddr.IPAddress(value, entries.version), member, day)
                for value, (member, day) in sorted(getattr(entries, section).items())]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Allocations) and self.pools == other.pools

    def __repr__(self) -> str:
        held = sum(len(e.allocated) for e in self.pools.values())
        return f"<Allocations {len(self.pools)} pools, {held} addresses allocated>"


# ---------------------------------------------------------------- sync


class ChangeKind(str, Enum):
    allocated = "allocated"  # a member got a new address: the lowest free one, or its pin
    reclaimed = "reclaimed"  # a member came back within the quarantine and got its old address again
    released = "released"  # a member left (or was pinned elsewhere): the address goes into quarantine
    purged = "purged"  # the quarantine is over: the address is free again
    dropped = "dropped"  # the entry no longer fits its pool (prefix changed, pool removed)


@dataclass(frozen=True)
class Change:
    """One line of what a sync did; `value` is the address as an integer (None for a whole pool)."""

    kind: ChangeKind
    pool: str
    member: str
    value: int | None
    version: int = 4
    note: str = ""

    @property
    def address(self) -> netaddr.IPAddress | None:
        return None if self.value is None else netaddr.IPAddress(self.value, self.version)

    def format(self, pool_width: int = 0) -> str:
        """`pool kind address member (note)`, columns aligned when given the widest pool name."""
        where = "-" if self.value is None else int_to_address(self.value, self.version)
        text = f"{self.pool:<{pool_width}} {self.kind.value:<9} {where:<15} {self.member}"
        return f"{text} ({self.note})" if self.note else text


@dataclass(frozen=True)
class Issue:
    """Why a sync cannot finish: a full pool or a pin that cannot be honoured."""

    rule: str
    pool: str
    member: str | None
    message: str
    fix: str


@dataclass
class SyncResult:
    allocations: Allocations
    changes: list[Change] = field(default_factory=list)

    def counts(self) -> dict[str, Counter]:
        """pool -> number of changes per kind."""
        out: dict[str, Counter] = {}
        for change in self.changes:
            out.setdefault(change.pool, Counter())[change.kind.value] += 1
        return out


def sync(inv: Inventory, allocations: Allocations, today: date | None = None) -> SyncResult:
    """The allocations that match `inv` on `today`, and the changes that lead there.

    Pure: neither `allocations` nor any file is changed. Raises AllocationError when a pool
    is full or a pin collides with another member's address, naming pool, members and fix.
    """
    result, issues = plan(inv, allocations, today)
    if issues:
        raise AllocationError("\n".join(f"{issue.message} (fix: {issue.fix})" for issue in issues))
    return result


def plan(inv: Inventory, allocations: Allocations, today: date | None = None) -> tuple[SyncResult, list[Issue]]:
    """What `sync()` computes, with the issues returned instead of raised (for validation)."""
    today = today or date.today()
    quarantine = timedelta(days=inv.organisation.settings.address_quarantine_days)
    pools: dict[str, PoolEntries] = {}
    changes: list[Change] = []
    issues: list[Issue] = []
    by_name: dict[str, AddressPool] = {}
    for pool in inv.address_pools:
        by_name.setdefault(pool.name, pool)  # duplicate names are a validation error; the first counts
    kinds = {kind: _kind_members(inv, kind) for kind in {pool.kind for pool in by_name.values()}}
    for name in sorted(by_name):
        pool = by_name[name]
        keys, pins = kinds[pool.kind]
        members: dict[str, int | None] = dict.fromkeys(keys)
        members.update((key, int(pin)) for key, pin in pins.items() if pin in pool.prefix)
        pools[name] = _sync_pool(pool, members, allocations.pools.get(name), today, quarantine, changes, issues)
    for name in sorted(set(allocations.pools) - set(by_name)):
        gone = allocations.pools[name]
        changes.append(Change(ChangeKind.dropped, name, "-", None, gone.version,
                              f"pool no longer in the inventory: {len(gone.allocated)} allocated and "
                              f"{len(gone.released)} quarantined addresses forgotten"))
    return SyncResult(Allocations(pools), changes), issues


def _sync_pool(pool: AddressPool, members: dict[str, int | None], current: PoolEntries | None, today: date,
               quarantine: timedelta, changes: list[Change], issues: list[Issue]) -> PoolEntries:
    name, prefix, version = pool.name, pool.prefix, pool.prefix.version
    lo, hi = client_bounds(prefix)
    current = current or PoolEntries(version=version)

    def change(kind: ChangeKind, member: str, value: int, note: str = "") -> None:
        changes.append(Change(kind, name, member, value, version, note))

    # 1. Entries that no longer fit the pool (its prefix changed) are dropped; their members
    #    get new addresses below.
    allocated = dict(current.allocated)
    released = dict(current.released)
    fits = current.version == version
    for section, kept in (("allocated", allocated), ("released", released)):
        for value in sorted(v for v in kept if not (fits and lo <= v <= hi)):
            member = kept.pop(value)[0]
            what = _misfit(prefix, value, current.version)
            changes.append(Change(ChangeKind.dropped, name, member, value, current.version,
                                  what if section == "allocated" else f"quarantine entry: {what}"))

    # 2. Members who left: their address goes into quarantine.
    for value, (member, _) in list(allocated.items()):
        if member not in members:
            del allocated[value]
            released[value] = (member, today)
            change(ChangeKind.released, member, value)

    # 3. Quarantine over: the address is free again.
    for value, (member, day) in list(released.items()):
        if day + quarantine <= today:
            del released[value]
            change(ChangeKind.purged, member, value, f"released {day.isoformat()}")

    holding = {member: value for value, (member, _) in allocated.items()}

    # 4. Pins, in member order.
    blocked: set[str] = set()  # members whose pin cannot be honoured: no other address for them
    for member in sorted(m for m, pin in members.items() if pin is not None):
        pin = members[member]
        assert pin is not None
        shown = int_to_address(pin, version)
        if not lo <= pin <= hi:
            blocked.add(member)
            issues.append(Issue("allocations.pin_reserved", name, member,
                                f"{member} is pinned to {shown}, {_misfit(prefix, pin, version)}",
                                f"pin an address from {int_to_address(lo, version)} to "
                                f"{int_to_address(hi, version)}"))
            continue
        if holding.get(member) == pin:
            continue
        owner = allocated.get(pin)
        if owner is not None:
            blocked.add(member)
            issues.append(Issue("allocations.pin_taken", name, member,
                                f"{member} is pinned to {shown}, but {owner[0]} holds that address in pool "
                                f"'{name}' since {owner[1].isoformat()}",
                                f"pin another address; {owner[0]} keeps {shown} (addresses never move)"))
            continue
        previous = released.get(pin)
        if previous is not None and previous[0] != member:
            blocked.add(member)
            free_on = previous[1] + quarantine
            issues.append(Issue("allocations.pin_quarantined", name, member,
                                f"{member} is pinned to {shown}, which {previous[0]} released on "
                                f"{previous[1].isoformat()}: it is in quarantine in pool '{name}' until "
                                f"{free_on.isoformat()}",
                                f"pin another address, or pin it from {free_on.isoformat()} on"))
            continue
        old = holding.pop(member, None)
        if old is not None:
            del allocated[old]
            released[old] = (member, today)
            change(ChangeKind.released, member, old, f"pinned to {shown} now")
        if previous is not None:
            del released[pin]
        allocated[pin] = (member, today)
        holding[member] = pin
        change(ChangeKind.reclaimed if previous else ChangeKind.allocated, member, pin, "pinned")

    # 5. Members without an address: their quarantined address back, else the lowest free one.
    waiting = sorted(members.keys() - holding.keys() - blocked)
    if not waiting:
        return PoolEntries(version, allocated, released)
    last_release: dict[str, tuple[date, int]] = {}
    for value, (member, day) in released.items():
        best = last_release.get(member)
        if best is None or (day, -value) > (best[0], -best[1]):
            last_release[member] = (day, value)
    taken = set(allocated) | set(released) | {pin for pin in members.values() if pin is not None}
    cursor = lo
    unplaced = []
    for member in waiting:
        back = last_release.get(member)
        if back is not None:
            del released[back[1]]
            allocated[back[1]] = (member, today)
            change(ChangeKind.reclaimed, member, back[1], f"released {back[0].isoformat()}")
            continue
        while cursor <= hi and cursor in taken:
            cursor += 1
        if cursor > hi:
            unplaced.append(member)
            continue
        allocated[cursor] = (member, today)
        change(ChangeKind.allocated, member, cursor)
        cursor += 1
    if unplaced:
        usable = max(hi - lo + 1, 0)
        quarantined = len(released)
        message = (f"address pool '{name}' {prefix} is full: no address left for {len(unplaced)} of its "
                   f"{len(members)} members ({', '.join(unplaced[:3])}{', ...' if len(unplaced) > 3 else ''}); "
                   f"it has {usable} usable addresses, {len(allocated)} allocated and {quarantined} in quarantine")
        fix = "enlarge the pool's prefix in 'address_pools'"
        if quarantined:
            soonest = min(day for _, day in released.values()) + quarantine
            fix += (f", or wait: the first quarantined address is free on {soonest.isoformat()} "
                    "(organisation.settings.address_quarantine_days)")
        issues.append(Issue("allocations.pool_full", name, None, message, fix))
    return PoolEntries(version, allocated, released)


def _misfit(prefix: netaddr.IPNetwork, value: int, version: int) -> str:
    shown = int_to_address(value, version)
    if version != prefix.version or not prefix.first <= value <= prefix.last:
        return f"{shown} is outside the pool's prefix {prefix}"
    if value == prefix.first:
        return f"{shown} is the network address of {prefix}"
    if value == prefix.last:
        return f"{shown} is the broadcast address of {prefix}"
    return f"{shown} is the concentrator's own address in {prefix}"


# ---------------------------------------------------------------- reports


def allocations_path(inventory_dir: str | Path) -> Path:
    """Where the allocations of the inventory in `inventory_dir` are committed."""
    return Path(inventory_dir) / ALLOCATIONS_FILE


def _read(loaded: LoadedInventory) -> ParsedFile:
    path = allocations_path(loaded.root)
    return parse(path.read_text(encoding="utf-8")) if path.exists() else ParsedFile()


def allocation_problems(loaded: LoadedInventory, today: date | None = None) -> list[Problem]:
    """Problems of the allocations file against the inventory, for `telework validate`.

    Errors: lines that do not fit the layout, duplicates, entries of unknown pools or outside
    their pool's prefix (each naming allocations.yml and the line), full pools, pins that
    collide. Warnings: members without an address yet, addresses of members who left.
    """
    inv = loaded.model
    path = allocations_path(loaded.root)
    shown = loaded.source.relative(path)
    parsed = _read(loaded)
    problems = [_file_problem(shown, p) for p in parsed.problems]
    result, issues = plan(inv, Allocations(parsed.pools), today)
    sync_fix = "run `telework ipam sync`"
    for change in result.changes:
        if change.kind is not ChangeKind.dropped:
            continue
        if change.value is None:
            problems.append(Problem("allocations.unknown_pool", f"allocations for pool '{change.pool}', which is not "
                                    "in the inventory", f"restore the pool or {sync_fix} to drop them",
                                    file=shown, line=parsed.pool_lines.get(change.pool)))
            continue
        line = (parsed.lines.get((change.pool, "allocated"), {}).get(change.value)
                or parsed.lines.get((change.pool, "released"), {}).get(change.value))
        problems.append(Problem("allocations.outside_pool", f"{change.member} in pool '{change.pool}': "
                                f"{change.note}", f"{sync_fix} to give it an address inside the pool",
                                file=shown, line=line))
    pool_index = {pool.name: i for i, pool in reversed(list(enumerate(inv.address_pools)))}
    counts = result.counts()
    for name, i in sorted(pool_index.items(), key=lambda item: item[1]):
        count = counts.get(name, Counter())
        missing = count["allocated"] + count["reclaimed"]
        if missing:
            problems.append(loaded.problem("allocations.missing", "address_pools", i, ("name",),
                                           f"{_members(missing)} of pool '{name}' {_have(missing)} no address "
                                           "yet", sync_fix,
                                           severity=Severity.WARNING))
        left = count["released"]
        if left:
            problems.append(loaded.problem("allocations.stale", "address_pools", i, ("name",),
                                           f"{left} addresses of pool '{name}' are still allocated to members who "
                                           "left or were pinned elsewhere", sync_fix + " to release them",
                                           severity=Severity.WARNING))
    member_place = _member_places(inv)
    for issue in issues:
        if issue.member is not None and issue.member in member_place:
            section, i = member_place[issue.member]
            problems.append(loaded.problem(issue.rule, section, i, ("vpn_address",), issue.message, issue.fix))
        else:
            problems.append(loaded.problem(issue.rule, "address_pools", pool_index.get(issue.pool), ("prefix",),
                                           issue.message, issue.fix))
    return problems


def _members(count: int) -> str:
    return f"{count} member" if count == 1 else f"{count} members"


def _have(count: int) -> str:
    return "has" if count == 1 else "have"


def _member_places(inv: Inventory) -> dict[str, tuple[str, int]]:
    places: dict[str, tuple[str, int]] = {}
    for i, person in enumerate(inv.people):
        places.setdefault(person_key(person.username), ("people", i))
    for section in ("linux_endpoints", "notebooks"):
        for i, device in enumerate(getattr(inv, section)):
            places.setdefault(device_key(device.name), (section, i))
    return places


def _file_problem(shown: Path, problem: FileProblem) -> Problem:
    return Problem("allocations.file", problem.message, problem.fix, file=shown, line=problem.line)


def _format_line_problem(path: Path, problem: FileProblem) -> str:
    return f"{path}:{problem.line}: {problem.message}" + (f" (fix: {problem.fix})" if problem.fix else "")


def pool_usage(loaded: LoadedInventory, today: date | None = None) -> dict[str, tuple[int, int]]:
    """Pool name -> (addresses allocated, addresses in quarantine) from the committed file.

    Reads what it can (a damaged file is `telework validate`'s to report); no file, no pools."""
    today = today or date.today()
    quarantine = timedelta(days=loaded.model.organisation.settings.address_quarantine_days)
    usage = {}
    for name, entries in _read(loaded).pools.items():
        quarantined = sum(1 for _, day in entries.released.values() if day + quarantine > today)
        usage[name] = (len(entries.allocated), quarantined)
    return usage
