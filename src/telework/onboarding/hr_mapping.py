"""The mapping file of an HR import: which column (CSV) or attribute (LDIF) holds what, how HR's
department and site codes map to the inventory's ids, and how usernames are made.

    format: csv                      # or ldif; default: by the export's suffix
    csv: {delimiter: ";", encoding: auto}   # auto: UTF-8 (with or without BOM), else cp1252
    ldif: {object_class: person}     # entries without this objectClass are not people
    date_format: "%d.%m.%Y"          # strftime; per field also generalized-time, ad-filetime
    fields:
      personnel_number: Personalnummer
      given_name: Vorname
      surname: Nachname
      department: Organisationseinheit
      site: Dienstort
      email: E-Mail                  # optional, like the three below
      start_date: Eintritt
      leave_date: {from: Austritt, format: "%d.%m.%Y"}   # last day of employment
      username: null                 # e.g. sAMAccountName when the directory has them already
    departments: {"OE 10": hauptamt, "OE 99": null}   # null: these people stay out of the inventory
    sites: {RH: rathaus}
    usernames: {pattern: "{given:1}{surname}", clash: digits, first_number: 2, max_length: 20}
    new_people: {vpn: false}         # what joiners get
    complete: false                  # true: a person missing from the export has left
    match_by: [personnel_number, username, email, name]
    joiner_lead_days: 30             # joiners starting later than this are left for a later import

Every problem is reported with the mapping file's line and the fix (`HrImportError`).
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator

from telework.core.problems import Problem, TeleworkError
from telework.inventory.source import compose, parse_yaml
from telework.onboarding import usernames

FIELDS_REQUIRED = ("personnel_number", "given_name", "surname", "department", "site")
FIELDS_OPTIONAL = ("email", "start_date", "leave_date", "username")
DATE_FIELDS = ("start_date", "leave_date")
NAMED_DATE_FORMATS = ("generalized-time", "ad-filetime")
MATCH_KEYS = ("personnel_number", "username", "email", "name")


class HrImportError(TeleworkError):
    """The import cannot be proposed or applied; carries every problem found."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(p.format() for p in problems))


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class FieldSpec(_Model):
    source: str = Field(alias="from", min_length=1, description="column header (CSV) or attribute (LDIF)")
    format: str | None = Field(None, description="dates: strftime pattern, generalized-time or ad-filetime")


class Fields(_Model):
    personnel_number: str | FieldSpec
    given_name: str | FieldSpec
    surname: str | FieldSpec
    department: str | FieldSpec
    site: str | FieldSpec
    email: str | FieldSpec | None = None
    start_date: str | FieldSpec | None = None
    leave_date: str | FieldSpec | None = None
    username: str | FieldSpec | None = None

    def spec(self, name: str) -> FieldSpec | None:
        value = getattr(self, name)
        if value is None or isinstance(value, FieldSpec):
            return value
        return FieldSpec(source=value)


class CsvOptions(_Model):
    delimiter: str = Field(";", min_length=1, max_length=1)
    encoding: Literal["auto", "utf-8", "cp1252", "latin-1"] = "auto"


class LdifOptions(_Model):
    object_class: str = "person"


class UsernameOptions(_Model):
    pattern: str = "{given:1}{surname}"
    clash: Literal["digits", "next_letter"] = "digits"
    first_number: int = Field(2, ge=1, le=99)
    max_length: int = Field(20, ge=4, le=32)

    @field_validator("pattern")
    @classmethod
    def _pattern(cls, value: str) -> str:
        try:
            usernames.check_pattern(value)
        except usernames.UsernameError as exc:
            raise ValueError(str(exc)) from None
        return value

    def rule(self) -> usernames.Rule:
        return usernames.Rule(self.pattern, self.clash, self.first_number, self.max_length)


class NewPeople(_Model):
    vpn: bool = False


class Mapping(_Model):
    format: Literal["csv", "ldif"] | None = None
    csv: CsvOptions = Field(default_factory=CsvOptions)
    ldif: LdifOptions = Field(default_factory=LdifOptions)
    date_format: str = "%d.%m.%Y"
    fields: Fields
    departments: dict[str, str | None]
    sites: dict[str, str | None]
    usernames: UsernameOptions = Field(default_factory=UsernameOptions)
    new_people: NewPeople = Field(default_factory=NewPeople)
    complete: bool = False
    match_by: list[Literal["personnel_number", "username", "email", "name"]] = \
        Field(default_factory=lambda: list(MATCH_KEYS))
    joiner_lead_days: int = Field(30, ge=0)

    _path: Path = PrivateAttr(Path("mapping.yml"))

    @property
    def path(self) -> Path:
        """The mapping file (set by `load_mapping`), for messages."""
        return self._path

    def date_format_of(self, name: str) -> str:
        spec = self.fields.spec(name)
        return (spec.format if spec and spec.format else None) or self.date_format


