"""Many facts in one remote command, remembered until an operation changes the host.

pyinfra asks the host once per `get_fact` call and keeps nothing: an unchanged VPN
concentrator cost 54 sequential remote commands per plan, and an apply asks them all again
when it executes. A role instead says up front what it will look at::

    prefetch(PathStates.ask("/etc/openvpn/server", "/etc/wireguard"),
             UnitStates.ask("openvpn-server@telework"), (WireguardImplementation, {}))

and telework's operations read the answers with `fact()` (or the lookups in `facts.files`,
`facts.systemd`, ...). Anything not prefetched is asked for once, on first use, and
remembered too.

While an apply executes, an operation that changed the host (a package install creates
files, a directory appears) makes every answer stale: the next lookup asks the whole batch
again, in one command. A plan changes nothing, so it asks once per host; so does an apply
that finds nothing to do.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from weakref import WeakKeyDictionary, WeakSet

from pyinfra import host as current_host
from pyinfra.api import FactBase
from pyinfra.api.state import BaseStateCallback

from telework.engine.adapter import current_host as _context_host
from telework.engine.adapter import operation_meta

Request = tuple[type[FactBase], dict]


@dataclass
class _Memory:
    """What one host answered, and what to ask again once an operation changed it."""

    answers: dict = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    stale: bool = False


#: host -> its memory; hosts are new objects in every run
_MEMORY: WeakKeyDictionary = WeakKeyDictionary()
#: states whose executions make memories stale (one callback handler each)
_WATCHED: WeakSet = WeakSet()


def _freeze(value):
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    return value


def _key(cls: type[FactBase], kwargs: dict) -> tuple:
    return cls, _freeze(kwargs)


def _memory(host=None) -> _Memory:
    host = host if host is not None else _context_host()
    memory = _MEMORY.get(host)
    if memory is None:
        memory = _MEMORY[host] = _Memory()
        if host.state not in _WATCHED:
            _WATCHED.add(host.state)
            host.state.add_callback_handler(_ForgetAfterChanges())
    if memory.stale:
        memory.stale = False
        memory.answers.clear()
        if memory.requests:
            _ask(memory, memory.requests)
    return memory


def remembered(cls: type[FactBase], host=None) -> list[tuple[dict, Any]]:
    """(kwargs, answer) of every remembered `cls` fact of `host` (default: the current host)."""
    return [(dict(frozen), value) for (fact_cls, frozen), value in _memory(host).answers.items()
            if fact_cls is cls]


def covering(cls: type[FactBase], covers: Callable[[dict], bool]):
    """The first remembered `cls` answer of the current host whose kwargs `covers` accepts
    (the request included what the caller looks up), or None."""
    for kwargs, answer in remembered(cls):
        if answer is not None and covers(kwargs):
            return answer
    return None


def fact(cls: type[FactBase], **kwargs):
    """`host.get_fact(cls, **kwargs)`, asked at most once per host until the host changes."""
    answers = _memory().answers
    key = _key(cls, kwargs)
    if key not in answers:
        answers[key] = current_host.get_fact(cls, **kwargs)
    return answers[key]


class _ForgetAfterChanges(BaseStateCallback):
    """Marks a host's memory stale when the operation it just executed changed something.

    pyinfra re-runs each operation's body right before executing it, so the next operation
    decides on fresh answers. An operation's change is known once it completes, i.e. when the
    host starts its next operation; one that failed may have changed something half way.
    """

    def __init__(self) -> None:
        self.previous: WeakKeyDictionary = WeakKeyDictionary()

    def operation_host_start(self, state, host, op_hash):
        previous = self.previous.pop(host, None)
        if previous is not None and host in _MEMORY:
            meta = operation_meta(state, host, previous)
            if meta is not None and meta.did_change():
                _MEMORY[host].stale = True

    def operation_host_success(self, state, host, op_hash, retry_count: int = 0):
        self.previous[host] = op_hash

    def operation_host_error(self, state, host, op_hash, retry_count: int = 0, max_retries: int = 0):
        if host in _MEMORY:
            _MEMORY[host].stale = True


class Batch(FactBase):
    """The outputs of several shell commands run as one script: [(exit code, stdout lines)].

    Each part runs in its own subshell between marker lines that carry a random nonce, so no
    file content can end a part early; one failing part does not stop the others.
    """

    def command(self, parts: tuple[str, ...], nonce: str) -> str:
        lines = []
        for index, part in enumerate(parts):
            lines.append(f"echo '@@{nonce} {index}'; ( {part}\n); echo \"@@{nonce} rc $?\"")
        return "\n".join(lines) + "\ntrue"

    def process(self, output):
        return output  # split by `prefetch`, which knows the nonce


def _command_text(cls: type[FactBase], kwargs: dict) -> str:
    command = cls().command(**kwargs)
    if not isinstance(command, str):
        raise TypeError(f"{cls.__name__}: only facts with a plain shell command can be batched")
    return command


def prefetch(*requests: Request) -> None:
    """Ask the current host for every (fact class, kwargs) not yet remembered, in one command,
    and ask them again (in one command) whenever an operation has changed the host.

    A part that exits non-zero is not remembered: its first `fact()` call asks again the
    usual way, so errors and missing commands behave exactly as with `host.get_fact`.
    """
    memory = _memory()
    memory.requests.extend(r for r in requests if r not in memory.requests)
    _ask(memory, requests)


def _ask(memory: _Memory, requests) -> None:
    todo = [(cls, kwargs) for cls, kwargs in requests if _key(cls, kwargs) not in memory.answers]
    if not todo:
        return
    nonce = secrets.token_hex(8)
    output = current_host.get_fact(Batch, parts=tuple(_command_text(c, k) for c, k in todo), nonce=nonce)
    for (cls, kwargs), (rc, lines) in zip(todo, split_parts(output, nonce, len(todo))):
        if rc == 0:
            memory.answers[_key(cls, kwargs)] = cls().process(lines)


def split_parts(output: list[str], nonce: str, count: int) -> list[tuple[int, list[str]]]:
    """[(exit code, lines)] for each of `count` parts of a `Batch` output (-1: no end marker)."""
    parts: list[tuple[int, list[str]]] = [(-1, []) for _ in range(count)]
    start, current, lines = f"@@{nonce} ", None, []
    for line in output:
        if line.startswith(start):
            word = line[len(start):].split()
            if word[0] == "rc" and current is not None:
                parts[current] = (int(word[1]), lines)
                current = None
            elif word[0].isdigit():
                current, lines = int(word[0]), []
            continue
        if current is not None:
            lines.append(line)
    return parts
