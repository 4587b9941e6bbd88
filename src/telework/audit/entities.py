"""An inventory's state as the audit compares it: entities keyed by what names them.

The audit compares *states*, never files: people keyed by username, devices by name, desk
phones by MAC, departments by id, networks by name, tunnel addresses by pool and address,
revocations by username, certificates by serial. A person moved from `people/rathaus.yml`
to `people/buergerbuero.yml` is therefore the same person before and after, not a removal
and an addition.

Each file of a commit is parsed once per blob id (git gives equal contents equal ids) into
normalised entities: plain dicts with only the fields the audit reports, so two states
compare with `==` and unchanged entities are the *same objects* (cheap to compare).

Speed on long histories: most commits change one line of a large people or device file.
Files in the one-item-a-line layout that telework writes and the sample uses
(`  - {username: ..., ...}`) are read line by line, each distinct line parsed (by the same
YAML loader) and normalised once per run; anything else in a file - block style, comments
spanning items, anchors - makes that file take the full YAML parse instead. Both give the
same entities; the line path only skips work.

Values are read leniently (an invalid item in an old commit is skipped, not fatal): the
audit must read every past state, including ones `telework validate` would reject.
"""

from __future__ import annotations

import functools
import re
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from pathlib import PurePosixPath

import yaml

from telework.audit.role_files import role_files
from telework.inventory.source import is_section_file, parse_yaml

ALLOCATIONS = "allocations.yml"

#: list section -> (collection, device kind); devices of three sections are one collection
SECTIONS: dict[str, tuple[str, str | None]] = {
    "people": ("people", None),
    "igel_devices": ("devices", "igel"),
    "linux_endpoints": ("devices", "linux_endpoint"),
    "notebooks": ("devices", "notebook"),
    "desk_phones": ("phones", None),
    "departments": ("departments", None),
    "networks": ("networks", None),
}
COLLECTIONS = ("people", "devices", "phones", "departments", "networks")

Entity = dict
Entities = dict[str, Entity]


@functools.lru_cache(maxsize=4096)
def file_kind(rel: str) -> str | None:
    """What a file of the inventory directory holds for the audit, None: nothing."""
    if rel == ALLOCATIONS:
        return "allocations"
    if rel in role_files():
        return "role"
    return "sections" if is_section_file(PurePosixPath(rel)) else None


# ---------------------------------------------------------------- normalising items

def _text(value) -> str | None:
    return None if value is None else str(value)


def _e164(value) -> str | None:
    """DIDs are written readably and compared as E.164 digits (as the model stores them)."""
    if value is None:
        return None
    return re.sub(r"[\s\-/()]", "", str(value))


def _names(value) -> list[str]:
    return sorted({str(v) for v in value}) if isinstance(value, list) else []


def _person(item: dict) -> tuple[str, Entity]:
    phone = item.get("phone") if isinstance(item.get("phone"), dict) else {}
    return str(item["username"]), {
        "name": _text(item.get("name")),
        "department": _text(item.get("department")),
        "site": _text(item.get("site")),
        "status": _text(item.get("status")) or "active",
        "vpn": item.get("vpn") is True,
        "extra_access": _names(item.get("extra_access")),
        "extension": _text(phone.get("extension")),
        "did": _e164(phone.get("did")),
        "did_written": _text(phone.get("did")),
    }


def _device(kind: str):
    def normalise(item: dict) -> tuple[str, Entity]:
        return str(item["name"]), {
            "kind": kind,
            "owner": _text(item.get("owner")),
            "site": _text(item.get("site")),
            "ring": _text(item.get("ring")),
            "status": _text(item.get("status")) or "active",
            "firmware": _text(item.get("firmware")),
            "model": _text(item.get("model")),
            "hardware": [_text(item.get("serial")), _text(item.get("mac"))],
            "wireguard_key": _text(item.get("wireguard_public_key")),
        }
    return normalise


def _phone(item: dict) -> tuple[str, Entity]:
    return str(item["mac"]).replace("-", ":").upper(), {
        "model": _text(item.get("model")), "owner": _text(item.get("owner")),
        "site": _text(item.get("site")), "status": _text(item.get("status")) or "active",
    }


def _department(item: dict) -> tuple[str, Entity]:
    return str(item["id"]), {"name": _text(item.get("name")), "access": _names(item.get("access"))}


def _network(item: dict) -> tuple[str, Entity]:
    return str(item["name"]), {"prefix": _text(item.get("prefix")), "site": _text(item.get("site")),
                               "purpose": _text(item.get("purpose"))}


_NORMALISE = {
    "people": _person, "igel_devices": _device("igel"), "linux_endpoints": _device("linux_endpoint"),
    "notebooks": _device("notebook"), "desk_phones": _phone, "departments": _department,
    "networks": _network,
}


def normalise(section: str, item) -> tuple[str, Entity] | None:
    """(key, entity) of one list item, None when it has no usable key."""
    if not isinstance(item, dict):
        return None
    try:
        return _NORMALISE[section](item)
    except (KeyError, TypeError, AttributeError):
        return None


