"""Reading an HR export, CSV or LDIF, into `HrRecord`s: one per person, every value checked.

CSV as German HR systems write it: `;` between fields, UTF-8 with a byte order mark (Excel's
"CSV UTF-8") or Windows-1252 (Excel's plain "CSV"), CRLF line ends, quotes around fields
that hold the delimiter. Row numbers in messages are the spreadsheet's (header = row 1), the
line is the file's.

LDIF as Active Directory (`ldifde`) or OpenLDAP (`slapcat`, `ldapsearch -L`) write it, read
with the `ldif` package (RFC 2849: base64 values after `::`, lines folded with a leading
space, comments). URLs (`attr:< file://...`) are never followed. Entries without the
mapping's objectClass (groups, OUs, computers) are not people and are skipped.

Every malformed row or entry is a `Problem` naming the file, the line, the row or entry, the
column or attribute, and the fix; all of them are collected and raised together
(`HrImportError`), so nothing is imported from a file with any error.
"""

from __future__ import annotations

import csv
import difflib
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from pathlib import Path

import ldif

from telework.core.problems import Problem
from telework.onboarding.hr_mapping import (
    DATE_FIELDS,
    FIELDS_OPTIONAL,
    FIELDS_REQUIRED,
    HrImportError,
    Mapping,
)

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
_GENERALIZED = re.compile(r"^(\d{4})(\d{2})(\d{2})(\d{2})?(\d{2})?(\d{2})?(?:[.,]\d+)?(Z|[+-]\d{4})?$")
#: Active Directory's accountExpires for "never"
_FILETIME_NEVER = (0, 0x7FFFFFFFFFFFFFFF)
_STRFTIME_WORDS = {"%d": "DD", "%m": "MM", "%Y": "YYYY", "%y": "YY", "%H": "hh", "%M": "mm", "%S": "ss"}


@dataclass(frozen=True)
class SourceRef:
    """Where a record came from: `file:line`, and "row 5" or "entry 3 (dn)" for people."""

    file: Path
    line: int
    label: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class HrRecord:
    """One person of the export, mapped to inventory ids (None: HR code mapped to null)."""

    personnel_number: str
    given_name: str
    surname: str
    hr_department: str
    hr_site: str
    department: str | None
    site: str | None
    email: str | None = None
    start_date: date | None = None
    leave_date: date | None = None
    username: str | None = None
    source: SourceRef | None = field(default=None, compare=False)

    @property
    def name(self) -> str:
        return f"{self.given_name} {self.surname}"


def read_export(path: str | Path, mapping: Mapping, *, tz: tzinfo = UTC) -> list[HrRecord]:
    """Every person of the export at `path` (CSV or LDIF, by `mapping.format` or the suffix).

    `tz` is the organisation's time zone: LDAP times are instants, HR dates are local days."""
    path = Path(path)
    kind = mapping.format or ("ldif" if path.suffix.lower() in (".ldif", ".ldf") else "csv")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise HrImportError([Problem("hr.export", f"HR export {path} does not exist",
                                     "pass the file the HR system exported")]) from None
    except OSError as exc:
        raise HrImportError([Problem("hr.export", f"cannot read {path}: {exc.strerror}",
                                     "check the path and its permissions", file=path)]) from None
    problems: list[Problem] = []
    rows = _csv_rows(path, data, mapping, problems) if kind == "csv" else _ldif_entries(path, data, mapping, problems)
    records = []
    seen: dict[str, SourceRef] = {}
    for ref, value in rows:
        record = _record(path, ref, value, mapping, tz, problems)
        if record is None:
            continue
        first = seen.get(record.personnel_number)
        if first is not None:
            column = value("personnel_number")[1]
            problems.append(_row_problem(path, ref, column, f"personnel number {record.personnel_number} appears "
                                         f"again (first in {first.label}, line {first.line})",
                                         "keep one row per person"))
            continue
        seen[record.personnel_number] = ref
        records.append(record)
    if problems:
        raise HrImportError(problems)
    return records


#: value(field) -> (text or None, how the column/attribute is called in messages)
Getter = Callable[[str], tuple[str | None, str]]


# ---------------------------------------------------------------- CSV


