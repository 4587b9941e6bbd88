"""Reading the inventory's YAML files while remembering where every value came from.

An inventory is several files (as ops keep them: people per site, endpoints per kind).
Each file holds top-level sections; list sections may be split across files and are
concatenated in file order. Any value can be traced back to its file and line when a check
needs to report it: this module is the one place that knows about positions.

Reading is done twice over, for speed: `telework.inventory.yamlfast` reads the common case (about
ten times faster than PyYAML, same meaning, no positions); a file it is not sure about is
read by PyYAML (`_Loader`), which reports syntax errors and duplicate keys with their lines.
PyYAML's node tree of a file, which holds the lines, is composed only when a problem in that
file is located (`SourceFile.node`): a valid inventory of 50,000 people never needs one.

Nothing outside the inventory directory is read: a symbolic link (to a file or a directory)
whose target lies outside it is refused by its name, without being opened or followed, so a
branch adding `people/x.yml -> /etc/shadow` gets one error naming `people/x.yml` and nothing of
the file it points at.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import yaml

from telework.core.problems import Problem, Severity
from telework.inventory import yamlfast

try:  # libyaml's parser is several times faster on large inventories
    _BaseLoader = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _BaseLoader = yaml.SafeLoader

#: Files in an inventory directory that are not inventory sections.
NOT_SECTIONS = {"allocations.yml"}
#: Sub-directories that hold no section files (pki/ and access/ are written by `telework pki`
#: and `telework person`: issued certificates and revocations, see telework.roles.vpn.pki and .revocations).
NOT_SECTION_DIRS = {"secrets", "runs", "group_data", ".git", "pki", "access"}


class _Loader(_BaseLoader):
    """Safe loader that reports duplicate mapping keys instead of silently keeping the last."""

    duplicate_keys: list[tuple[str, int]]
    #: plain scalars such as 0640 (YAML 1.1 octal) with their line
    octals: list[tuple[str, int]]

    def __init__(self, stream) -> None:
        super().__init__(stream)
        self.duplicate_keys = []
        self.octals = []

    def construct_mapping(self, node, deep=False):
        seen: set = set()
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                continue  # a list or mapping as key: PyYAML refuses it with its line
            key = key_node.value
            if key in seen:
                self.duplicate_keys.append((key, key_node.start_mark.line + 1))
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


# YAML 1.1 reads `0600` as octal and `yes` as true: file modes and flags must be
# written explicitly, so only the YAML 1.2 core booleans are booleans here.
# (Copy the resolver table first: it is shared with every other PyYAML loader.)
_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in _Loader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
#: YAML 1.1 reads `0640` as the octal number 416, YAML 1.2 as 640: neither is guessed, such a
#: plain scalar is reported (telework.inventory.source.YAML11_OCTAL) and kept as its text.
YAML11_OCTAL = "tag:telework,2026:yaml11-octal"
_Loader.yaml_implicit_resolvers = {
    first: [(YAML11_OCTAL, re.compile(r"^[-+]?0[0-7_]+$")), *resolvers] if first in "-+0" else resolvers
    for first, resolvers in _Loader.yaml_implicit_resolvers.items()
}


def _construct_octal(loader: _Loader, node: yaml.ScalarNode) -> str:
    loader.octals.append((node.value, node.start_mark.line + 1))
    return node.value


_Loader.add_constructor(YAML11_OCTAL, _construct_octal)


#: Plain scalars resolved as `_Loader` resolves them, for the fast reader.
_RESOLVER = yamlfast.Resolver(_Loader)
_UNSET = object()


class SourceFile:
    """One section file: its path, its text, and PyYAML's node tree of it (positions).

    The node tree is composed when first asked for, that is when a problem in this file is
    located; files read by PyYAML anyway keep the tree they were read with."""

    __slots__ = ("path", "text", "_node")

    def __init__(self, path: Path, node: yaml.Node | None | object = _UNSET, text: str = "") -> None:
        self.path = path
        self.text = text
        self._node = node

    @property
    def node(self) -> yaml.Node | None:
        if self._node is _UNSET:
            self._node = compose(self.text)
        return self._node  # type: ignore[return-value]

    def __repr__(self) -> str:
        return f"SourceFile({str(self.path)!r})"


def compose(text: str) -> yaml.Node | None:
    """PyYAML's node tree of a document (None when empty), with the line of every node."""
    loader = _Loader(text)
    try:
        return loader.get_single_node()
    finally:
        loader.dispose()


@dataclass(slots=True)
class ItemOrigin:
    """Where a list item of a merged section came from."""

    source: SourceFile
    index: int


