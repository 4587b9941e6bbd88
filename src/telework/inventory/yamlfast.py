"""Reading inventory YAML fast in the common case: rapidyaml's C++ parser, PyYAML's meaning.

`telework.inventory.source` reads every section file through `load()` first. It returns the data
exactly as yamlsource's PyYAML loader would construct it (YAML 1.1 scalars as PyYAML resolves
them, only true/false as booleans), or raises `NotCommon` when the file is outside the common
subset this reader is sure about:

* it does not parse, or holds more than one document;
* anchors, aliases, tags, merge keys (`<<`) or the value key (`=`);
* a mapping key that is not a string (`1:`, `null:`, `[a, b]:`);
* a key twice in one mapping;
* a scalar PyYAML would fail to construct (`2026-13-45` read as a date).
* block scalars (`|`, `>`), flow collections over several lines, tabs, carriage returns,
  `?`, directives: valid YAML that rapidyaml reads differently from libyaml (`_divergent`).

yamlsource then reads that file with PyYAML, which reports errors and duplicate keys with
their line. Positions are not kept here at all: yamlsource composes PyYAML's node tree of a
file only when a problem in it needs a line (see `telework.inventory.source.SourceFile.node`).

Why rapidyaml: with libyaml's syntax check before it, it reads a generated inventory of
50,000 people several times faster than PyYAML's libyaml composer and Python resolver
(benchmarks/RESULTS.md), and it reports each scalar's style (plain or quoted), which deciding
the YAML 1.1 type of a scalar needs. Plain scalars are resolved with yamlsource's own resolver
table and constructed by PyYAML's SafeConstructor, so the two readers cannot disagree on what
`0600`, `2026-11-22` or `yes` mean.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import yaml
from yaml.constructor import SafeConstructor

try:
    from yaml._yaml import CParser as _LibyamlParser
except ImportError:  # pragma: no cover - PyYAML built without libyaml: no syntax check, no fast path
    _LibyamlParser = None
try:
    import ryml
except ImportError:  # pragma: no cover - rapidyaml is a dependency; without it every file takes PyYAML's path
    ryml = None

#: Resolved tags this reader constructs; anything else (merge, value, ...) is left to PyYAML.
_TAG = "tag:yaml.org,2002:"
_STR = _TAG + "str"
_CONSTRUCTED = {_TAG + kind for kind in ("null", "bool", "int", "float", "timestamp")}


class NotCommon(Exception):
    """The file needs PyYAML's reader: it is outside the common subset, or does not parse."""


if ryml is not None:
    _NONE = ryml.NONE
    _MAP, _SEQ, _VAL = ryml.MAP, ryml.SEQ, ryml.VAL
    _STREAM, _DOC = ryml.STREAM, ryml.DOC
    #: anchors, aliases and tags, on keys or values; block scalars; flow collections over several
    #: lines (rapidyaml keeps line breaks and comments in their plain scalars, libyaml does not)
    _SPECIAL = (ryml.KEYREF | ryml.VALREF | ryml.KEYANCH | ryml.VALANCH | ryml.KEYTAG | ryml.VALTAG
                | ryml.KEY_LITERAL | ryml.KEY_FOLDED | ryml.VAL_LITERAL | ryml.VAL_FOLDED | ryml.FLOW_ML)
    _KEY_PLAIN, _VAL_PLAIN = ryml.KEY_PLAIN, ryml.VAL_PLAIN
    _KEYQUO, _VALQUO = ryml.KEYQUO, ryml.VALQUO


def available() -> bool:
    """Whether the fast reader can be used (rapidyaml and PyYAML's libyaml binding are importable)."""
    return ryml is not None and _LibyamlParser is not None


#: Document markers with content on their line (`--- a`, `... b`), which rapidyaml reads
#: differently from libyaml.
_MARKER_WITH_CONTENT = re.compile(r"^(?:---|\.\.\.)[^\S\n]*[^\s#]", re.M)


def _divergent(text: str) -> bool:
    """Whether `text` holds what rapidyaml and libyaml read differently although both accept it
    (found by comparing the two on random documents, see tests/unit/test_yamlfast.py): tabs
    and carriage returns, `?` (explicit keys, also inside flow collections), directives, a
    document marker with content on its line, no final line break. Block scalars (`|`, `>`)
    and flow collections spanning lines differ too: the walker steps aside on rapidyaml's own
    style flags for those. Such files are rare in an inventory and are left to PyYAML."""
    if not text:
        return False
    if not text.endswith("\n") or "\t" in text or "\r" in text or "?" in text:
        return True
    if text.startswith("%") or "\n%" in text:
        return True
    if text.startswith(("---", "...")) or "\n---" in text or "\n..." in text:
        return _MARKER_WITH_CONTENT.search(text) is not None
    return False


