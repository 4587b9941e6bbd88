"""The allocations file, `<inventory>/allocations.yml`: who holds which tunnel address.

`telework ipam sync` writes it and it is committed with the inventory, so the history of
every address is in git. It is YAML (any tool can read it) in one fixed layout, one line
per address, sorted by address, so diffs show exactly the addresses that changed:

    pools:
      vpn-a-openvpn:
        allocated:
          10.128.0.2: person:jmueller 2026-11-22
        released:
          10.128.0.7: person:kschmidt 2026-11-01

`allocated` maps an address to its member and the date it was allocated; `released` maps
an address to the member who held it and the date it was released (it stays in quarantine
for `organisation.settings.address_quarantine_days`, see `telework.ipam.allocations`).

This module only reads and writes that layout. It parses the lines itself instead of going
through a YAML parser: 50,000 people in five pools are 250,000 lines, and a line parser
reads them several times faster and knows the line of every entry for error messages.
Addresses are kept as integers here; `telework.ipam.allocations` hands out netaddr objects.
"""

from __future__ import annotations

import functools
import json
import re
import socket
from dataclasses import dataclass, field
from datetime import date

#: The first lines of the file; the rest is generated from the allocations.
HEADER = """\
# VPN tunnel addresses: managed by telework, do not edit by hand.
# yaml-language-server: $schema=../schema/allocations.schema.json
# `telework ipam sync` writes this file; commit it together with the inventory change.
# allocated:  <address>: <member> <date allocated>
# released:   <address>: <member who held it> <date released> - quarantined for
#             organisation.settings.address_quarantine_days, then free again
"""

_PLAIN_POOL_RE = re.compile(r"^[a-z][a-z0-9_-]*$")
#: Words YAML 1.1 readers turn into booleans or null: pool names spelled so are quoted.
_YAML_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null"}
_FAMILY = {4: socket.AF_INET, 6: socket.AF_INET6}
_WIDTH = {4: 4, 6: 16}
SECTIONS = ("allocated", "released")


#: (member, date) - the date allocated (in `allocated`) or released (in `released`).
Holding = tuple[str, date]


@dataclass
class PoolEntries:
    """One pool's lines: address (as an integer) -> (member, date)."""

    version: int = 4
    allocated: dict[int, Holding] = field(default_factory=dict)
    released: dict[int, Holding] = field(default_factory=dict)


@dataclass(frozen=True)
class FileProblem:
    """Something wrong on one line of the file."""

    line: int
    message: str
    fix: str = ""


@dataclass
class ParsedFile:
    pools: dict[str, PoolEntries] = field(default_factory=dict)
    problems: list[FileProblem] = field(default_factory=list)
    #: (pool, section) -> {address: line of its entry}
    lines: dict[tuple[str, str], dict[int, int]] = field(default_factory=dict)
    #: pool -> line of its header
    pool_lines: dict[str, int] = field(default_factory=dict)


def int_to_address(value: int, version: int) -> str:
    return socket.inet_ntop(_FAMILY[version], value.to_bytes(_WIDTH[version], "big"))


# ---------------------------------------------------------------- reading

_ENTRY_RE = re.compile(r"^      ([0-9A-Fa-f.:]+): ((?:person|device):[a-z0-9][a-z0-9._-]*) ([0-9]{4}-[0-9]{2}-[0-9]{2})[ \t]*$")
_NOT_BY_HAND = "this file is written by `telework ipam sync`; restore it from git and run the sync again"


