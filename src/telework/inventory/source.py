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

from telework.core.problems import Problem
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

    def construct_mapping(self, node, deep=False):
        seen: set = set()
        for key_node, _ in node.value:
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
            node = node.value[origin.index] if node is not None else None
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
            elif entry.is_file() and is_section_file(rel):
                files.append(path)

    walk(Path(root), PurePosixPath(), frozenset({str(top)}))
    return sorted(files), problems


def _is_dir(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def load_source(root: Path) -> tuple[InventorySource, list[Problem]]:
    """Parse every section file of `root`; YAML and merge problems are returned, not raised."""
    if not root.is_dir():
        problem = Problem("inventory.missing", f"inventory directory {root} does not exist",
                          "pass the directory holding the inventory's YAML files")
        return InventorySource(root=root), [problem]
    files, refused = scan_inventory(root)
    source, problems = load_texts(root, ((path, path.read_text(encoding="utf-8")) for path in files))
    return source, refused + problems


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
    loader.duplicate_keys = []
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problems.append(Problem("yaml.syntax", f"YAML syntax error: {exc.problem}",
                                "fix the YAML syntax at this line", file=rel,
                                line=mark.line + 1 if mark else None))
        return
    except UnicodeDecodeError:
        problems.append(Problem("yaml.encoding", "file is not UTF-8", "save the file as UTF-8", file=rel))
        return
    finally:
        loader.dispose()
    for key, line in loader.duplicate_keys:
        problems.append(Problem("yaml.duplicate_key", f"key '{key}' appears twice in one mapping",
                                "remove or rename one of them", file=rel, line=line))
    _add_data(source, SourceFile(path, node=node, text=text), data, problems)


def _add_data(source: InventorySource, sf: SourceFile, data, problems: list[Problem]) -> None:
    rel = source.relative(sf.path)
    source.files.append(sf)
    if data is None:
        return
    if not isinstance(data, dict):
        problems.append(Problem("yaml.shape", "an inventory file must be a mapping of sections",
                                "start the file with section keys such as 'people:'", file=rel, line=1))
        return
    for section, value in data.items():
        _merge(source, sf, str(section), value, problems)


def parse_yaml(text: str):
    """One YAML document read the way inventory files are read (YAML 1.2 booleans, libyaml)."""
    loader = _Loader(text)
    loader.duplicate_keys = []
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def _merge(source: InventorySource, sf: SourceFile, section: str, value, problems: list[Problem]) -> None:
    rel = source.relative(sf.path)
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