def _csv_rows(path: Path, data: bytes, mapping: Mapping,
              problems: list[Problem]) -> Iterator[tuple[SourceRef, Getter]]:
    text = _decode(path, data, mapping.csv.encoding, problems)
    if text is None:
        return
    delimiter = mapping.csv.delimiter
    lines = io.StringIO(text, newline="")
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        problems.append(Problem("hr.export", "the export is empty", "export the people with a header row",
                                file=path, line=1))
        return
    except csv.Error as exc:
        problems.append(Problem("hr.export", f"header row: {exc}", "check the quotes of the header", file=path, line=1))
        return
    other = next((d for d in (",", "\t", ";", "|") if d != delimiter and d in header[0]), None)
    if len(header) == 1 and other is not None:
        shown = "\\t" if other == "\t" else other
        problems.append(Problem("hr.export", f"the header has one column only; the file is separated by {shown!r}",
                                f"set csv.delimiter: \"{shown}\" in {mapping.path}", file=path, line=1))
        return
    index = {h.casefold(): i for i, h in enumerate(header)}
    columns: dict[str, tuple[int | None, str]] = {}
    for name in (*FIELDS_REQUIRED, *FIELDS_OPTIONAL):
        spec = mapping.fields.spec(name)
        if spec is None:
            continue
        position = index.get(spec.source.strip().casefold())
        if position is None:
            problems.append(_missing_column(path, header, spec.source, mapping))
        columns[name] = (position, spec.source)
    if any(position is None for position, _ in columns.values()):
        return
    last_line = reader.line_num
    row_number = 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            problems.append(Problem("hr.row", f"row {row_number + 1}: {exc}",
                                    "close the quote of this field, or remove the stray quote", file=path,
                                    line=last_line + 1))
            return
        start, last_line = last_line + 1, reader.line_num
        row_number += 1
        if not any(cell.strip() for cell in row):
            continue
        ref = SourceRef(path, start, f"row {row_number}")
        extra = row[len(header):]
        if len(row) < len(header) or any(cell.strip() for cell in extra):
            problems.append(Problem("hr.row", f"{ref.label}: {len(row)} fields, the header has {len(header)}",
                                    f"check the delimiter {delimiter!r} and the quotes of this row "
                                    f"(a field holding {delimiter!r} must be in double quotes)",
                                    file=path, line=start))
            continue

        def value(name: str, row=row) -> tuple[str | None, str]:
            position, label = columns[name]
            cell = row[position].strip() if position is not None else ""
            return (cell or None), f'column "{label}"'

        yield ref, value


def _decode(path: Path, data: bytes, encoding: str, problems: list[Problem]) -> str | None:
    if data.startswith(b"\xef\xbb\xbf"):
        encoding = "utf-8-sig"
    tries = ["utf-8", "cp1252"] if encoding == "auto" else [encoding]
    error: UnicodeDecodeError | None = None
    for name in tries:
        try:
            return data.decode(name)
        except UnicodeDecodeError as exc:
            error = exc  # the last one: where even cp1252 has no character
    assert error is not None
    line = data[:error.start].count(b"\n") + 1
    byte = data[error.start:error.start + 1].hex()
    fix = ("save the export as UTF-8 (Excel: \"CSV UTF-8\") or as Windows-1252, and set csv.encoding"
           if encoding == "auto" else f"the file is not {encoding}: set csv.encoding: auto in {path.name}'s mapping")
    problems.append(Problem("hr.export", f"byte 0x{byte} is not text in {', '.join(tries)}", fix, file=path,
                            line=line))
    return None


def _missing_column(path: Path, header: list[str], wanted: str, mapping: Mapping) -> Problem:
    near = difflib.get_close_matches(wanted, header, n=1)
    fix = f"the header has {', '.join(repr(h) for h in header)}; " + (
        f"did you mean {near[0]!r}? " if near else "") + f"correct fields: in {mapping.path}"
    return Problem("hr.export", f'column "{wanted}" is not in the header', fix, file=path, line=1)


# ---------------------------------------------------------------- LDIF


