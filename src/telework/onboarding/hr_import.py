"""People from an HR export as a proposed change to the inventory, never applied silently.

`propose(inventory, export, mapping)` reads the export (CSV or LDIF, `hr_sources`) through the
mapping file (`hr_mapping`) and compares it with the inventory. It returns a `Proposal`: the
`ChangeSet` (joiners, department and site moves, renames, leavers proposed as
`status: suspended` plus a revocation to run, and the personnel-number links to record) and a
`Decision` for everything it decided, in words: why this username, why this is a move, why a
row was left out. Nothing is written; `people_writer.apply_changes` writes an accepted change
set into the people files, so it goes through review like any other change.

How a row finds its person, in the mapping's `match_by` order:
1. its personnel number, linked to a username in access/personnel.yml (`hr_links`);
2. the export's username column (AD's sAMAccountName), when mapped;
3. the email address;
4. the full name, when exactly one person not linked to another number has it; two or more
   is an error naming them and the link to add (a guess could move the wrong person).

A joiner's username follows the organisation's rule (`usernames`) and is never one that a
current person has, or a past person had: in access/personnel.yml, access/revocations.yml,
pki/issued.yml, or the inventory's git history.

Leavers: a leave date (the last day of employment) that has come, or, with `complete: true`,
a person of a department the mapping covers who is missing from the export.
"""

from __future__ import annotations

import re
import subprocess
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from telework.core.problems import Problem
from telework.inventory.loading import LoadedInventory, require_inventory
from telework.inventory.model import Person, PersonStatus
from telework.onboarding import usernames
from telework.onboarding.hr_links import LINKS_FILE, load_links
from telework.onboarding.hr_mapping import HrImportError, Mapping, load_mapping
from telework.onboarding.hr_sources import HrRecord, read_export
from telework.roles.vpn import pki
from telework.roles.vpn.revocations import REVOCATIONS_FILE, load_revocations

__all__ = [
    "ChangeSet", "Decision", "FieldChange", "HrImportError", "HrRecord", "Joiner", "Proposal",
    "RevocationProposal", "Suspension", "Update", "propose",
]


# ---------------------------------------------------------------- the change set


@dataclass(frozen=True)
class Joiner:
    username: str
    name: str
    department: str
    site: str
    vpn: bool
    personnel_number: str
    email: str | None = None
    start_date: date | None = None


@dataclass(frozen=True)
class FieldChange:
    field: str  # name, department, site or email
    old: str | None
    new: str


@dataclass(frozen=True)
class Update:
    """Changed facts of a current person: a department or site move, a new name or email."""

    username: str
    changes: tuple[FieldChange, ...]

    def get(self, name: str) -> FieldChange | None:
        return next((c for c in self.changes if c.field == name), None)


@dataclass(frozen=True)
class Suspension:
    username: str
    reason: str


@dataclass(frozen=True)
class RevocationProposal:
    """Access to take away once the suspension is merged (needs the secrets: an operator runs it)."""

    username: str
    reason: str

    @property
    def command(self) -> str:
        reason = self.reason.replace('"', "'")
        return f'telework person revoke {self.username} --reason "{reason}"'


@dataclass
class ChangeSet:
    joiners: list[Joiner] = field(default_factory=list)
    updates: list[Update] = field(default_factory=list)
    suspensions: list[Suspension] = field(default_factory=list)
    revocations: list[RevocationProposal] = field(default_factory=list)
    #: personnel number -> username, links not yet in access/personnel.yml
    links: dict[str, str] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not (self.joiners or self.updates or self.suspensions or self.revocations or self.links)


@dataclass(frozen=True)
class Decision:
    """One decision in words. `action`: join, username, match, link, move, rename, email,
    leave, revoke, skip, defer or note."""

    action: str
    subject: str  # the username, or the personnel number when no username is involved
    message: str
    source: str | None = None  # "export.csv:5 (row 5)"

    def format(self) -> str:
        where = f"{self.source}: " if self.source else ""
        return f"{where}{self.action} {self.subject}: {self.message}"