class Resolver:
    """Plain scalar -> Python value, with the implicit resolvers of a PyYAML loader class.

    Equal plain scalars mean equal values, so each distinct one is resolved once per reader
    (an inventory repeats its department, site and ring names thousands of times)."""

    def __init__(self, loader_class: type) -> None:
        self._table: dict = loader_class.yaml_implicit_resolvers
        self._wildcard: list = self._table.get(None, [])
        self._constructor = SafeConstructor()
        self._cache: dict[str, object] = {}
        self._keys: dict[str, str] = {}

    def tag(self, value: str) -> str:
        """The tag PyYAML's BaseResolver.resolve gives a plain scalar (implicit, no explicit tag)."""
        resolvers = self._table.get(value[0] if value else "", [])
        for tag, regexp in (*resolvers, *self._wildcard):
            if regexp.match(value):
                return tag
        return _STR

    def value(self, text: str):
        try:
            return self._cache[text]
        except KeyError:
            pass
        tag = self.tag(text)
        if tag == _STR:
            result: object = text
        elif tag in _CONSTRUCTED:
            try:
                result = self._constructor.yaml_constructors[tag](self._constructor, yaml.ScalarNode(tag, text))
            except Exception as exc:  # PyYAML's reader raises the same, with the place
                raise NotCommon(f"{text!r} does not construct as {tag}") from exc
        else:
            raise NotCommon(f"plain scalar {text!r} resolves to {tag}")
        if len(self._cache) < 100_000:
            self._cache[text] = result
        return result

    def key(self, text: str) -> str:
        """A plain mapping key: only keys that stay strings are in the common subset."""
        try:
            return self._keys[text]
        except KeyError:
            pass
        if self.tag(text) != _STR:
            raise NotCommon(f"mapping key {text!r} is not a string")
        if len(self._keys) < 100_000:
            self._keys[text] = text
        return text


def load(text: str, resolver: Resolver):
    """The data of one YAML document, as yamlsource's PyYAML loader constructs it, or NotCommon."""
    if not available():
        raise NotCommon("rapidyaml or libyaml is not installed")
    if _divergent(text):
        raise NotCommon("tab, '?', directive, '---' or '...' with content, or no final line break")
    try:
        # libyaml's own verdict on the syntax, at C speed and without building any object:
        # rapidyaml accepts some text libyaml rejects (`a: @x`, `k: ]`), and PyYAML's reading
        # is what ops have always got.
        _LibyamlParser(text).raw_parse()
    except yaml.YAMLError as exc:
        raise NotCommon("libyaml reports a syntax error") from exc
    try:
        with _quiet_stderr():
            tree = ryml.parse_in_arena(text.encode("utf-8"))
    except Exception as exc:  # rapidyaml raises its own exception types; PyYAML words the error
        raise NotCommon(f"rapidyaml: {exc}") from exc
    root = tree.root_id()
    kind = tree.type(root)
    if kind == 0:  # empty, or comments only
        return None
    if kind & _STREAM == _STREAM:
        documents = list(_children(tree, root))
        if len(documents) != 1:
            raise NotCommon("not exactly one document")
        root = documents[0]
    try:
        return _Walker(tree, resolver).node(root)
    except RecursionError as exc:  # nesting deeper than Python's stack: PyYAML decides
        raise NotCommon("nested too deeply") from exc


@contextmanager
def _quiet_stderr() -> Iterator[None]:
    """rapidyaml prints each parse error to file descriptor 2 before raising it; the error
    reported is PyYAML's (same file, read again), so rapidyaml's own words are dropped."""
    try:
        saved = os.dup(2)
    except OSError:  # no stderr at all: nothing to keep quiet
        yield
        return
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _children(tree, node: int):
    child = tree.first_child(node)
    while child != _NONE:
        yield child
        child = tree.next_sibling(child)


class _Walker:
    """Builds Python data from a rapidyaml tree (one pass, in document order)."""

    def __init__(self, tree, resolver: Resolver) -> None:
        self.tree = tree
        self.resolver = resolver
        self.node: Callable = self._node

    def _node(self, i: int):
        tree = self.tree
        kind = tree.type(i)
        if kind & _SPECIAL:
            raise NotCommon("anchor, alias, tag, block scalar or flow collection over several lines")
        first_child, next_sibling = tree.first_child, tree.next_sibling
        if kind & _MAP:
            mapping: dict = {}
            count = 0
            key, resolve_key, node = tree.key, self.resolver.key, self._node
            child = first_child(i)
            while child != _NONE:
                child_kind = tree.type(child)
                raw = key(child)
                if raw is None:
                    raise NotCommon("empty mapping key")
                text = str(raw, "utf-8")
                if not child_kind & _KEYQUO:
                    text = resolve_key(text)
                mapping[text] = node(child)
                count += 1
                child = next_sibling(child)
            if len(mapping) != count:
                raise NotCommon("duplicate key")
            return mapping
        if kind & _SEQ:
            items = []
            append, node = items.append, self._node
            child = first_child(i)
            while child != _NONE:
                append(node(child))
                child = next_sibling(child)
            return items
        raw = tree.val(i)
        text = "" if raw is None else str(raw, "utf-8")
        if kind & _VALQUO:
            return text
        return self.resolver.value(text)
