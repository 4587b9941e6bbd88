"""Files of the inventory that a role writes and the audit reads (revocations, certificates).

A role names them in the registry (`Role.audit`: "module:attribute" of a tuple of `RoleFile`);
the audit parses each blob with the role's `parse` and asks the role's `diff` for the events
between two commits, so a new role adds its audit events without touching telework.audit.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache


@dataclass(frozen=True)
class RoleFile:
    #: the file, relative to the inventory directory
    path: str
    #: the name its data goes by in an audit state (`State.role_data(kind)`)
    kind: str
    #: YAML data of one blob -> the normalised data (lenient: never raises on odd input)
    parse: Callable
    #: (old data, new data, name_of(username)) -> events
    diff: Callable


@cache
def role_files() -> dict[str, RoleFile]:
    """path -> RoleFile, of every role of the registry that has audit files."""
    from telework.roles.registry import roles

    out: dict[str, RoleFile] = {}
    for role in roles():
        if role.audit:
            module, attribute = role.audit.split(":")
            for role_file in getattr(importlib.import_module(module), attribute):
                out[role_file.path] = role_file
    return out
