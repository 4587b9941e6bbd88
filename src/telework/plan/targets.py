"""Targets of a plan and an apply, of two kinds: SSH hosts and objects behind an API.

A *target* is what a plan line is about and what a rollout ring applies: a server or an endpoint
reached over SSH and configured by pyinfra, or an object a role manages through an API (an IGEL
device in the UMS). Both kinds give the same records (`HostPlan` with `Change`s, `HostResult`),
so `telework plan` formats, `apply --plan` fingerprints, rings and failure thresholds, run
records, redaction and the audit treat them alike.

* `SshTargets` is the pyinfra side: one `telework.engine.deployment.Deployment`.
* A `Reconciler` is an API role's side: it lists the targets it manages (`entries`), reads their
  actual state (`open`), compares it with the inventory (`plan`: one HostPlan per target, one
  Change per item change, with an attribute diff and a fingerprint) and applies the changes of
  some targets (`execute`, ring by ring). `item_change` builds such a Change.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field

from telework.plan.records import Change, HostPlan, HostResult
from telework.secrets.redact import Redactor

#: (target name, data with at least "telework_ring", groups): how targets are selected by --limit
Entry = tuple[str, dict, list[str]]
Progress = Callable[[str, str, int, int], None]


def _no_secrets(name: str) -> str:
    from telework.core.problems import SecretError

    raise SecretError(f"secret {name}: this run has no access to the inventory's secrets")


@dataclass
class ReconcileContext:
    """What a reconciler gets from the run: the redactor every text passes, the fingerprint
    function of the run (keyed like SSH changes), progress reporting, the inventory's secrets
    (`secret(name)` -> clear value, with the run's age identity) and the environment overlay
    (a lab says there where an API is reached, as it does for SSH hosts)."""

    redactor: Redactor = field(default_factory=Redactor)
    fingerprint: Callable[[list[str]], str] = None  # type: ignore[assignment]
    progress: Progress = lambda *_: None  # noqa: E731
    secret: Callable[[str], str] = _no_secrets
    overlay: dict | None = None


class TargetSet(ABC):
    """Targets reached one way. Lifecycle: `open(selected)`, `plan()`, `execute(names)`*, `close()`."""

    kind: str

    @abstractmethod
    def entries(self) -> list[Entry]:
        """Every target this set could manage (before --limit)."""

    @abstractmethod
    def open(self, selected: list[str]) -> None:
        """Connect to / read the state of the `selected` targets."""

    @abstractmethod
    def plan(self) -> list[HostPlan]:
        """One HostPlan per selected target, in the order of `entries()`."""

    @abstractmethod
    def execute(self, names: list[str]) -> dict[str, HostResult]:
        """Apply the planned changes of `names` (one ring); a result for each."""

    def close(self) -> None:
        """Release connections; called once, also after errors."""


class Reconciler(TargetSet):
    """Base of an API role's reconciler (IGEL UMS): targets are objects behind an API."""

    kind = "api"

    def __init__(self, context: ReconcileContext):
        self.context = context


class SshTargets(TargetSet):
    """Hosts over SSH, configured by deploy/site.py through pyinfra."""

    kind = "ssh"

    def __init__(self, host_entries: list[Entry], group_data: dict[str, dict], make_deployment):
        self._entries = host_entries
        self._group_data = group_data
        self._make = make_deployment
        self.deployment = None

    def entries(self) -> list[Entry]:
        return self._entries

    def open(self, selected: list[str]) -> None:
        self.deployment = self._make(self._entries, selected, self._group_data)
        self.deployment.open()

    def plan(self) -> list[HostPlan]:
        return self.deployment.plan()

    def execute(self, names: list[str]) -> dict[str, HostResult]:
        return self.deployment.execute(names)

    def close(self) -> None:
        if self.deployment is not None:
            self.deployment.close()

    def remote_commands(self, name: str) -> int | None:
        return self.deployment.remote_commands(name) if self.deployment else None


def make_reconciler(role, loaded, context: ReconcileContext | None = None) -> TargetSet:
    """An API role's reconciler from its registry entry ("module:factory" or the factory)."""
    import importlib

    factory = role.reconciler
    if isinstance(factory, str):
        module, attribute = factory.split(":")
        factory = getattr(importlib.import_module(module), attribute)
    return factory(loaded, context or ReconcileContext())


def item_change(op: str, action: str, before: dict | None, after: dict | None, *,
                context: ReconcileContext, identity: list[str] | None = None) -> Change:
    """The Change of one API object: `action` (create, update, move, assign, unassign, delete,
    command) with a diff of its attributes (`-key: old`, `+key: new`), redacted, fingerprinted
    by the action, the op and the attributes that would result (or `identity`)."""
    redact = context.redactor.redact
    before, after = before or {}, after or {}
    diff = []
    for key in sorted(set(before) | set(after)):
        if before.get(key) != after.get(key):
            if key in before:
                diff.append(f"-{key}: {before[key]}")
            if key in after:
                diff.append(f"+{key}: {after[key]}")
    parts = [op, action, *(identity if identity is not None
                           else [f"{k}={after[k]!r}" for k in sorted(after)])]
    return Change(op=redact(op), kind="item", fingerprint=context.fingerprint(parts),
                  commands=[redact(f"{action}")], diff=[redact(line) for line in diff],
                  messages=[], path=None)
