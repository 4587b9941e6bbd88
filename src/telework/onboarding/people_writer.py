"""Writing an accepted HR change set into the inventory's people files, as a reviewable diff.

People files hold one person a line (`- {username: ..., name: ..., ...}`), sorted by username,
with comments above. The writer edits text, not data: a changed value is replaced where it
stands, a new key (`status: suspended`) is inserted in the model's key order, a joiner is a
new line at its sorted place in the file of its site, a site move takes the line to the other
site's file. Every untouched line keeps its bytes, so `git diff` shows exactly the change.
(Block-style entries are edited the same way, key by key.)

Before anything is written, each edited file is parsed again and compared with the people it
must now hold; any difference, or a change that no longer fits the inventory (a person gone,
a username taken since the proposal), writes nothing. Files are replaced atomically, keeping
their mode; access/personnel.yml gets the change set's new links.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from telework.core.atomicfile import write_atomic
from telework.core.problems import Problem, TeleworkError
from telework.inventory.loading import require_inventory
from telework.inventory.source import compose, parse_yaml
from telework.onboarding.hr_import import ChangeSet
from telework.onboarding.hr_links import links_path, load_links, render_links
from telework.onboarding.hr_mapping import HrImportError

#: Key order of a person (telework.inventory.model.Person): inserted keys go to their place in it.
FIELD_ORDER = ("username", "name", "department", "site", "status", "vpn", "extra_access", "phone",
               "vpn_address", "email")
_PLAIN = re.compile(r"^[^\s\-?:,\[\]{}#&*!|>'\"%@`][^,\[\]{}#:'\"\n]*$")


class PeopleWriterError(TeleworkError):
    """The people files cannot be edited safely; nothing was written."""


def format_scalar(value: str | bool) -> str:
    """A value as it reads in a flow mapping: plain where YAML reads it back as the same text
    (Jürgen Müller, sozialamt), else double-quoted."""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    if text == text.strip() and _PLAIN.match(text) and " #" not in text:
        try:
            if parse_yaml("{k: " + text + "}") == {"k": text}:
                return text
        except yaml.YAMLError:
            pass
    return json.dumps(text, ensure_ascii=False)


def apply_changes(inventory_dir: str | Path, changes: ChangeSet) -> list[Path]:
    """Write `changes` into the people files of `inventory_dir` (and the new personnel-number
    links into access/personnel.yml); returns the files written, in path order."""
    root = Path(inventory_dir)
    loaded = require_inventory(root)
    people = {p.username: p for p in loaded.model.people}
    site_names = {s.id: s.name for s in loaded.model.sites}
    _check_fits(root, changes, people, site_names)

    files: dict[Path, _PeopleFile] = {}
    home: dict[str, Path] = {}
    for origin in loaded.source.item_origins.get("people", []):
        path = origin.source.path
        if path not in files:
            files[path] = _PeopleFile.read(path)
    for pf in files.values():
        for item in pf.items:
            home[item.username] = pf.path

    edits: dict[str, dict[str, str | bool]] = {}
    for update in changes.updates:
        edits.setdefault(update.username, {}).update({c.field: c.new for c in update.changes})
    for suspension in changes.suspensions:
        edits.setdefault(suspension.username, {})["status"] = "suspended"

    site_file = _site_files(files, people)
    schema_line = next((pf.schema_line for pf in files.values() if pf.schema_line), None)

    def file_of(site: str) -> _PeopleFile:
        path = site_file.get(site)
        if path is None:
            path = root / "people" / f"{site}.yml"
            if path in files:
                return files[path]
            if path.exists():
                raise PeopleWriterError(f"{path} exists but holds no people: add `people:` to it, or move "
                                        f"its content, then apply again")
            files[path] = _PeopleFile.new(path, site_names[site], schema_line)
            site_file[site] = path
        return files[path]

    for username, values in sorted(edits.items()):
        source = files[home[username]]
        item = source.item(username)
        text = _edit_item("".join(item.lines), values)
        moved_to = values.get("site")
        if moved_to is not None and file_of(str(moved_to)) is not source:
            target = file_of(str(moved_to))
            source.remove(username)
            target.insert(username, _reindent(text, item.indent, target.indent))
        else:
            item.lines = text.splitlines(keepends=True)
            item.data.update(values)
    for joiner in changes.joiners:
        target = file_of(joiner.site)
        values: dict[str, str | bool] = {"username": joiner.username, "name": joiner.name,
                                         "department": joiner.department, "site": joiner.site, "vpn": joiner.vpn}
        if joiner.email:
            values["email"] = joiner.email
        line = " " * target.indent + "- {" + ", ".join(f"{k}: {format_scalar(v)}" for k, v in values.items()) + "}\n"
        target.insert(joiner.username, line, data=dict(values))

    written: dict[Path, str] = {}
    for pf in files.values():
        if pf.changed:
            text = pf.text()
            pf.verify(text)
            written[pf.path] = text
    links = load_links(root)
    merged = {**links, **changes.links}
    if merged != links:
        written[links_path(root)] = render_links(merged)
    for path in sorted(written):
        try:
            write_atomic(path, written[path])
        except OSError as exc:
            raise PeopleWriterError(f"cannot write {path}: {exc.strerror}; files before it in "
                                    f"{', '.join(str(p) for p in sorted(written))} are written: "
                                    f"restore them with git checkout") from None
    return sorted(written)


def _check_fits(root: Path, changes: ChangeSet, people: dict, site_names: dict) -> None:
    """The change set still fits the inventory as it is now (it may have changed since)."""
    problems = []
    for username in [u.username for u in changes.updates] + [s.username for s in changes.suspensions]:
        if username not in people:
            problems.append(Problem("hr.apply", f"{username} is no longer in the inventory",
                                    "propose the import again"))
    for joiner in changes.joiners:
        if joiner.username in people:
            problems.append(Problem("hr.apply", f"joiner {joiner.username} is already in the inventory",
                                    "propose the import again"))
        if joiner.site not in site_names:
            problems.append(Problem("hr.apply", f"joiner {joiner.username}: site {joiner.site} is not in the "
                                    f"inventory", "propose the import again"))
    for update in changes.updates:
        site = update.get("site")
        if site is not None and site.new not in site_names:
            problems.append(Problem("hr.apply", f"{update.username}: site {site.new} is not in the inventory",
                                    "propose the import again"))
    if problems:
        raise HrImportError(problems)


def _site_files(files: dict[Path, _PeopleFile], people: dict) -> dict[str, Path]:
    """site -> the people file where most of its people are (ties: the first file)."""
    counts: dict[str, dict[Path, int]] = {}
    for path, pf in files.items():
        for item in pf.items:
            person = people.get(item.username)
            if person is not None:
                counts.setdefault(person.site, {}).setdefault(path, 0)
                counts[person.site][path] += 1
    return {site: max(sorted(by_file), key=lambda p: by_file[p]) for site, by_file in counts.items()}


# ---------------------------------------------------------------- one file


@dataclass
class _Item:
    username: str
    lines: list[str]
    indent: int  # column of its "-"
    data: dict  # the item as parsed, updated as it is edited


@dataclass
class _PeopleFile:
    """A people file as segments: text before, between and after the items, and the items."""

    path: Path
    original: str
    segments: list[list[str] | _Item]
    indent: int
    expected_rest: dict  # every other section of the file, which must not change
    schema_line: str | None
    changed: bool = False

    @classmethod
    def read(cls, path: Path) -> _PeopleFile:
        text = path.read_text(encoding="utf-8")
        node = compose(text)
        data = parse_yaml(text) or {}
        sequence = _people_node(node)
        if sequence is None:
            raise PeopleWriterError(f"{path}: no `people:` list found")
        if sequence.flow_style:
            raise PeopleWriterError(f"{path}:{sequence.start_mark.line + 1}: the people are one flow list "
                                    f"([...]); write one person a line (`  - {{username: ...}}`) so the "
                                    f"import can edit it")
        lines = text.splitlines(keepends=True)
        if lines and not lines[-1].endswith("\n"):
            lines[-1] += "\n"
        segments: list[list[str] | _Item] = []
        at = 0
        raw_people = data.get("people") or []
        for node_item, raw in zip(sequence.value, raw_people):
            first, last = node_item.start_mark.line, _last_line(node_item)
            segments.append(lines[at:first])
            username = raw.get("username") if isinstance(raw, dict) else None
            if not isinstance(username, str):
                raise PeopleWriterError(f"{path}:{first + 1}: a person without a username; fix it first")
            segments.append(_Item(username, lines[first:last + 1], _dash_column(lines[first]), dict(raw)))
            at = last + 1
        segments.append(lines[at:])
        items = [s for s in segments if isinstance(s, _Item)]
        indent = items[0].indent if items else 2
        rest = {k: v for k, v in data.items() if k != "people"}
        schema = next((line for line in lines[:10] if line.startswith("# yaml-language-server:")), None)
        return cls(path, text, segments, indent, rest, schema)

    @classmethod
    def new(cls, path: Path, site_name: str, schema_line: str | None) -> _PeopleFile:
        header = [f"# People based at {site_name}, one a line, sorted by username.\n"]
        if schema_line:
            header.append(schema_line)
        header += ["\n", "people:\n"]
        return cls(path, "", [header, []], 2, {}, schema_line, changed=True)

    @property
    def items(self) -> list[_Item]:
        return [s for s in self.segments if isinstance(s, _Item)]

    def item(self, username: str) -> _Item:
        found = next((i for i in self.items if i.username == username), None)
        if found is None:
            raise PeopleWriterError(f"{self.path}: {username} not found")
        self.changed = True
        return found

    def remove(self, username: str) -> None:
        self.segments = [s for s in self.segments if not (isinstance(s, _Item) and s.username == username)]
        self.changed = True

    def insert(self, username: str, text: str, data: dict | None = None) -> None:
        """At its sorted place when the file is sorted by username, else after the last person."""
        item = _Item(username, text.splitlines(keepends=True), self.indent,
                     data if data is not None else dict(parse_yaml(text)[0]))
        names = [i.username for i in self.items]
        positions = [n for n, s in enumerate(self.segments) if isinstance(s, _Item)]
        if not positions:
            self.segments.insert(len(self.segments) - 1, item)
        elif names == sorted(names):
            later = next((p for p, name in zip(positions, names) if name > username), None)
            self.segments.insert(later if later is not None else positions[-1] + 1, item)
        else:
            self.segments.insert(positions[-1] + 1, item)
        self.changed = True

    def text(self) -> str:
        out = []
        for segment in self.segments:
            out.extend(segment.lines if isinstance(segment, _Item) else segment)
        return "".join(out)

    def verify(self, text: str) -> None:
        """The new text reads back as exactly the people and sections it must hold."""
        try:
            data = parse_yaml(text) or {}
        except yaml.YAMLError as exc:
            raise PeopleWriterError(f"{self.path}: the edited file is not valid YAML ({exc}); nothing was "
                                    f"written") from None
        expected = [i.data for i in self.items]
        got = data.get("people") or []
        rest = {k: v for k, v in data.items() if k != "people"}
        if got != expected or rest != self.expected_rest:
            wrong = next((f"{e.get('username')}" for e, g in zip(expected, got) if e != g), "the number of people")
            raise PeopleWriterError(f"{self.path}: the edit would not give the expected people (first "
                                    f"difference: {wrong}); nothing was written")


def _people_node(root: yaml.Node | None) -> yaml.SequenceNode | None:
    if isinstance(root, yaml.MappingNode):
        for key, value in root.value:
            if key.value == "people" and isinstance(value, yaml.SequenceNode):
                return value
    return None


def _dash_column(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _last_line(node: yaml.Node) -> int:
    """0-based line of the last character of `node` (block nodes end where the next token starts)."""
    if isinstance(node, yaml.MappingNode) and not node.flow_style and node.value:
        return _last_line(node.value[-1][1])
    if isinstance(node, yaml.SequenceNode) and not node.flow_style and node.value:
        return _last_line(node.value[-1])
    end = node.end_mark
    if isinstance(node, yaml.ScalarNode) and node.style in ("|", ">") and end.column == 0:
        return end.line - 1
    return end.line


# ---------------------------------------------------------------- one item


def _edit_item(snippet: str, values: dict[str, str | bool]) -> str:
    """The item's text with `values` set: existing scalars replaced where they stand, new keys
    inserted in FIELD_ORDER. Positions come from PyYAML's pure-Python reader (exact offsets)."""
    root = yaml.compose(snippet, Loader=yaml.SafeLoader)
    if not isinstance(root, yaml.SequenceNode) or len(root.value) != 1 or \
            not isinstance(root.value[0], yaml.MappingNode):
        raise PeopleWriterError(f"cannot edit the entry {snippet.strip()[:60]!r}: not one mapping")
    mapping = root.value[0]
    keys = {k.value: (k, v) for k, v in mapping.value}
    edits: list[tuple[int, int, str]] = []
    for name, value in values.items():
        rendered = format_scalar(value)
        if name in keys:
            node = keys[name][1]
            if not isinstance(node, yaml.ScalarNode):
                raise PeopleWriterError(f"cannot set {name} of {snippet.strip()[:60]!r}: it is not a single value")
            edits.append((node.start_mark.index, node.end_mark.index, rendered))
            continue
        before = [k for k in FIELD_ORDER[:FIELD_ORDER.index(name)] if k in keys] if name in FIELD_ORDER else list(keys)
        anchor = keys[before[-1]] if before else keys[next(iter(keys))]
        if mapping.flow_style:
            at = _end_index(anchor[1], snippet)
            edits.append((at, at, f", {name}: {rendered}"))
        else:
            at = snippet.find("\n", _end_index(anchor[1], snippet))
            at = len(snippet.rstrip("\n")) if at == -1 else at
            column = anchor[0].start_mark.column
            edits.append((at, at, "\n" + " " * column + f"{name}: {rendered}"))
    out = snippet
    for start, end, text in sorted(edits, reverse=True):
        out = out[:start] + text + out[end:]
    return out


def _end_index(node: yaml.Node, snippet: str) -> int:
    """Offset just after `node`'s last character (block nodes: after their last scalar)."""
    if isinstance(node, yaml.MappingNode) and not node.flow_style and node.value:
        return _end_index(node.value[-1][1], snippet)
    if isinstance(node, yaml.SequenceNode) and not node.flow_style and node.value:
        return _end_index(node.value[-1], snippet)
    return node.end_mark.index


def _reindent(text: str, old: int, new: int) -> str:
    if old == new:
        return text
    lines = text.splitlines(keepends=True)
    if new > old:
        return "".join(" " * (new - old) + line for line in lines)
    cut = old - new
    return "".join(line[cut:] if line[:cut].strip() == "" else line for line in lines)