@dataclass
class InventorySource:
    """The merged raw data of an inventory plus the means to locate any value in it."""

    root: Path
    data: dict = field(default_factory=dict)
    files: list[SourceFile] = field(default_factory=list)
    #: section name -> file holding it (mapping sections) or origin per item (list sections)
    section_files: dict[str, SourceFile] = field(default_factory=dict)
    item_origins: dict[str, list[ItemOrigin]] = field(default_factory=dict)

    def relative(self, path: Path) -> Path:
        try:
            return path.relative_to(Path.cwd())
        except ValueError:
            return path

    def locate(self, path: tuple) -> tuple[Path | None, int | None]:
        """File and 1-based line of the value at `path` (section, index, key, ...)."""
        if not path:
            return None, None
        section, rest = path[0], list(path[1:])
        if section in self.item_origins:
            if not rest or not isinstance(rest[0], int) or rest[0] >= len(self.item_origins[section]):
                origin = self.item_origins[section][0] if self.item_origins[section] else None
                if origin is None:
                    return None, None
                return self.relative(origin.source.path), _key_line(origin.source.node, section)
            origin = self.item_origins[section][rest[0]]
            node = _section_node(origin.source.node, section)
            if isinstance(node, yaml.SequenceNode) and origin.index < len(node.value):
                node = node.value[origin.index]
            # else: the file's node tree does not hold the item where the data has it (a key twice):
            # the section's own line is the best place to name
            return self.relative(origin.source.path), _descend(node, rest[1:])
        source = self.section_files.get(section)
        if source is None:
            return None, None
        node = _section_node(source.node, section)
        line = _descend(node, rest) if rest else _key_line(source.node, section)
        return self.relative(source.path), line

    def problem(self, rule: str, path: tuple, message: str, fix: str = "", **kw) -> Problem:
        file, line = self.locate(path)
        return Problem(rule=rule, message=message, fix=fix, path=path, file=file, line=line, **kw)


def _key_line(mapping: yaml.Node | None, key: str) -> int | None:
    if isinstance(mapping, yaml.MappingNode):
        for key_node, _ in mapping.value:
            if key_node.value == key:
                return key_node.start_mark.line + 1
    return None


def _section_node(root: yaml.Node | None, section: str) -> yaml.Node | None:
    if isinstance(root, yaml.MappingNode):
        for key_node, value in root.value:
            if key_node.value == section:
                return value
    return None


def _descend(node: yaml.Node | None, rest: list) -> int | None:
    """Line of the deepest node reachable along `rest` (a missing key points at its parent)."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in rest:
        if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        elif isinstance(node, yaml.MappingNode):
            for key_node, value in node.value:
                if key_node.value == str(part):
                    line = key_node.start_mark.line + 1
                    node = value
                    break
            else:
                return line
        else:
            return line
    return line


def is_section_file(rel: PurePosixPath | Path) -> bool:
    """Whether the file at `rel` (relative to the inventory root) holds inventory sections.

    One rule for a directory on disk and for a tree in git (`telework audit` reads past
    commits without a checkout), so both see the same files."""
    parts = PurePosixPath(*Path(rel).parts)
    if parts.suffix not in (".yml", ".yaml") or not parts.parts:
        return False
    return parts.parts[0] not in NOT_SECTION_DIRS and str(parts) not in NOT_SECTIONS


def section_files(root: Path) -> list[Path]:
    """The inventory's section files, in a stable order (path order); links leading out of the
    inventory are left out (`scan_inventory` reports them)."""
    return scan_inventory(root)[0]


def scan_inventory(root: Path) -> tuple[list[Path], list[Problem]]:
    """(section files in path order, a problem per symbolic link that leaves the inventory).

    Every link below `root` (but .git/) is judged, not only section files: allocations.yml, pki/,
    secrets/ and access/ are read by other parts of telework (a pki/ca.crt linking to
    /etc/shadow would be uploaded and shown in a plan diff), and a loaded inventory is where
    every command starts. Links are judged by where they point (`os.path.realpath`, which reads
    links, never the files): one whose target is outside `root` is neither opened nor followed.
    Links inside the inventory are followed once (a loop of links is not walked twice)."""
    top = Path(os.path.realpath(root))
    files: list[Path] = []
    problems: list[Problem] = []

    def walk(directory: Path, rel_dir: PurePosixPath, seen: frozenset[str]) -> None:
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError:
            return
        for entry in entries:
            path, rel = Path(entry.path), rel_dir / entry.name
            if entry.is_symlink():
                target = os.path.realpath(entry.path)
                if not (target == str(top) or target.startswith(str(top) + os.sep)):
                    problems.append(Problem(
                        "inventory.link_outside", "a symbolic link leading out of the inventory directory: "
                        "telework neither opens nor follows it",
                        "replace the link by the file (or directory) itself, or remove it", file=Path(rel)))
                    continue
            if _is_dir(entry):
                if not rel_dir.parts and entry.name == ".git":
                    continue
                real = os.path.realpath(entry.path)
                if real not in seen:
                    walk(path, rel, seen | {real})
            elif _is_file(entry) and is_section_file(rel):
                files.append(path)

    walk(Path(root), PurePosixPath(), frozenset({str(top)}))
    return sorted(files), problems


def _is_dir(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def _is_file(entry: os.DirEntry) -> bool:
    """False for what cannot be stat'ed: a link to itself (ELOOP) is reported by
    telework.inventory.symlinks, not read."""
    try:
        return entry.is_file()
    except OSError:
        return False


def load_source(root: Path) -> tuple[InventorySource, list[Problem]]:
    """Parse every section file of `root`; YAML and merge problems are returned, not raised."""
    if not root.is_dir():
        problem = Problem("inventory.missing", f"inventory directory {root} does not exist",
                          "pass the directory holding the inventory's YAML files")
        return InventorySource(root=root), [problem]
    files, problems = scan_inventory(root)
    texts = []
    for path in files:
        text = read_text(path, source_relative(path), problems)
        if text is not None:
            texts.append((path, text))
    source, more = load_texts(root, texts)
    return source, problems + more


def source_relative(path: Path) -> Path:
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return path


def read_text(path: Path, shown: Path, problems: list[Problem]) -> str | None:
    """The text of a section file, or None with a problem naming the byte that is not UTF-8."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        problems.append(Problem("inventory.unreadable", f"cannot read the file: {exc.strerror}",
                                "make it readable for the user running telework", file=shown))
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        problems.append(decode_problem(raw, exc, shown))
        return None