def _ldif_entries(path: Path, data: bytes, mapping: Mapping,
                  problems: list[Problem]) -> Iterator[tuple[SourceRef, Getter]]:
    starts = _record_lines(data)
    parser = ldif.LDIFParser(io.BytesIO(data), strict=True)
    records = parser.parse()
    wanted_class = mapping.ldif.object_class.casefold()
    number = 0
    while True:
        try:
            dn, entry = next(records)
        except StopIteration:
            return
        except (ValueError, UnicodeDecodeError) as exc:  # binascii.Error is a ValueError
            block = parser.records_read
            line = starts[block - 1] if 0 < block <= len(starts) else None
            problems.append(Problem("hr.row", f"entry {number + 1}: not valid LDIF ({_ldif_reason(exc)})",
                                    "each line is `attribute: value`, `attribute:: base64` or a folded "
                                    "continuation starting with one space (RFC 2849); export again",
                                    file=path, line=line))
            return
        block = parser.records_read
        line = starts[block - 1] if 0 < block <= len(starts) else 1
        if dn is None:  # the `version: 1` line on its own
            continue
        number += 1
        attrs = {k.casefold(): v for k, v in entry.items()}
        ref = SourceRef(path, line, f"entry {number} ({dn})")
        if "changetype" in attrs:
            problems.append(Problem("hr.row", f"{ref.label}: a change record (changetype), not an entry",
                                    "export the entries themselves (ldifde -f FILE, or ldapsearch -L)",
                                    file=path, line=line))
            continue
        classes = {c.casefold() for c in attrs.get("objectclass", []) if isinstance(c, str)}
        if wanted_class not in classes:
            continue

        def value(name: str, attrs=attrs, ref=ref) -> tuple[str | None, str]:
            spec = mapping.fields.spec(name)
            label = f'attribute "{spec.source}"' if spec else name
            values = attrs.get(spec.source.casefold(), []) if spec else []
            if not values:
                return None, label
            if any(isinstance(v, bytes) for v in values):
                raise _BadValue(label, "is not UTF-8 text", "export the directory as UTF-8 (ldifde -u)")
            distinct = list(dict.fromkeys(v.strip() for v in values))
            if len(distinct) > 1:
                raise _BadValue(label, f"has {len(distinct)} values ({', '.join(distinct)})",
                                "keep one value in the directory, or map another attribute")
            return distinct[0] or None, label

        yield ref, value


def _ldif_reason(exc: Exception) -> str:
    text = str(exc)
    return "a line without ':'" if text in ("substring not found", "subsection not found") else text


def _record_lines(data: bytes) -> list[int]:
    """Line (1-based) where each record begins, as the `ldif` parser groups them: logical
    lines (continuations start with a space) separated by empty lines, comments left out."""
    starts: list[int] = []
    in_block = False
    previous_logical = False
    for number, raw in enumerate(data.split(b"\n"), 1):
        line = raw[:-1] if raw.endswith(b"\r") else raw
        if line.startswith(b" ") and previous_logical:
            continue
        previous_logical = bool(line)
        if not line:
            in_block = False
        elif line.startswith(b"#"):
            continue
        elif not in_block:
            starts.append(number)
            in_block = True
    return starts


# ---------------------------------------------------------------- one record


class _BadValue(Exception):
    def __init__(self, label: str, problem: str, fix: str):
        super().__init__(problem)
        self.label, self.problem, self.fix = label, problem, fix


_HUMAN = {
    "personnel_number": "the personnel number",
    "given_name": "the given name",
    "surname": "the surname",
    "department": "the department code",
    "site": "the site code",
}


def _record(path: Path, ref: SourceRef, value: Getter, mapping: Mapping, tz: tzinfo,
            problems: list[Problem]) -> HrRecord | None:
    before = len(problems)
    got: dict[str, str | None] = {}
    for name in (*FIELDS_REQUIRED, *FIELDS_OPTIONAL):
        if mapping.fields.spec(name) is None:
            got[name] = None
            continue
        try:
            text, label = value(name)
        except _BadValue as bad:
            problems.append(_row_problem(path, ref, bad.label, bad.problem, bad.fix))
            continue
        if text is not None and any(ord(c) < 32 for c in text):
            problems.append(_row_problem(path, ref, label, "holds a control character (a line break or tab)",
                                         "remove it from the HR record"))
            continue
        if text is None and name in FIELDS_REQUIRED:
            problems.append(_row_problem(path, ref, label, "is empty",
                                         f"fill in {_HUMAN[name]}, or remove the {ref.label.split()[0]}"))
            continue
        got[name] = " ".join(text.split()) if text is not None else None
    if len(problems) > before:
        return None
    department = _code(path, ref, value, mapping, "department", got["department"], problems)
    site = _code(path, ref, value, mapping, "site", got["site"], problems)
    dates = {}
    for name in DATE_FIELDS:
        dates[name] = _date(path, ref, value, mapping, name, got[name], tz, problems)
    email = got["email"]
    if email is not None and not _EMAIL.match(email):
        problems.append(_row_problem(path, ref, value("email")[1], f"{email!r} is not an email address",
                                     "write it as name@example.org, or leave it empty"))
    if dates["start_date"] and dates["leave_date"] and dates["leave_date"] < dates["start_date"]:
        problems.append(_row_problem(path, ref, value("leave_date")[1],
                                     f"leaves on {dates['leave_date']:%d.%m.%Y}, before starting on "
                                     f"{dates['start_date']:%d.%m.%Y}", "correct one of the two dates"))
    username = got["username"]
    if username is not None:
        username = username.lower()
        if not re.match(r"^[a-z][a-z0-9._-]{0,31}$", username):
            problems.append(_row_problem(path, ref, value("username")[1], f"{got['username']!r} is not a "
                                         f"username of the inventory", "use lower-case a-z, 0-9, '.', '_', "
                                         "'-' (at most 32, starting with a letter), or leave it empty"))
    if len(problems) > before:
        return None
    return HrRecord(personnel_number=got["personnel_number"], given_name=got["given_name"],
                    surname=got["surname"], hr_department=got["department"], hr_site=got["site"],
                    department=department, site=site, email=email, start_date=dates["start_date"],
                    leave_date=dates["leave_date"], username=username, source=ref)


