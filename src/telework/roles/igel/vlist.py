"""IGEL's registry text format ("vlist"): `setup.def`, `setup.ini`, firmware exports.

The format is nested tags with `attr=<value>` leaves:
`<system><remotemanager><connector0><address>value=<ums.example></address>...`. A `%` in a tag
is an instance template (`connector%`), concrete instances are numbered (`connector0`). Values
carry IGEL's escaping, without semicolons: `&lt` `&gt` `&lb` `&rb` `&amp` for `< > [ ] &` (seen
in public profiles, e.g. `cat &lt&lt 'EOF' &gt ...` in the community WireGuard profile of
github.com/IGEL-Community/IGEL-Custom-Partitions).

`parse` reads a vlist into flat keys (`system.remotemanager.connector%.address`) -> attributes;
`dump` writes flat keys -> values as a vlist (the bootstrap `setup.ini`). Run as a program it
prints the registry facts of the named keys, the way `registry_keys.yml` was made:
`python -m telework.roles.igel.vlist setup.def KEY...`.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping

_ESCAPES = (("&", "&amp"), ("<", "&lt"), (">", "&gt"), ("[", "&lb"), ("]", "&rb"))
_UNESCAPE = re.compile(r"&(amp|lt|gt|lb|rb)")
_LEAF = re.compile(r"([^=<>\s]+)=<")
_TAG = re.compile(r"^[A-Za-z0-9_%\-]+$")


class VlistError(ValueError):
    pass


def igel_escape(text: str) -> str:
    """'if [ -e a ] && x < y' -> 'if &lb -e a &rb &amp&amp x &lt y' (ampersand first)."""
    for raw, esc in _ESCAPES:
        text = text.replace(raw, esc)
    return text


def igel_unescape(text: str) -> str:
    mapping = {"amp": "&", "lt": "<", "gt": ">", "lb": "[", "rb": "]"}
    return _UNESCAPE.sub(lambda m: mapping[m.group(1)], text)


def parse(text: str) -> dict[str, dict[str, str]]:
    """Flat key -> {attribute: raw (still escaped) value}. The outer `<vlist>` is dropped."""
    out: dict[str, dict[str, str]] = {}
    path: list[str] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "<":
            j = text.find(">", i)
            if j < 0:
                raise VlistError(f"unclosed tag at offset {i}")
            tag = text[i + 1 : j]
            if tag.startswith("/"):
                if not path or path[-1] != tag[1:]:
                    raise VlistError(f"</{tag[1:]}> at offset {i} closes {path[-1:]}")
                path.pop()
            else:
                path.append(tag)
            i = j + 1
        elif c.isspace():
            i += 1
        else:
            m = _LEAF.match(text, i)
            if not m:
                raise VlistError(f"unexpected text at offset {i}: {text[i:i + 40]!r}")
            j = text.find(">", m.end())
            if j < 0:
                raise VlistError(f"unclosed value at offset {i}")
            parts = path[1:] if path[:1] == ["vlist"] else path
            out.setdefault(".".join(parts), {})[m.group(1)] = text[m.end() : j]
            i = j + 1
    if path:
        raise VlistError(f"unclosed tags at the end: {path}")
    return out


def dump(values: Mapping[str, str]) -> str:
    """Flat key -> plain value as one vlist line (sorted keys, IGEL-escaped values)."""
    tree: dict = {}
    for key, value in values.items():
        parts = key.split(".")
        if not all(_TAG.match(p) for p in parts):
            raise VlistError(f"{key!r} is not a registry key")
        node = tree
        for p in parts[:-1]:
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise VlistError(f"{key!r} lies below a value")
        if parts[-1] in node:
            raise VlistError(f"{key!r} given twice or has keys below it")
        node[parts[-1]] = str(value)

    def emit(node: dict) -> str:
        out = []
        for name in sorted(node):
            child = node[name]
            inner = f"value=<{igel_escape(child)}>" if isinstance(child, str) else emit(child)
            out.append(f"<{name}>{inner}</{name}>")
        return "".join(out)

    return emit(tree) + "\n"


def main(argv: list[str] | None = None) -> int:  # pragma: no cover - a maintainer's tool
    import json

    args = sys.argv[1:] if argv is None else argv
    if len(args) < 2:
        print("usage: python -m telework.roles.igel.vlist SETUP_DEF KEY...", file=sys.stderr)
        return 2
    with open(args[0], encoding="utf-8", errors="replace") as handle:
        reg = parse(handle.read())
    for key in args[1:]:
        attrs = reg.get(key)
        wanted = ("type", "value", "range", "range[en_us]", "displayname[en_us]")
        shown = {a: igel_unescape(attrs[a]) for a in wanted if attrs and a in attrs}
        print(f"{key}\t{json.dumps(shown, ensure_ascii=False) if attrs else 'MISSING'}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