def parse(text: str) -> ParsedFile:
    """Read the file's layout; every line that does not fit is reported, the rest is kept.

    Of two entries for one address, or two allocations of one member in a pool, the first
    is kept and the second reported with the line of the first.
    """
    out = ParsedFile()
    pool: str | None = None
    entries: PoolEntries | None = None
    section: str | None = None
    target: dict[int, Holding] = {}
    target_lines: dict[int, int] = {}
    other_lines: dict[int, int] = {}
    member_lines: dict[str, int] = {}  # member -> line of its allocation in the current pool
    seen_root = False
    seen_sections: set[tuple[str, str]] = set()
    dates: dict[str, date] = {}
    #: one string per member for all pools (a person is in every concentrator's pool)
    members: dict[str, str] = {}
    entry_match = _ENTRY_RE.match
    inet_pton, from_bytes = socket.inet_pton, int.from_bytes

    def problem(number: int, message: str, fix: str = _NOT_BY_HAND) -> None:
        out.problems.append(FileProblem(number, message, fix))

    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith("      ") and section is not None and entries is not None:
            found = entry_match(line)
            if found is None:
                if line.lstrip().startswith("#"):
                    continue
                problem(number, f"expected '<address>: <member> <YYYY-MM-DD>', got {line.strip()!r}")
                continue
            text_address, member, day_text = found.groups()
            member = members.setdefault(member, member)
            version = 6 if ":" in text_address else 4
            try:
                packed = inet_pton(_FAMILY[version], text_address)
                if version == 6 and socket.inet_ntop(_FAMILY[6], packed) != text_address:
                    raise OSError
            except OSError:
                problem(number, f"not an IP address in canonical form: {text_address!r}")
                continue
            value = from_bytes(packed, "big")
            day = dates.get(day_text)
            if day is None:
                try:
                    day = dates[day_text] = date.fromisoformat(day_text)
                except ValueError:
                    problem(number, f"not a date: {day_text!r}")
                    continue
            if version != entries.version:
                if entries.version:
                    problem(number, f"IPv{version} address {text_address} in a pool of IPv{entries.version} "
                                    "addresses")
                    continue
                entries.version = version
            first = target_lines.get(value) or other_lines.get(value)
            if first is not None:
                problem(number, f"address {text_address} of pool '{pool}' is listed twice, first at line {first}",
                        "keep one of the lines (usually the older one), then run `telework ipam sync`")
                continue
            if section == "allocated":
                first = member_lines.get(member)
                if first is not None:
                    problem(number, f"{member} has two addresses in pool '{pool}', the other at line {first}",
                            "remove one of the lines, then run `telework ipam sync`")
                    continue
                member_lines[member] = number
            target[value] = (member, day)
            target_lines[value] = number
            continue
        stripped = line.rstrip()
        if not stripped or stripped.lstrip().startswith("#"):
            continue
        if line.startswith("      "):
            problem(number, "entry outside an 'allocated:' or 'released:' section")
        elif line.startswith("    ") and line[4] != " ":
            key = stripped[4:]
            name = key.removesuffix(" {}").removesuffix(":")
            section = None
            if entries is None or pool is None or name not in SECTIONS or not key.endswith((":", ": {}")):
                problem(number, f"unexpected line {key!r}: a pool holds 'allocated:' and 'released:'")
                continue
            if (pool, name) in seen_sections:
                problem(number, f"section '{name}' appears twice in pool '{pool}'")
            seen_sections.add((pool, name))
            if not key.endswith("{}"):
                section = name
                target = getattr(entries, name)
                target_lines = out.lines[(pool, name)]
                other_lines = out.lines[(pool, SECTIONS[1 - SECTIONS.index(name)])]
        elif line.startswith("  ") and line[2] != " ":
            section = entries = pool = None
            key = stripped[2:]
            if not seen_root or not key.endswith((":", ": {}")):
                problem(number, f"unexpected line {key!r}: expected a pool name followed by ':'")
                continue
            name = key.removesuffix(" {}").removesuffix(":")
            if name.startswith('"'):
                try:
                    name = json.loads(name)
                except ValueError:
                    problem(number, f"badly quoted pool name {name}")
                    continue
            if name in out.pools:
                problem(number, f"pool '{name}' appears twice, first at line {out.pool_lines[name]}")
                continue
            pool = name
            entries = out.pools[name] = PoolEntries(version=0)
            out.pool_lines[name] = number
            out.lines[(name, "allocated")] = {}
            out.lines[(name, "released")] = {}
            member_lines = {}
        elif stripped in ("pools:", "pools: {}") and not seen_root:
            seen_root = True
        else:
            problem(number, f"unexpected line {stripped.strip()!r}")
            section = entries = pool = None
    for entries in out.pools.values():
        entries.version = entries.version or 4
    return out


# ---------------------------------------------------------------- writing


def render(pools: dict[str, PoolEntries]) -> str:
    """The file's text: pools by name, entries by address. Same allocations, same bytes."""
    out = [HEADER.rstrip("\n"), "pools:" if pools else "pools: {}"]
    ntop = socket.inet_ntop
    day_text = functools.lru_cache(maxsize=None)(date.isoformat)
    for name in sorted(pools):
        entries = pools[name]
        out.append(f"  {_pool_key(name)}:")
        family, width = _FAMILY[entries.version], _WIDTH[entries.version]
        for section in SECTIONS:
            items = getattr(entries, section)
            if not items:
                out.append(f"    {section}: {{}}")
                continue
            out.append(f"    {section}:")
            out.extend(f"      {ntop(family, value.to_bytes(width, 'big'))}: {member} {day_text(day)}"
                       for value, (member, day) in sorted(items.items()))
    return "\n".join(out) + "\n"


def _pool_key(name: str) -> str:
    if _PLAIN_POOL_RE.match(name) and name not in _YAML_WORDS:
        return name
    return json.dumps(name)
