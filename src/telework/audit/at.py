"""The inventory as it was on a given day: who had VPN access to what, which devices, which numbers.

"On a day" means at the end of that day in the organisation's time zone (Europe/Berlin
unless told otherwise): the last main-line commit made before midnight. The commit's
section files are read from git and parsed by the same loader `telework validate` uses
(`load_inventory(files=...)`), without a checkout; the files telework writes beside them
(allocations, revocations, certificates) are read as the index reads them.

Access follows the rule of `telework.roles.vpn.people`: a person has access when active, `vpn: true`
and not revoked; their networks are their department's plus their `extra_access`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from telework.audit.entities import Parser, State, file_kind
from telework.audit.gitrepo import Commit, GitError, Repository
from telework.audit.runs import RunRecord
from telework.inventory.loading import load_inventory
from telework.inventory.model import PersonStatus

DEFAULT_TIMEZONE = "Europe/Berlin"


class AuditDateError(GitError):
    """A date the audit cannot use."""


def parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise AuditDateError(f"date {text!r} is not YYYY-MM-DD (e.g. 2026-03-31)") from None


def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or DEFAULT_TIMEZONE)
    except (ZoneInfoNotFoundError, ValueError):
        raise AuditDateError(f"unknown time zone {name!r} (e.g. Europe/Berlin)") from None


def end_of_day(day: date, tz: ZoneInfo) -> int:
    """Unix time of midnight after `day` in `tz` (a commit at 23:59:59 still counts)."""
    return int(datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).timestamp())


@dataclass
class PersonAt:
    username: str
    name: str
    department: str
    status: str
    access: bool
    revoked: dict | None
    networks: list[str]
    did: str | None
    extension: str | None
    addresses: list[str]
    devices: list[str]
    certificates: list[str]


@dataclass
class StateAt:
    day: date
    timezone: str
    commit: Commit | None
    people: list[PersonAt] = field(default_factory=list)
    #: device -> (kind, owner, ring, status, firmware)
    devices: list[dict] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    #: the last apply started before the end of the day
    last_run: RunRecord | None = None

    @property
    def with_access(self) -> list[PersonAt]:
        return [p for p in self.people if p.access]


def state_at(repo: Repository, day: date, *, head: str = "HEAD", timezone: str | None = None,
             runs: list[RunRecord] | None = None) -> StateAt:
    tz = zone(timezone)
    limit = end_of_day(day, tz)
    chain = repo.commit_times(repo.resolve(head))
    candidates = [sha for sha, when in chain if when < limit]
    result = StateAt(day, str(tz), None)
    if runs:
        before = [r for r in runs if r.started and r.started.timestamp() < limit]
        result.last_run = before[-1] if before else None
    if not candidates:
        return result
    sha = candidates[-1]
    result.commit = repo.read_commit(sha)
    files = repo.tree(sha)
    sections = [(repo.inventory_dir / rel, repo.text(oid)) for rel, oid in sorted(files.items())
                if file_kind(rel) == "sections"]
    loaded = load_inventory(repo.inventory_dir, check=False, files=sections)
    result.problems = [p.format() for p in loaded.errors]
    inv = loaded.model
    extra = State(files, Parser(repo.text))
    revoked = extra.role_data("revocations")
    addresses: dict[str, list[str]] = {}
    for (_pool, address), (member, _since) in sorted(extra.allocations.items()):
        addresses.setdefault(member, []).append(address)
    devices_of: dict[str, list[str]] = {}
    for section in ("igel_devices", "linux_endpoints", "notebooks"):
        for device in getattr(inv, section):
            result.devices.append({"name": device.name, "kind": section, "owner": device.owner,
                                   "ring": device.ring, "status": device.status.value,
                                   "firmware": getattr(device, "firmware", None)})
            if device.owner:
                devices_of.setdefault(device.owner, []).append(f"{device.name} ({device.status.value})")
    for phone in inv.desk_phones:
        devices_of.setdefault(phone.owner, []).append(f"{phone.model} {phone.mac} ({phone.status.value})")
    certificates = _valid_certificates(extra.role_data("certificates"), limit)
    for person in sorted(inv.people, key=lambda p: p.username):
        access = person.vpn and person.status is PersonStatus.active and person.username not in revoked
        result.people.append(PersonAt(
            username=person.username, name=person.name, department=person.department,
            status=person.status.value, access=access, revoked=revoked.get(person.username),
            networks=inv.reachable_networks(person) if access else [],
            did=person.phone.did if person.phone else None,
            extension=person.phone.extension if person.phone else None,
            addresses=addresses.get(f"person:{person.username}", []),
            devices=devices_of.get(person.username, []),
            certificates=certificates.get(person.username, [])))
    return result


def _valid_certificates(certs: dict[str, dict], limit: int) -> dict[str, list[str]]:
    """owner -> serials of person certificates valid at `limit` (issued, unexpired, unrevoked)."""
    def moment(value) -> float | None:
        if not value:
            return None
        try:
            parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return None
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()

    out: dict[str, list[str]] = {}
    for serial, cert in sorted(certs.items()):
        if cert.get("kind") != "person":
            continue
        start, end = moment(cert.get("not_before")), moment(cert.get("not_after"))
        revoked = moment((cert.get("revoked") or {}).get("date"))
        if start is not None and start < limit and (end is None or end >= limit) and \
                (revoked is None or revoked >= limit):
            out.setdefault(cert.get("owner") or "", []).append(serial)
    return out
