"""The change records a plan is made of: per host, the operations that would change something.

Plain data, no pyinfra: the engine fills them, the renderers print them, `apply --plan` compares
two of them and the run record stores one. `Plan.to_dict()` is the JSON format (`--format
json`); its shape is described by plan.schema.json beside this file and only grows compatibly
within one `SCHEMA` version.

Every text in a record has already passed the run's redactor (the engine redacts before it
builds a record), so a record can be printed, stored or commented without another look.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

#: version of the JSON format; bump on incompatible change
SCHEMA = "telework.plan/1"

HostStatus = Literal["changed", "unchanged", "failed", "unreachable", "unmanaged"]
#: "item": a change of an API-managed object (create, update, move, assign, ...)
ChangeKind = Literal["file", "package", "service", "command", "item", "other"]
#: how a target is reached: a host over SSH (pyinfra), or an object of an API (e.g. IGEL UMS)
TargetKind = Literal["ssh", "api"]

#: what a sensitive operation shows instead of a diff or its commands
SENSITIVE_NOTE = "content changes, not shown (sensitive)"


@dataclass
class Change:
    """One operation that would change one host.

    `fingerprint` identifies what exactly would be done (normalised commands and uploaded
    content, keyed by the run's secrets when there are any): two plans agree on a change when
    host, operation and fingerprint agree.
    """

    op: str
    kind: ChangeKind
    fingerprint: str
    commands: list[str] = field(default_factory=list)
    diff: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    path: str | None = None
    sensitive: bool = False
    conditional: bool = False

    @classmethod
    def from_dict(cls, data: dict) -> Change:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


@dataclass
class HostPlan:
    """What would change on one target (a host, or an object of an API), or why that could not
    be found out. `unmanaged`: the target is in a group no built role serves; nothing touches it."""

    name: str
    status: HostStatus
    groups: list[str] = field(default_factory=list)
    ring: str | None = None
    changes: list[Change] = field(default_factory=list)
    unchanged_ops: int = 0
    error: str | None = None
    #: remote commands this host was asked while planning (facts; the telework connector counts)
    remote_commands: int | None = None
    kind: TargetKind = "ssh"
    #: the roles that manage the target (empty: unmanaged)
    roles: list[str] = field(default_factory=list)
    #: what the plan saw but will not change (an API object the inventory does not name, a
    #: firmware the API reports otherwise): shown, never applied
    notes: list[str] = field(default_factory=list)

    @classmethod
    def from_dict(cls, data: dict) -> HostPlan:
        values = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        values["changes"] = [Change.from_dict(c) for c in data.get("changes", [])]
        return cls(**values)


@dataclass
class Plan:
    """A whole plan: where it came from and every host it looked at, in inventory order."""

    inventory: str
    organisation: str
    commit: str | None
    dirty: bool
    telework_version: str
    created: str
    limit: list[str] = field(default_factory=list)
    hosts: list[HostPlan] = field(default_factory=list)
    duration_s: float | None = None
    schema: str = SCHEMA
    #: `--strict`: an unmanaged target is an error (exit 1), not a note
    strict: bool = False

    # --- summary ------------------------------------------------------------------------------
    def hosts_with(self, *statuses: str) -> list[HostPlan]:
        return [h for h in self.hosts if h.status in statuses]

    @property
    def summary(self) -> dict[str, int]:
        counts = {s: len(self.hosts_with(s)) for s in ("changed", "unchanged", "unreachable", "failed",
                                                        "unmanaged")}
        counts["changes"] = sum(len(h.changes) for h in self.hosts)
        return counts

    @property
    def exit_code(self) -> int:
        """As `terraform plan -detailed-exitcode`: 1 error (a host unreachable or failed, or with
        `strict` an unmanaged one), 2 changes, 0 nothing to do."""
        if self.hosts_with("failed", "unreachable") or (self.strict and self.hosts_with("unmanaged")):
            return 1
        if self.hosts_with("changed"):
            return 2
        return 0

    def host(self, name: str) -> HostPlan | None:
        return next((h for h in self.hosts if h.name == name), None)

    # --- JSON ---------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        data = asdict(self)
        data["summary"] = self.summary
        data["exit_code"] = self.exit_code
        # stable key order: schema first, hosts last
        order = ["schema", "inventory", "organisation", "commit", "dirty", "telework_version",
                 "created", "duration_s", "limit", "strict", "summary", "exit_code", "hosts"]
        return {k: data[k] for k in order}

    @classmethod
    def from_dict(cls, data: dict) -> Plan:
        if data.get("schema") != SCHEMA:
            raise ValueError(f"not a telework plan of format {SCHEMA}: schema is {data.get('schema')!r}")
        values = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        values["hosts"] = [HostPlan.from_dict(h) for h in data.get("hosts", [])]
        return cls(**values)


@dataclass
class HostResult:
    """What an apply did on one target."""

    name: str
    status: str  # changed | unchanged | failed | unreachable | skipped
    changed_ops: list[str] = field(default_factory=list)
    error: str | None = None
    failed_ops: list[str] = field(default_factory=list)


def differences(reviewed: Plan, current: Plan) -> list[str]:
    """Why `current` is not the plan that was `reviewed`, one line per difference (empty when
    they agree on every host's changes: operation, order and fingerprint).

    A host that cannot be planned now (failed, unreachable) is no difference: nothing will be
    applied to it and the apply reports it as failed. A host that could not be planned at
    review time but has changes now is one: those changes were never reviewed.
    """
    out: list[str] = []
    before = {h.name: h for h in reviewed.hosts}
    after = {h.name: h for h in current.hosts}
    for name in sorted(set(before) | set(after)):
        b, a = before.get(name), after.get(name)
        if b is None:
            if a.changes:
                out.append(f"{name}: has changes but is not in the reviewed plan")
            continue
        if a is None:
            if b.changes:
                out.append(f"{name}: has reviewed changes but is not planned now")
            continue
        if a.status in ("failed", "unreachable"):
            continue  # nothing is applied there; the apply reports the host as failed
        bk = [(c.op, c.fingerprint) for c in b.changes]
        ak = [(c.op, c.fingerprint) for c in a.changes]
        if bk == ak:
            continue
        bset, aset = set(bk), set(ak)
        before_ops = {op for op, _ in bk}
        after_ops = {op for op, _ in ak}
        for op in dict.fromkeys(op for op, fp in bk if (op, fp) not in aset):
            if op in after_ops:
                out.append(f"{name}: differs from the reviewed plan: {op}")
            else:
                out.append(f"{name}: reviewed change not planned now: {op}")
        for op in dict.fromkeys(op for op, fp in ak if (op, fp) not in bset):
            if op not in before_ops:
                out.append(f"{name}: change not in the reviewed plan: {op}")
        if bset == aset:
            out.append(f"{name}: same changes in a different order")
    return out