# ---------------------------------------------------------------- parsed files

@dataclass
class ParsedFile:
    """What one blob contributes to a state."""

    kind: str
    #: collection -> key -> entity (section files)
    collections: dict[str, Entities] = field(default_factory=dict)
    #: (pool, address) -> (member, date) (allocations.yml)
    allocations: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    #: what a role's own file holds, as its RoleFile.parse made it (e.g. revocations)
    data: dict = field(default_factory=dict)
    #: the file could not be read (YAML error): it contributes nothing, the audit goes on
    problem: str | None = None
    counts: Counter = field(default_factory=Counter)


_SECTION_KEY = re.compile(r"^([A-Za-z_][A-Za-z0-9_-]*):[ \t]*(?:#.*)?$")
_ITEM = re.compile(r"^( *)- (\{.*)$")


class Parser:
    """Turns blobs into `ParsedFile`s, remembering recent blobs and every item line seen."""

    def __init__(self, blob_text, cache_size: int = 128):
        self._blob_text = blob_text
        self._files: OrderedDict[tuple[str, str], ParsedFile] = OrderedDict()
        self._lines: dict[tuple[str, str], tuple[str, str, Entity] | None] = {}
        self._cache_size = cache_size
        self.stats = Counter()

    def parse(self, rel: str, oid: str) -> ParsedFile | None:
        kind = file_kind(rel)
        if kind is None:
            return None
        cache_key = (kind, oid)
        found = self._files.get(cache_key)
        if found is not None:
            self._files.move_to_end(cache_key)
            return found
        text = self._blob_text(oid)
        self.stats["blobs"] += 1
        parsed = self._role(rel, text) if kind == "role" else getattr(self, f"_{kind}")(text)
        self._files[cache_key] = parsed
        if len(self._files) > self._cache_size:
            self._files.popitem(last=False)
        return parsed

    # ---- section files

    def _sections(self, text: str) -> ParsedFile:
        parsed = ParsedFile("sections", {name: {} for name in COLLECTIONS})
        if not self._by_lines(text, parsed):
            self.stats["full_parses"] += 1
            parsed = ParsedFile("sections", {name: {} for name in COLLECTIONS})
            try:
                data = parse_yaml(text)
            except yaml.YAMLError as exc:
                parsed.problem = f"not valid YAML: {getattr(exc, 'problem', exc)}"
                return parsed
            if isinstance(data, dict):
                for section, items in data.items():
                    if section in SECTIONS and isinstance(items, list):
                        collection = parsed.collections[SECTIONS[section][0]]
                        for item in items:
                            found = normalise(section, item)
                            if found is not None:
                                collection.setdefault(found[0], found[1])
        _count(parsed)
        return parsed

    def _by_lines(self, text: str, parsed: ParsedFile) -> bool:
        """Read a file in the one-item-a-line layout; False when it is in any other."""
        section = None
        indent = None
        lines = self._lines
        for line in text.splitlines():
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                continue
            item = _ITEM.match(line)
            if item is None:
                key = _SECTION_KEY.match(line)
                if key is None or key.group(1) not in SECTIONS:
                    return False
                section, indent = key.group(1), None
                continue
            if section is None or (indent is not None and item.group(1) != indent):
                return False
            indent = item.group(1)
            cache_key = (section, item.group(2))
            found = lines.get(cache_key, False)
            if found is False:
                found = self._line_item(section, item.group(2))
                lines[cache_key] = found
            if found is None:
                return False
            collection, key, entity = found
            parsed.collections[collection].setdefault(key, entity)
        return True

    @staticmethod
    def _line_item(section: str, flow: str) -> tuple[str, str, Entity] | None:
        if "&" in flow or "*" in flow:  # anchors and aliases reach across lines
            return None
        try:
            data = parse_yaml(flow)
        except yaml.YAMLError:
            return None
        found = normalise(section, data)
        if found is None:
            return None
        return SECTIONS[section][0], found[0], found[1]

    # ---- files telework writes

    def _allocations(self, text: str) -> ParsedFile:
        """allocations.yml in its fixed layout (see telework.ipam.file): only who holds
        which address matters here; `released` lines follow from addresses disappearing."""
        parsed = ParsedFile("allocations")
        pool = section = None
        out = parsed.allocations
        for line in text.splitlines():
            if line.startswith("      "):
                if section == "allocated":
                    address, _, rest = line.strip().partition(": ")
                    member, _, day = rest.partition(" ")
                    out[(pool, address)] = (member, day.strip())
            elif line.startswith("    "):
                section = line.strip().rstrip(":")
            elif line.startswith("  ") and not line.lstrip().startswith("#"):
                pool, section = line.strip().rstrip(":").strip("'\""), None
        return parsed

    def _role(self, rel: str, text: str) -> ParsedFile:
        role_file = role_files()[rel]
        parsed = ParsedFile(role_file.kind)
        parsed.data = role_file.parse(self._yaml(text, parsed))
        return parsed

    @staticmethod
    def _yaml(text: str, parsed: ParsedFile):
        try:
            return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        except yaml.YAMLError as exc:
            parsed.problem = f"not valid YAML: {getattr(exc, 'problem', exc)}"
            return None