def decode_problem(raw: bytes, exc: UnicodeDecodeError, shown: Path) -> Problem:
    """Where the first byte that is not UTF-8 is, and what it probably was (Windows-1252)."""
    line = raw.count(b"\n", 0, exc.start) + 1
    column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
    byte = raw[exc.start]
    guess = bytes([byte]).decode("cp1252", errors="replace")
    was = f" ('{guess}' in Windows-1252/Latin-1)" if guess.isprintable() and guess != "\ufffd" else ""
    return Problem("yaml.encoding", f"byte 0x{byte:02X} at column {column} is not UTF-8{was}",
                   f"save the file as UTF-8 (iconv -f windows-1252 -t utf-8 {shown.name})",
                   file=shown, line=line)


def load_texts(root: Path, files: Iterable[tuple[Path, str]]) -> tuple[InventorySource, list[Problem]]:
    """Parse section files given as (path, text), in the order given (path order).

    `load_source` feeds it the files of a directory; `telework audit` feeds it blobs of a
    past commit read from git, so an old inventory is parsed exactly as a current one."""
    source = InventorySource(root=root)
    problems: list[Problem] = []
    for path, text in files:
        _add_file(source, path, text, problems)
    return source, problems


def _add_file(source: InventorySource, path: Path, text: str, problems: list[Problem]) -> None:
    try:
        data = yamlfast.load(text, _RESOLVER)
    except yamlfast.NotCommon:
        _add_file_pyyaml(source, path, text, problems)
        return
    _add_data(source, SourceFile(path, text=text), data, problems)


def _add_file_pyyaml(source: InventorySource, path: Path, text: str, problems: list[Problem]) -> None:
    """PyYAML's reading of a file: syntax errors and duplicate keys are reported with their line."""
    rel = source.relative(path)
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        problems.append(syntax_problem(text, exc, rel))
        return
    except yaml.reader.ReaderError as exc:
        problems.append(control_character_problem(text, exc, rel))
        return
    finally:
        loader.dispose()
    for key, line in loader.duplicate_keys:
        problems.append(Problem("yaml.duplicate_key", f"key '{key}' appears twice in one mapping",
                                "remove or rename one of them", file=rel, line=line))
    for value, line in loader.octals:
        digits = value.lstrip("+-").lstrip("0").replace("_", "") or "0"
        problems.append(Problem(
            "yaml.octal", f"{value} is a YAML 1.1 octal number (read as {int(value.replace('_', ''), 8)} by some "
            "tools, as " + digits + " by others); telework does not guess",
            f"write {digits} for the number, or '{value}' in quotes for text such as a file mode",
            file=rel, line=line))
    _add_data(source, SourceFile(path, node=node, text=text), data, problems)


#: what YAML's reader refuses (its `check_printable`)
_NOT_PRINTABLE = re.compile("[^\x09\x0A\x0D\x20-\x7E\x85\xA0-\uD7FF\uE000-\uFFFD\U00010000-\U0010ffff]")