@dataclass
class Proposal:
    changes: ChangeSet
    decisions: list[Decision]
    records: list[HrRecord]

    def report(self) -> str:
        """Every decision, one a line, in the order of the export (then the inventory's)."""
        c = self.changes
        head = (f"{len(self.records)} people in the export: {len(c.joiners)} joiners, {len(c.updates)} changed, "
                f"{len(c.suspensions)} to suspend, {len(c.revocations)} revocations to run, "
                f"{len(c.links)} new personnel-number links")
        return "\n".join([head, *(d.format() for d in self.decisions)]) + "\n"


# ---------------------------------------------------------------- proposing


def propose(inventory_dir: str | Path, export: str | Path, mapping_file: str | Path, *,
            today: date | None = None) -> Proposal:
    """The change the HR export asks of the inventory in `inventory_dir`, and why.

    Raises HrImportError with every malformed row (file, line, column, fix) and every row that
    cannot be matched safely; an invalid inventory raises InventoryError. Writes nothing."""
    root = Path(inventory_dir)
    loaded = require_inventory(root)
    inv = loaded.model
    tz = ZoneInfo(inv.organisation.settings.timezone)
    mapping = load_mapping(mapping_file, departments={d.id for d in inv.departments}, sites={s.id for s in inv.sites})
    records = read_export(export, mapping, tz=tz)
    planner = _Planner(loaded, mapping, records, today or datetime.now(tz).date(), Path(export))
    return planner.plan()


def _folded_name(name: str) -> str:
    """Names compared as people read them: NFC, case and runs of spaces ignored."""
    return " ".join(unicodedata.normalize("NFC", name).casefold().split())


