"""A plan over every target of an inventory: SSH hosts and API objects, managed or not.

The planner asks the role registry which targets exist and who manages them:

* SSH hosts come from the inventory (`telework.inventory.hosts.host_entries`, the environment
  overlay applied); a host that no built role serves is `unmanaged`: it is shown in the plan
  with the reason, never connected, never applied;
* each API role's reconciler lists its own targets.

`--limit` selects among all of them; the selected managed SSH hosts go to one pyinfra
deployment (`SshTargets`), the API targets to their reconcilers. `plan()` joins their records
in inventory order into one `Plan`; `execute(names)` (one rollout ring) hands each target to
the set it belongs to.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

from telework import __version__
from telework.core.repo import repo_state
from telework.engine.deploy_support import loaded_inventory
from telework.engine.group_data import group_data_dirs, load_group_data
from telework.inventory.hosts import host_entries
from telework.inventory.overlay import load_overlay
from telework.plan.records import HostPlan, HostResult, Plan
from telework.plan.selection import parse_limit, select
from telework.plan.targets import Entry, ReconcileContext, SshTargets, TargetSet, make_reconciler
from telework.roles.registry import Role, roles, roles_serving, unserved_reason
from telework.secrets.redact import Redactor
from telework.secrets.store import SecretStore


class Planner:
    """Plan and apply every target of `inventory_dir`. Use as a context manager."""

    def __init__(self, inventory_dir: Path | str, *, limit: str | list[str] | None = None,
                 overlay: dict | None = None, deploy_file: Path | str | None = None,
                 redactor: Redactor | None = None, fingerprint_key: bytes | None = None,
                 progress=None, connect_timeout: int = 10, strict: bool = False,
                 registry: tuple[Role, ...] | None = None, identity: Path | str | None = None):
        self.inventory_dir = Path(inventory_dir).resolve()
        self.limit = parse_limit(limit)
        self.overlay = overlay if overlay is not None else load_overlay()
        self.deploy_file = deploy_file
        self.redactor = redactor or Redactor()
        self.fingerprint_key = fingerprint_key
        self.progress = progress or (lambda *_: None)
        self.connect_timeout = connect_timeout
        self.strict = strict
        self.registry = roles(registry)
        self.identity = identity
        self.sets: list[TargetSet] = []
        self.owner: dict[str, TargetSet] = {}
        self.entries: list[Entry] = []
        self.roles_of: dict[str, list[str]] = {}
        self.unmanaged: dict[str, str] = {}
        self.selected: list[str] = []

    def __enter__(self) -> Planner:
        self.open()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def open(self) -> None:
        from telework.engine.changes import Fingerprinter
        from telework.engine.deployment import Deployment

        loaded = loaded_inventory(str(self.inventory_dir))
        self.organisation = loaded.model.organisation.slug
        ssh_entries = host_entries(loaded.model, self.inventory_dir, self.overlay)
        for name, _data, groups in ssh_entries:
            served = roles_serving(groups, self.registry)
            self.roles_of[name] = [r.name for r in served]
            if not served:
                self.unmanaged[name] = unserved_reason(groups, self.registry)
        fingerprint = Fingerprinter(self.fingerprint_key)
        store = SecretStore(self.inventory_dir, self.identity)
        context = ReconcileContext(self.redactor, fingerprint, self.progress, secret=store.get,
                                   overlay=self.overlay)

        def deployment(entries, selected, group_data):
            return Deployment(entries, selected, group_data, deploy_file=self.deploy_file,
                              redactor=self.redactor, fingerprint_key=self.fingerprint_key,
                              progress=self.progress, connect_timeout=self.connect_timeout)

        ssh = SshTargets(ssh_entries, load_group_data(group_data_dirs(self.inventory_dir)), deployment)
        api_sets = [(r, _reconciler(r, loaded, context)) for r in self.registry if r.kind == "api"]
        self.entries = list(ssh_entries)
        for role, target_set in api_sets:
            for entry in target_set.entries():
                self.roles_of[entry[0]] = [role.name]
                self.entries.append(entry)
        self.selected = select(self.entries, self.limit)
        chosen = set(self.selected)
        ssh_selected = [n for n, _, _ in ssh_entries if n in chosen and n not in self.unmanaged]
        if ssh_selected:
            self._open(ssh, ssh_selected)
        for _role, target_set in api_sets:
            mine = [e[0] for e in target_set.entries() if e[0] in chosen]
            if mine:
                self._open(target_set, mine)

    def _open(self, target_set: TargetSet, names: list[str]) -> None:
        self.sets.append(target_set)
        for name in names:
            self.owner[name] = target_set
        target_set.open(names)

    def close(self) -> None:
        for target_set in self.sets:
            try:
                target_set.close()
            except Exception:  # noqa: BLE001 - closing must not hide the result
                pass
        self.sets = []

    def plan(self) -> Plan:
        started = time.monotonic()
        by_name: dict[str, HostPlan] = {}
        for target_set in self.sets:
            for hp in target_set.plan():
                hp.kind = target_set.kind
                hp.roles = self.roles_of.get(hp.name, [])
                by_name[hp.name] = hp
        repo = repo_state(self.inventory_dir)
        plan = Plan(inventory=str(self.inventory_dir), organisation=self.organisation,
                    commit=repo.commit, dirty=repo.dirty, telework_version=__version__,
                    created=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), limit=list(self.limit),
                    strict=self.strict)
        chosen = set(self.selected)
        for name, data, groups in self.entries:
            if name not in chosen:
                continue
            if name in self.unmanaged:
                plan.hosts.append(HostPlan(name=name, status="unmanaged", groups=list(groups),
                                           ring=data.get("telework_ring"), error=self.unmanaged[name]))
            elif name in by_name:
                plan.hosts.append(by_name[name])
        plan.duration_s = round(time.monotonic() - started, 3)
        return plan

    def execute(self, names: list[str]) -> dict[str, HostResult]:
        """Apply the planned changes of `names` (one ring), each through the set it belongs to."""
        results: dict[str, HostResult] = {}
        for target_set in self.sets:
            mine = [n for n in names if self.owner.get(n) is target_set]
            if mine:
                results.update(target_set.execute(mine))
        return {n: results[n] for n in names if n in results}


def _reconciler(role: Role, loaded, context: ReconcileContext) -> TargetSet:
    return make_reconciler(role, loaded, context)