def _count(parsed: ParsedFile) -> None:
    """Per-file counts; a state's summary adds them up instead of walking every entity."""
    counts = parsed.counts
    for person in parsed.collections["people"].values():
        counts["people"] += 1
        if person["status"] == "active" and person["vpn"]:
            counts[("vpn", person["department"])] += 1
        if person["did"]:
            counts["numbers"] += 1
    for device in parsed.collections["devices"].values():
        counts[("devices", device["kind"], device["status"])] += 1
        if device["status"] == "active":
            counts[("ring", device["ring"])] += 1
            if device["kind"] == "igel":
                counts[("firmware", device["firmware"])] += 1
    for phone in parsed.collections["phones"].values():
        counts[("phones", phone["status"])] += 1


# ---------------------------------------------------------------- a state

class State:
    """The inventory at one commit: its files (path -> blob id) read through a `Parser`."""

    def __init__(self, files: dict[str, str], parser: Parser):
        self.files = {rel: oid for rel, oid in files.items() if file_kind(rel) is not None}
        self.parser = parser
        self._section_paths = sorted(rel for rel in self.files if file_kind(rel) == "sections")
        self._sections: list[ParsedFile] | None = None

    def changed(self, files: dict[str, str]) -> State:
        """A new state: this one with `files` (path -> blob id, None: deleted) applied."""
        new = dict(self.files)
        for rel, oid in files.items():
            if oid is None:
                new.pop(rel, None)
            else:
                new[rel] = oid
        return State(new, self.parser)

    def parsed(self, rel: str) -> ParsedFile | None:
        oid = self.files.get(rel)
        return None if oid is None else self.parser.parse(rel, oid)

    def section_files(self) -> list[ParsedFile]:
        """The parsed section files in path order (parsed once per state)."""
        if self._sections is None:
            self._sections = [p for p in (self.parsed(rel) for rel in self._section_paths) if p is not None]
        return self._sections

    def get(self, collection: str, key: str | None) -> Entity | None:
        """The entity `key` of `collection`, from the first file (path order) that has it."""
        if key is None:
            return None
        for parsed in self.section_files():
            found = parsed.collections[collection].get(key)
            if found is not None:
                return found
        return None

    def keys_in(self, rel: str) -> dict[str, set[str]]:
        parsed = self.parsed(rel)
        if parsed is None or parsed.kind != "sections":
            return {}
        return {name: set(items) for name, items in parsed.collections.items()}

    def items(self, collection: str) -> dict[str, Entity]:
        """Every entity of `collection` (first file wins, as `get`)."""
        out: dict[str, Entity] = {}
        for parsed in self.section_files():
            for key, value in parsed.collections[collection].items():
                out.setdefault(key, value)
        return out

    @property
    def allocations(self) -> dict[tuple[str, str], tuple[str, str]]:
        parsed = self.parsed(ALLOCATIONS)
        return parsed.allocations if parsed else {}

    def role_data(self, kind: str) -> dict:
        """The data of the role file of this `kind` (e.g. "revocations"), {} when absent."""
        for rel, role_file in role_files().items():
            if role_file.kind == kind:
                parsed = self.parsed(rel)
                return parsed.data if parsed else {}
        return {}

    def problems(self) -> list[str]:
        return [f"{rel}: {p.problem}" for rel in sorted(self.files)
                if (p := self.parsed(rel)) is not None and p.problem]

    def summary(self) -> dict:
        """Counts for the report's charts: VPN access per department (people who are active,
        have `vpn: true` and are not revoked), devices per kind, ring and IGEL firmware."""
        counts: Counter = Counter()
        for parsed in self.section_files():
            counts.update(parsed.counts)
        for username in self.role_data("revocations"):
            person = self.get("people", username)
            if person and person["status"] == "active" and person["vpn"]:
                counts[("vpn", person["department"])] -= 1
        vpn = {str(rest[0]): n for (tag, *rest), n in _tuples(counts) if tag == "vpn" and n > 0}
        return {
            "people": counts["people"],
            "vpn": sum(vpn.values()),
            "vpn_by_department": dict(sorted(vpn.items())),
            "numbers": counts["numbers"],
            "devices": {f"{rest[0]}/{rest[1]}": n for (tag, *rest), n in _tuples(counts) if tag == "devices"},
            "rings": {str(rest[0]): n for (tag, *rest), n in _tuples(counts) if tag == "ring"},
            "firmware": {str(rest[0]): n for (tag, *rest), n in _tuples(counts) if tag == "firmware"},
            "phones": sum(n for (tag, *_r), n in _tuples(counts) if tag == "phones"),
        }


def _tuples(counts: Counter):
    return sorted(((k, v) for k, v in counts.items() if isinstance(k, tuple)), key=lambda kv: str(kv[0]))