class _Planner:
    def __init__(self, loaded: LoadedInventory, mapping: Mapping, records: list[HrRecord], today: date,
                 export: Path):
        self.root = loaded.root
        self.export = export
        self.loaded = loaded
        self.mapping = mapping
        self.records = records
        self.today = today
        self.people: dict[str, Person] = {p.username: p for p in loaded.model.people}
        self.files = _people_files(loaded)
        self.links = load_links(self.root)
        self.number_of = {u: n for n, u in self.links.items()}
        self.revoked = load_revocations(self.root)
        self._issued_cache: list[pki.IssuedCert] | None = None
        self.past = self._past_usernames()
        self.changes = ChangeSet()
        self._decided: list[tuple[int, int, Decision]] = []  # (id of the record, sequence, decision)
        self.problems: list[Problem] = []
        self.matched: dict[str, HrRecord] = {}
        self.assigned: dict[str, HrRecord] = {}

    # ---- the plan

    def plan(self) -> Proposal:
        by_email: dict[str, list[Person]] = {}
        by_name: dict[str, list[Person]] = {}
        for person in self.people.values():
            if person.email:
                by_email.setdefault(person.email.casefold(), []).append(person)
            by_name.setdefault(_folded_name(person.name), []).append(person)
        pending: list[HrRecord] = []
        for record in self.records:
            person, how = self._match(record, by_email, by_name)
            if person is None:
                pending.append(record)
                continue
            other = self.matched.get(person.username)
            if other is not None:
                self._problem(record, f"matches {person.username} ({person.name}, {self.files[person.username]}), "
                              f"as {other.source.label} does", f"link each row's personnel number in {LINKS_FILE}")
                continue
            self.matched[person.username] = record
            self._existing(record, person, how)
        for record in pending:  # after matching, so a joiner never takes a matched person's name
            self._joiner(record)
        if self.mapping.complete:
            self._missing_from_export()
        if self.problems:
            raise HrImportError(sorted(self.problems, key=lambda p: p.line or 0))
        # the report follows the export (joiners were decided last), then the inventory's people
        order = {id(r): n for n, r in enumerate(self.records)}
        decisions = [d for _, _, d in sorted(self._decided, key=lambda x: (order.get(x[0], len(order)), x[1]))]
        return Proposal(self.changes, decisions, self.records)

    def _match(self, record: HrRecord, by_email: dict, by_name: dict) -> tuple[Person | None, str]:
        number = record.personnel_number
        for key in self.mapping.match_by:
            if key == "personnel_number" and number in self.links:
                username = self.links[number]
                if username in self.people:
                    return self.people[username], f"personnel number {number} is linked to it in {LINKS_FILE}"
                return None, ""  # a person coming back: `_joiner` gives the old username again
            if key == "username" and record.username and record.username in self.people:
                linked = self.number_of.get(record.username)
                if linked is not None and linked != number:
                    self._problem(record, f"username {record.username} belongs to personnel number {linked} in "
                                  f"{LINKS_FILE}", "correct the username in the HR system or the link")
                    return None, ""
                return self.people[record.username], "the export's username"
            if key == "email" and record.email:
                found = self._unlinked(by_email.get(record.email.casefold(), []), number)
                if len(found) == 1:
                    return found[0], f"the email address {record.email}"
            if key == "name":
                found = self._unlinked(by_name.get(_folded_name(record.name), []), number)
                if len(found) == 1:
                    return found[0], f"the name {record.name} (the only person of that name)"
                if len(found) > 1:
                    names = ", ".join(f"{p.username} ({self.files[p.username]})" for p in found)
                    self._problem(record, f"{record.name} is the name of {len(found)} people and no personnel "
                                  f"number tells which: {names}",
                                  f'add the right one to {LINKS_FILE}, e.g. "{number}": {found[0].username}')
                    return None, "ambiguous"
        return None, ""

    def _unlinked(self, people: list[Person], number: str) -> list[Person]:
        return [p for p in people if self.number_of.get(p.username) in (None, number)]

    # ---- a person the inventory has

    def _existing(self, record: HrRecord, person: Person, how: str) -> None:
        u = person.username
        self._decide("match", u, f"{record.name} is {u} ({self.files[u]}): matched by {how}", record)
        if self.links.get(record.personnel_number) != u:
            self.changes.links[record.personnel_number] = u
            self._decide("link", u, f"personnel number {record.personnel_number} is linked to {u} in {LINKS_FILE}",
                         record)
        leaving = record.leave_date is not None and record.leave_date <= self.today
        if leaving:
            self._leaver(person, f"left on {record.leave_date:%Y-%m-%d} (HR export {record.source})", record)
            return
        if record.leave_date is not None:
            self._decide("note", u, f"leaves on {record.leave_date:%Y-%m-%d}: the suspension is proposed by an "
                         f"import on or after that day", record)
        if person.status is not PersonStatus.active:
            self._decide("note", u, f"is {person.status.value} in the inventory but employed in HR: set "
                         f"status: active by hand once the absence is over", record)
        if record.department is None or record.site is None:
            code = f'department "{record.hr_department}"' if record.department is None else f'site "{record.hr_site}"'
            self._decide("note", u, f"HR {code} maps to null (people left out of the inventory): {u} is left as "
                         f"is; remove or move them by hand if they no longer work from home", record)
            return
        changes = []
        if record.department != person.department:
            changes.append(FieldChange("department", person.department, record.department))
            self._decide("move", u, f"department {person.department} -> {record.department}: HR department "
                         f'"{record.hr_department}" maps to {record.department}', record)
        if record.site != person.site:
            changes.append(FieldChange("site", person.site, record.site))
            self._decide("move", u, f'site {person.site} -> {record.site}: HR site "{record.hr_site}" maps to '
                         f"{record.site}; the entry moves to the people file of {record.site}", record)
        if _folded_name(record.name) != _folded_name(person.name):
            if usernames.transliterate(record.name) == usernames.transliterate(person.name):
                self._decide("note", u, f"HR writes the name {record.name!r}, the inventory {person.name!r}: "
                             f"the same letters but for accents (HR exports without them, e.g. cp1252); "
                             f"the inventory's spelling is kept", record)
            else:
                changes.append(FieldChange("name", person.name, record.name))
                self._decide("rename", u, f"name {person.name!r} -> {record.name!r} (the username stays)", record)
        if record.email and (person.email or "").casefold() != record.email.casefold():
            changes.append(FieldChange("email", person.email, record.email))
            self._decide("email", u, f"email {person.email or '(none)'} -> {record.email}", record)
        if changes:
            self.changes.updates.append(Update(u, tuple(changes)))

    def _leaver(self, person: Person, reason: str, record: HrRecord | None) -> None:
        u = person.username
        if person.status is PersonStatus.active:
            self.changes.suspensions.append(Suspension(u, reason))
            self._decide("leave", u, f"{reason}: status: suspended (number and addresses are kept, access "
                         f"ends at the next deploy)", record)
        else:
            self._decide("note", u, f"{reason}: already {person.status.value}", record)
        has_certificate = any(c.owner == u and c.kind == "person" and c.revoked is None
                              for c in self._issued())
        if u not in self.revoked and (person.vpn or has_certificate):
            proposal = RevocationProposal(u, reason)
            self.changes.revocations.append(proposal)
            self._decide("revoke", u, f"certificate and TOTP seed to revoke once the change is merged: "
                         f"{proposal.command}", record)

    # ---- a person the inventory does not have

    def _joiner(self, record: HrRecord) -> None:
        number = record.personnel_number
        if record.department is None or record.site is None:
            code = f'department "{record.hr_department}"' if record.department is None else f'site "{record.hr_site}"'
            self._decide("skip", number, f"{record.name}: HR {code} maps to null, not added", record)
            return
        if record.leave_date is not None and record.leave_date <= self.today:
            self._decide("skip", number, f"{record.name} left on {record.leave_date:%Y-%m-%d} and is not in the "
                         f"inventory: not added", record)
            return
        lead = self.today + timedelta(days=self.mapping.joiner_lead_days)
        if record.start_date is not None and record.start_date > lead:
            self._decide("defer", number, f"{record.name} starts on {record.start_date:%Y-%m-%d}, more than "
                         f"{self.mapping.joiner_lead_days} days ahead: added by a later import", record)
            return
        username, reasons = self._username(record)
        if username is None:
            return
        self.assigned[username] = record
        if self.links.get(number) != username:
            self.changes.links[number] = username
        self.changes.joiners.append(Joiner(
            username=username, name=record.name, department=record.department, site=record.site,
            vpn=self.mapping.new_people.vpn, personnel_number=number, email=record.email,
            start_date=record.start_date))
        starts = f", starts {record.start_date:%Y-%m-%d}" if record.start_date else ""
        self._decide("join", username, f"{record.name}: department {record.department} (HR "
                     f'"{record.hr_department}"), site {record.site} (HR "{record.hr_site}"), '
                     f"vpn: {'true' if self.mapping.new_people.vpn else 'false'}{starts}", record)
        self._decide("username", username, "; ".join(reasons), record)

    def _username(self, record: HrRecord) -> tuple[str | None, list[str]]:
        number = record.personnel_number
        if number in self.links:
            old = self.links[number]
            return old, [(f"{old} again: personnel number {number} had it before ({LINKS_FILE}); a username "
                         f"goes back to the same person only")]
        if record.username:
            holder = self._holder(record.username)
            if holder is not None:
                self._problem(record, f"the export's username {record.username} is taken: {holder}",
                              "correct it in the HR system, or leave the username column unmapped")
                return None, []
            return record.username, [f"{record.username} from the export"]
        try:
            return usernames.choose(self.mapping.usernames.rule(), record.given_name, record.surname, self._holder)
        except usernames.UsernameError as exc:
            self._problem(record, f"no username can be made for {record.name}: {exc}",
                          "map a username column (fields.username) and fill it in for this person")
            return None, []

    def _holder(self, name: str) -> str | None:
        person = self.people.get(name)
        if person is not None:
            return f"{person.name} ({self.files[name]})"
        if name in self.assigned:
            record = self.assigned[name]
            return f"{record.name}, a joiner of this import ({record.source.label})"
        return self.past.get(name)

    # ---- complete exports

    def _missing_from_export(self) -> None:
        scope = {d for d in self.mapping.departments.values() if d}
        outside = 0
        for username in sorted(self.people):
            person = self.people[username]
            if username in self.matched:
                continue
            if person.department not in scope:
                outside += 1
                continue
            if person.status is PersonStatus.active:
                self._leaver(person, f"not in the complete HR export {self.export}", None)
        if outside:
            self._decide("note", "-", f"{outside} people of departments no HR code maps to are outside the export "
                         f"and left as they are", None)

    # ---- what else knows usernames

    def _past_usernames(self) -> dict[str, str]:
        past: dict[str, str] = {}
        for username in self._git_usernames():
            past[username] = "a past person (in the inventory's git history)"
        for cert in self._issued():
            if cert.kind == "person":
                past[cert.owner] = f"a past person (certificate {cert.serial}, {pki.ISSUED_FILE})"
        for username, revocation in self.revoked.items():
            past[username] = f"a past person (revoked {revocation.date:%Y-%m-%d}, {REVOCATIONS_FILE})"
        for number, username in self.links.items():
            past[username] = f"a past person (personnel number {number}, {LINKS_FILE})"
        return {u: why for u, why in past.items() if u not in self.people}

    def _issued(self) -> list[pki.IssuedCert]:
        if self._issued_cache is None:
            self._issued_cache = pki.load_issued(self.root)
        return self._issued_cache

    def _git_usernames(self) -> set[str]:
        """Every username that was ever in the inventory's git history (none outside git)."""
        try:
            inside = subprocess.run(["git", "-C", str(self.root), "rev-parse", "--is-inside-work-tree"],
                                    check=False, capture_output=True, text=True, timeout=30)
            if inside.returncode != 0 or inside.stdout.strip() != "true":
                return set()
            log = subprocess.run(["git", "-C", str(self.root), "log", "--all", "--format=", "-p", "-U0",
                                  "--no-color", "--no-ext-diff", "-G", "username:", "--", "."],
                                 check=False, capture_output=True, text=True, timeout=300)
        except (OSError, subprocess.TimeoutExpired):
            return set()
        return set(_USERNAME_IN_DIFF.findall(log.stdout))

    # ---- bookkeeping

    def _decide(self, action: str, subject: str, message: str, record: HrRecord | None) -> None:
        source = f"{record.source} ({record.source.label})" if record is not None and record.source else None
        self._decided.append((id(record), len(self._decided), Decision(action, subject, message, source)))

    def _problem(self, record: HrRecord, message: str, fix: str) -> None:
        ref = record.source
        self.problems.append(Problem("hr.match", f"{ref.label}: {message}", fix, file=ref.file, line=ref.line))


_USERNAME_IN_DIFF = re.compile(r"^[+-].*?\busername:\s*[\"']?([a-z][a-z0-9._-]{0,31})", re.MULTILINE)


def _people_files(loaded: LoadedInventory) -> dict[str, str]:
    """username -> the file that holds the person, relative to the inventory (for messages)."""
    out: dict[str, str] = {}
    raw = loaded.source.data.get("people") or []
    for item, origin in zip(raw, loaded.source.item_origins.get("people", [])):
        if isinstance(item, dict) and isinstance(item.get("username"), str):
            try:
                out[item["username"]] = str(origin.source.path.relative_to(loaded.root))
            except ValueError:
                out[item["username"]] = str(origin.source.path)
    return out

