"""The record of revoked VPN access, `<inventory>/access/revocations.yml`.

`telework person revoke` adds a person, `telework person enroll` removes them again; the file
is committed, so its git history answers the auditor's question "who lost access when, why,
and on whose word" (BSI NET.3.3.A12). It holds people, not certificates: the certificates and
their revocation are in `pki/issued.yml` and `pki/crl.pem` (see `telework.roles.vpn.pki`).

Layout, one field a line, people sorted, every string JSON-quoted, so diffs are one entry:

    revocations:
      jmueller:
        date: 2026-11-23
        reason: "left the administration"
        by: "Jana Admin"
"""

from __future__ import annotations

import getpass
import json
import os
import subprocess
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import yaml

from telework.core.atomicfile import write_atomic
from telework.core.problems import TeleworkError

REVOCATIONS_FILE = Path("access") / "revocations.yml"

_HEADER = """\
# People whose VPN access was revoked: written by `telework person revoke`, removed again
# by `telework person enroll`. Commit it with the inventory; its history is the audit trail.
# Change it with the commands, not by hand.
"""
_FIELDS = ("date", "reason", "by")
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class RevocationsError(TeleworkError):
    """access/revocations.yml cannot be read."""


@dataclass(frozen=True)
class Revocation:
    """Why and when a person's access was revoked, and by whom."""

    date: date
    reason: str
    by: str


def revocations_path(inventory_dir: str | Path) -> Path:
    return Path(inventory_dir) / REVOCATIONS_FILE


def load_revocations(inventory_dir: str | Path) -> dict[str, Revocation]:
    """username -> Revocation; a missing file is no revocations.

    Raises RevocationsError naming the file, the line and the fix when the layout is wrong."""
    path = revocations_path(inventory_dir)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise RevocationsError(f"{where}: not valid YAML ({getattr(exc, 'problem', exc)}); "
                               f"restore the file from git") from None
    if root is None:
        return {}
    top = _mapping(root, path, "expected `revocations:` at the top")
    section = top.get("revocations")
    if section is None:
        raise RevocationsError(f"{path}:{root.start_mark.line + 1}: expected `revocations:` at the top")
    if isinstance(section[1], yaml.ScalarNode) and section[1].value in ("", "null", "~"):
        return {}
    entries = _mapping(section[1], path, "`revocations:` must map usernames to date, reason, by")
    out: dict[str, Revocation] = {}
    for username, (key_node, node) in entries.items():
        fields = _mapping(node, path, f"{username}: expected date, reason and by")
        values: dict[str, str] = {}
        for name in _FIELDS:
            found = fields.get(name)
            if found is None or not isinstance(found[1], yaml.ScalarNode):
                raise RevocationsError(f"{path}:{key_node.start_mark.line + 1}: {username}: "
                                       f"'{name}' is missing (each entry has {', '.join(_FIELDS)})")
            values[name] = found[1].value
        try:
            day = date.fromisoformat(values["date"])
        except ValueError:
            line = fields["date"][1].start_mark.line + 1
            raise RevocationsError(f"{path}:{line}: {username}: date {values['date']!r} is not "
                                   f"YYYY-MM-DD") from None
        out[username] = Revocation(day, values["reason"], values["by"])
    return out


def _mapping(node: yaml.Node, path: Path, message: str) -> dict[str, tuple[yaml.Node, yaml.Node]]:
    if not isinstance(node, yaml.MappingNode):
        raise RevocationsError(f"{path}:{node.start_mark.line + 1}: {message}")
    out = {}
    for key, value in node.value:
        if key.value in out:
            raise RevocationsError(f"{path}:{key.start_mark.line + 1}: '{key.value}' appears twice; "
                                   f"keep one entry")
        out[key.value] = (key, value)
    return out


def render_revocations(revocations: dict[str, Revocation]) -> str:
    """The file's text: same revocations, same bytes."""
    lines = [_HEADER.rstrip("\n"), "revocations:" if revocations else "revocations: {}"]
    for username in sorted(revocations):
        entry = revocations[username]
        lines += [f"  {username}:", f"    date: {entry.date.isoformat()}",
                  f"    reason: {json.dumps(entry.reason, ensure_ascii=False)}",
                  f"    by: {json.dumps(entry.by, ensure_ascii=False)}"]
    return "\n".join(lines) + "\n"


def save_revocations(inventory_dir: str | Path, revocations: dict[str, Revocation]) -> bool:
    """Write the file if its content changes; True when it was written."""
    path = revocations_path(inventory_dir)
    text = render_revocations(revocations)
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, text)
    return True


def record_revocation(inventory_dir: str | Path, username: str, reason: str,
                      by: str | None = None, today: date | None = None) -> Revocation:
    """Add (or replace) `username`'s entry; `by` defaults to `current_operator()`."""
    if not reason.strip():
        raise RevocationsError("a revocation needs a reason (auditors read it): pass --reason TEXT")
    entry = Revocation(today or date.today(), " ".join(reason.split()), by or current_operator(inventory_dir))
    revocations = load_revocations(inventory_dir)
    revocations[username] = entry
    save_revocations(inventory_dir, revocations)
    return entry


def clear_revocation(inventory_dir: str | Path, username: str) -> Revocation | None:
    """Remove `username`'s entry (they were enrolled again); returns the removed entry."""
    revocations = load_revocations(inventory_dir)
    entry = revocations.pop(username, None)
    if entry is not None:
        save_revocations(inventory_dir, revocations)
    return entry


def current_operator(inventory_dir: str | Path = ".") -> str:
    """Who runs the command: git's user.name for the inventory's repository, else $USER."""
    try:
        found = subprocess.run(["git", "-C", str(inventory_dir), "config", "user.name"],
                               capture_output=True, text=True, timeout=5, check=False)
        name = found.stdout.strip()
        if found.returncode == 0 and name:
            return name
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        return os.environ.get("USER") or getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