def _code(path: Path, ref: SourceRef, value: Getter, mapping: Mapping, name: str, code: str,
          problems: list[Problem]) -> str | None:
    table = mapping.departments if name == "department" else mapping.sites
    section = "departments" if name == "department" else "sites"
    if code in table:
        return table[code]
    near = difflib.get_close_matches(code, list(table), n=1)
    hint = f" (did you mean {near[0]!r}?)" if near else ""
    problems.append(_row_problem(path, ref, value(name)[1], f"HR code {code!r} is not in the mapping{hint}",
                                 f"add it under {section}: in {mapping.path}, e.g. \"{code}\": <{name} id>, "
                                 f"or \"{code}\": null to leave these people out"))
    return None


def _date(path: Path, ref: SourceRef, value: Getter, mapping: Mapping, name: str, text: str | None,
          tz: tzinfo, problems: list[Problem]) -> date | None:
    if text is None:
        return None
    fmt = mapping.date_format_of(name)
    try:
        if fmt == "generalized-time":
            return _generalized_time(text, tz)
        if fmt == "ad-filetime":
            return _filetime(text, tz)
        return datetime.strptime(text, fmt).date()
    except ValueError:
        if fmt == "generalized-time":
            form, fix = "LDAP GeneralizedTime", "e.g. 20261130000000Z"
        elif fmt == "ad-filetime":
            form, fix = "Active Directory time (100 ns since 1601)", "e.g. 134092764000000000, 0 for never"
        else:
            form = "".join(_STRFTIME_WORDS.get(part, part) for part in re.split(r"(%.)", fmt))
            fix = f"write it like {date(2026, 3, 1).strftime(fmt)}"
        problems.append(_row_problem(path, ref, value(name)[1], f"{text!r} is not a date in the form {form}", fix))
        return None


def _generalized_time(text: str, tz: tzinfo) -> date:
    match = _GENERALIZED.match(text)
    if not match:
        raise ValueError(text)
    year, month, day, hour, minute, second, zone = match.groups()
    moment = datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0))
    if zone in (None, "Z"):
        moment = moment.replace(tzinfo=UTC)
    else:
        sign = 1 if zone[0] == "+" else -1
        offset = timedelta(hours=int(zone[1:3]), minutes=int(zone[3:5]))
        moment = (moment - sign * offset).replace(tzinfo=UTC)
    return moment.astimezone(tz).date()


def _filetime(text: str, tz: tzinfo) -> date | None:
    """accountExpires: the instant the account expires. "End of 30.11." is stored as midnight
    starting 01.12. (local time), so a local midnight means the day before is the last day."""
    ticks = int(text)
    if ticks in _FILETIME_NEVER:
        return None
    moment = (datetime(1601, 1, 1, tzinfo=UTC) + timedelta(microseconds=ticks // 10)).astimezone(tz)
    if (moment.hour, moment.minute, moment.second) == (0, 0, 0):
        return moment.date() - timedelta(days=1)
    return moment.date()


def _row_problem(path: Path, ref: SourceRef, column: str, message: str, fix: str) -> Problem:
    return Problem("hr.row", f"{ref.label}, {column}: {message}", fix, file=path, line=ref.line)