def control_character_problem(text: str, exc: yaml.reader.ReaderError, rel: Path) -> Problem:
    """A character YAML does not allow (NUL, other control characters), with its line and column."""
    # libyaml counts bytes, PyYAML characters: find the character itself
    found = _NOT_PRINTABLE.search(text)
    position = found.start() if found else (exc.position if isinstance(exc.position, int) else 0)
    line = text.count("\n", 0, position) + 1
    column = position - (text.rfind("\n", 0, position) + 1) + 1
    code = ord(found.group()) if found else (exc.character if isinstance(exc.character, int) else 0)
    return Problem("yaml.syntax", f"control character U+{code:04X} at column {column}: YAML files hold no "
                   "control characters", "delete it (it often comes with text copied out of another program)",
                   file=rel, line=line)


def syntax_problem(text: str, exc: yaml.MarkedYAMLError, rel: Path) -> Problem:
    """A YAML syntax error named by the character at its place, with the usual fix."""
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark else None
    lines = text.splitlines()
    row = lines[mark.line] if mark and mark.line < len(lines) else ""
    char = row[mark.column] if mark and mark.column < len(row) else ""
    problem = str(exc.problem or "")
    if "\t" in row[: (mark.column + 1) if mark else 0] or (char == "\t"):
        column = row.index("\t") + 1
        return Problem("yaml.syntax", f"a tab character at column {column}: YAML indents with spaces only",
                       "replace the tab with spaces (the same indentation as the lines around it)",
                       file=rel, line=line)
    if "cannot start any token" in problem and char:
        return Problem("yaml.syntax", f"YAML syntax error: a plain value cannot start with {char!r} "
                       f"(column {mark.column + 1})", f"quote the value: \"{row[mark.column:].strip()}\"",
                       file=rel, line=line)
    if "mapping values are not allowed" in problem:
        return Problem("yaml.syntax", "YAML syntax error: a second ': ' in a value", "quote the value that "
                       "contains ': ' (key: \"a: b\")", file=rel, line=line)
    if "did not find expected" in problem and exc.context and "flow" in exc.context:
        return Problem("yaml.syntax", f"YAML syntax error: {problem} {exc.context}",
                       "close every '[' with ']' and '{' with '}' on the same entry", file=rel, line=line)
    context = f" ({exc.context})" if exc.context else ""
    return Problem("yaml.syntax", f"YAML syntax error: {problem}{context}",
                   "check the indentation and quoting at this line and the one before", file=rel, line=line)


def _add_data(source: InventorySource, sf: SourceFile, data, problems: list[Problem]) -> None:
    rel = source.relative(sf.path)
    source.files.append(sf)
    if data is None:
        problems.append(Problem("inventory.empty_file", "the file holds no sections (it is empty)",
                                f"restore its content (git checkout -- {rel}) or delete the file", file=rel,
                                severity=Severity.WARNING))
        return
    if not isinstance(data, dict):
        problems.append(Problem("yaml.shape", "an inventory file must be a mapping of sections",
                                "start the file with section keys such as 'people:'", file=rel, line=1))
        return
    for section, value in data.items():
        _merge(source, sf, str(section), value, problems)


def _list_sections() -> dict[str, str]:
    from telework.inventory.model import LIST_SECTIONS

    return LIST_SECTIONS


def parse_yaml(text: str):
    """One YAML document read the way inventory files are read (YAML 1.2 booleans, libyaml)."""
    loader = _Loader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def _merge(source: InventorySource, sf: SourceFile, section: str, value, problems: list[Problem]) -> None:
    rel = source.relative(sf.path)
    if not isinstance(value, list) and section in _list_sections():
        line = _key_line(sf.node, section)
        if value is None:
            problems.append(Problem(
                "inventory.empty_section", f"section '{section}' is empty",
                f"add its entries as '- ...' lines below '{section}:', or delete the line", file=rel, line=line,
                severity=Severity.WARNING))
        else:
            problems.append(Problem(
                "inventory.section_shape", f"section '{section}' must be a list of entries, not a "
                f"{'mapping' if isinstance(value, dict) else 'single value'}",
                f"write each entry as a list item: '  - {{{_list_sections().get(section, 'name')}: ...}}'",
                file=rel, line=line))
        return
    if isinstance(value, list):
        if section in source.section_files:
            problems.append(Problem("inventory.section_kind", f"section '{section}' is a list here but a mapping in "
                                    f"{source.relative(source.section_files[section].path)}",
                                    "use one shape for the section", file=rel, line=_key_line(sf.node, section)))
            return
        source.data.setdefault(section, []).extend(value)
        source.item_origins.setdefault(section, []).extend(ItemOrigin(sf, i) for i in range(len(value)))
        return
    if section in source.data:
        other = source.section_files.get(section)
        where = source.relative(other.path) if other else "another file"
        problems.append(Problem("inventory.section_twice", f"section '{section}' is also defined in {where}",
                                "keep each mapping section in one file", file=rel, line=_key_line(sf.node, section)))
        return
    source.data[section] = value
    source.section_files[section] = sf