def load_mapping(path: str | Path, *, departments: set[str], sites: set[str]) -> Mapping:
    """Read and check the mapping file against the inventory's department and site ids."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise HrImportError([Problem("hr.mapping", f"mapping file {path} does not exist",
                                     "pass the YAML file that maps the export's columns (see "
                                     "telework.onboarding.hr_mapping)")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise HrImportError([Problem("hr.mapping", f"cannot read {path}: {exc}", "save it as UTF-8",
                                     file=path)]) from None
    try:
        data = parse_yaml(text)
        node = compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise HrImportError([Problem("hr.mapping", f"YAML syntax error: {getattr(exc, 'problem', exc)}",
                                     "fix the YAML at this line", file=path,
                                     line=mark.line + 1 if mark else None)]) from None
    if not isinstance(data, dict):
        raise HrImportError([Problem("hr.mapping", "the mapping file must be a mapping with fields:, "
                                     "departments: and sites:", "start from the example in "
                                     "telework.onboarding.hr_mapping", file=path, line=1)])
    problems = [Problem("hr.mapping", f"{section}: HR code {code!r} is not in quotes",
                        f"write it as \"{code}\" (unquoted numbers lose leading zeros, 010 even reads as 8)",
                        file=path, line=_line(node, (section, str(code))))
                for section in ("departments", "sites") if isinstance(data.get(section), dict)
                for code in data[section] if not isinstance(code, str)]
    if problems:
        raise HrImportError(problems)
    try:
        mapping = Mapping.model_validate(data)
    except ValidationError as exc:
        found = [_problem(path, node, err) for err in exc.errors(include_url=False)]
        raise HrImportError(list(dict.fromkeys(found))) from None
    mapping._path = path
    for section, known, what in (("departments", departments, "department"), ("sites", sites, "site")):
        for code, target in getattr(mapping, section).items():
            if target is not None and target not in known:
                near = difflib.get_close_matches(target, sorted(known), n=1)
                fix = f"use {near[0]!r}" if near else f"use one of the inventory's {what} ids"
                problems.append(Problem("hr.mapping", f"{section}.{code}: {target!r} is not a {what} of the "
                                        f"inventory", f"{fix}, or null to leave these people out", file=path,
                                        line=_line(node, (section, code))))
    for name in DATE_FIELDS:
        fmt = mapping.date_format_of(name)
        if fmt not in NAMED_DATE_FORMATS and "%" not in fmt:
            problems.append(Problem("hr.mapping", f"date format {fmt!r} of {name} has no % field",
                                    "write a strftime pattern such as %d.%m.%Y, or generalized-time or "
                                    "ad-filetime", file=path, line=_line(node, ("fields", name))))
    if problems:
        raise HrImportError(problems)
    return mapping


def _problem(path: Path, node: yaml.Node | None, err: dict) -> Problem:
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p in ("str", "FieldSpec")))
    dotted = ".".join(str(p) for p in loc)
    kind = err["type"]
    if kind == "extra_forbidden":
        message, fix = f"unknown key {dotted!r}", "remove it or correct the spelling"
    elif kind == "missing":
        fix = f"add it (required fields: {', '.join(FIELDS_REQUIRED)})" if loc[:1] == ("fields",) else "add it"
        message = f"{dotted} is missing"
    else:
        message = f"{dotted}: {err['msg'].removeprefix('Value error, ')}"
        expected = (err.get("ctx") or {}).get("expected")
        fix = f"use one of {expected}" if expected else "see the example in telework.onboarding.hr_mapping"
    return Problem("hr.mapping", message, fix, file=path, line=_line(node, loc))


def _line(node: yaml.Node | None, path: tuple[Any, ...]) -> int | None:
    """1-based line of the deepest node along `path` (a key that is missing: its parent)."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in path:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if key.value == str(part):
                    line, node = key.start_mark.line + 1, value
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line
