"""The plan credential's vocabulary: the exact fact commands telework's plan sends to a host.

A merge-request plan logs in as a separate account (`base_plan_user`) whose key may run only
telework's probe (authorized_keys `command=`, sudo for that one program). The probe runs a
request only when it is a batch of fact commands (telework.engine.facts.batch) each of which
is one of the templates made here, with arguments that are plain shell words: paths, unit,
package and sysctl names, never `;`, `|`, `$(...)`. Everything else (a write, a unit change,
a package install) is refused before anything runs.

The templates are the facts' own `command()` with marker arguments, so they cannot drift from
what the plan sends; the base role writes them to the host with the probe. One more: pyinfra's
`FileContents` (the old text of a managed file, for a plan's diff), allowed only for a file any
account on the host could read (world-readable, in directories anyone may enter): a secret
file, 0600 or 0640, is never read through the plan account.
"""

from __future__ import annotations

import re

from telework.engine.facts.files import PathStates, file_contents_command
from telework.engine.facts.nftables import NftTableLoaded, SshClientAddress
from telework.engine.facts.packages import PackageStates
from telework.engine.facts.systemd import UnitStates
from telework.engine.facts.sysctl import SysctlValues
from telework.roles.vpn.facts import OathUsers, WireguardImplementation, WireguardPublicKey

#: an absolute path as shlex.quote writes it (bare, or single-quoted without a quote or a
#: newline): never an option such as `-delete` for find
PATH = r"(?:/[A-Za-z0-9_@%+=:,./-]*|'/[^'\n]*')"
#: a unit, package, sysctl key or nftables name: never an option, never a shell character
NAME = r"[A-Za-z0-9_][A-Za-z0-9_@.:+-]*"
_PATHS, _PATH, _NAMES, _NAME = "TWPROBEPATHS", "TWPROBEPATH", "TWPROBENAMES", "TWPROBENAME"
_PATTERNS = {_PATHS: rf"{PATH}(?: {PATH})*", _PATH: PATH, _NAMES: rf"{NAME}(?: {NAME})*", _NAME: NAME}

#: (fact, kwargs with markers): every form of every fact a plan may ask
_FORMS = [
    (PathStates, {"roots": (_PATHS,)}),
    (PathStates, {"roots": (_PATHS,), "shallow": (_PATHS,)}),
    (PathStates, {"roots": (), "shallow": (_PATHS,)}),
    (PackageStates, {"packages": (_NAMES,)}),
    (UnitStates, {"units": (_NAMES,)}),
    (SysctlValues, {"keys": (_NAMES,)}),
    (NftTableLoaded, {"family": _NAME, "table": _NAME}),
    (SshClientAddress, {}),
    (WireguardImplementation, {}),
    (OathUsers, {"path": _PATH}),
    (WireguardPublicKey, {"path": _PATH}),
]


#: any one literal shell word (what `echo` prints back: harmless)
_LITERAL = r"(?:[A-Za-z0-9_@%+=:,./-]+|'[^'\n]*')"


def read_template() -> str:
    """FileContents' command; the probe checks the path in group `read` is world-readable."""
    text = re.escape(file_contents_command(_PATH))
    head, echo = text.rsplit(r"\|\|\ echo\ ", 1)
    first, rest = head.split(_PATH, 1)
    return first + f"(?P<read>{PATH})" + rest.replace(_PATH, "(?P=read)") + r"\|\|\ echo\ " + _LITERAL


def probe_templates() -> list[str]:
    """Regular expressions (full match) of every fact command the probe may run."""
    out = [read_template()]
    for cls, kwargs in _FORMS:
        text = re.escape(cls().command(**kwargs))
        for marker in (_PATHS, _NAMES, _PATH, _NAME):  # the longer markers first
            text = text.replace(marker, _PATTERNS[marker])
        out.append(text)
    return sorted(set(out))
