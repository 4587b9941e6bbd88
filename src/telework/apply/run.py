"""The apply itself: lock, check the repository, plan, compare with the reviewed plan, apply
ring by ring, write the run record.

Order matters: the lock is taken before anything is read, so two applies never plan on the
same state; the plan runs before any change, so `--plan FILE` can refuse before a host is
touched; the run record is written even when hosts failed or a ring stopped the rollout
(auditors need the failures most), and not when nothing was started (refusals are errors
on the console, with nothing to record on the hosts).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from telework import __version__
from telework.apply import runrecord
from telework.apply.lock import ApplyLock, lock_path
from telework.apply.rings import Ring, plan_rings
from telework.core.problems import TeleworkError
from telework.core.repo import repo_state
from telework.plan.planner import Planner
from telework.plan.records import HostResult, Plan, differences
from telework.secrets.run import load_run_secrets


class ApplyRefused(TeleworkError):
    """The apply did not start: dirty repository, or the plan differs from the reviewed one."""


@dataclass
class RingOutcome:
    ring: Ring
    failed: int = 0
    stopped_rollout: bool = False
    skipped: bool = False


@dataclass
class ApplyOutcome:
    plan: Plan
    rings: list[RingOutcome] = field(default_factory=list)
    results: dict[str, HostResult] = field(default_factory=dict)
    record: dict = field(default_factory=dict)
    stored_at: str = ""

    @property
    def result(self) -> str:
        if any(r.stopped_rollout for r in self.rings):
            return "stopped"
        if any(r.status in ("failed", "unreachable") for r in self.results.values()):
            return "failed"
        return "ok"

    @property
    def exit_code(self) -> int:
        return 0 if self.result == "ok" else 1


def apply(inventory_dir: Path | str, *, limit: str | None = None, allow_dirty: bool = False,
          reviewed_plan: Path | None = None, break_lock: bool = False,
          progress=None, say: Callable[[str], None] = lambda _m: None,
          identity: Path | None = None, deploy_file: Path | None = None,
          registry=None) -> ApplyOutcome:
    inventory_dir = Path(inventory_dir).resolve()
    person = runrecord.who(inventory_dir)
    repo = repo_state(inventory_dir)
    with ApplyLock(lock_path(inventory_dir), user=person.get("login") or "unknown",
                   commit=repo.commit, break_lock=break_lock) as lock:
        if lock.broken is not None:
            say(f"broke the apply lock of {lock.broken.describe()}")
        repo = repo_state(inventory_dir)  # again, under the lock
        if repo.toplevel is None and not allow_dirty:
            raise ApplyRefused(f"{inventory_dir} is not in a git repository, so no commit says what "
                               "is applied; use --allow-dirty to apply anyway")
        if repo.dirty and not allow_dirty:
            shown = "\n  ".join(repo.changes[:10]) + ("\n  …" if len(repo.changes) > 10 else "")
            raise ApplyRefused(f"the inventory has uncommitted changes (commit them, or use "
                               f"--allow-dirty):\n  {shown}")
        run_secrets = load_run_secrets(inventory_dir, identity)
        started = datetime.now(UTC)
        reviewed = _load_reviewed(reviewed_plan) if reviewed_plan else None
        with Planner(inventory_dir, limit=limit, redactor=run_secrets.redactor, deploy_file=deploy_file,
                     fingerprint_key=run_secrets.fingerprint_key, progress=progress,
                     registry=registry, identity=identity) as planner:
            plan = planner.plan()
            if reviewed is not None:
                diffs = differences(reviewed, plan)
                if diffs:
                    raise ApplyRefused(
                        "the changes differ from the reviewed plan; nothing was applied:\n  "
                        + "\n  ".join(run_secrets.redactor.redact(d) for d in diffs))
            outcome = ApplyOutcome(plan)
            _apply_rings(planner, plan, outcome, say)
        outcome.record = _record(inventory_dir, plan, outcome, person, started, limit,
                                 reviewed_plan, repo)
        if deploy_file:
            outcome.record["deploy"] = str(deploy_file)
        outcome.stored_at = runrecord.write(outcome.record, inventory_dir, run_secrets.redactor)
        return outcome


def _load_reviewed(path: Path) -> Plan:
    try:
        return Plan.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise ApplyRefused(f"--plan {path}: not a telework plan in JSON ({exc})") from None


def _apply_rings(planner: Planner, plan: Plan, outcome: ApplyOutcome,
                 say: Callable[[str], None]) -> None:
    from telework.engine.deploy_support import loaded_inventory

    model = loaded_inventory(str(planner.inventory_dir)).model
    for hp in plan.hosts_with("unmanaged"):
        outcome.results[hp.name] = HostResult(hp.name, "unmanaged", error=hp.error)
    managed = [h for h in plan.hosts if h.status != "unmanaged"]
    rings = plan_rings(model.rollout_rings, [(h.name, h.ring) for h in managed])
    stopped = False
    for ring in rings:
        ro = RingOutcome(ring)
        outcome.rings.append(ro)
        if stopped:
            ro.skipped = True
            for name in ring.hosts:
                outcome.results[name] = HostResult(name, "skipped", error="rollout stopped by an earlier ring")
            continue
        # hosts without planned changes are not run again: nothing would be generated
        to_run = [n for n in ring.hosts if plan.host(n).status == "changed"]
        say(f"ring {ring.name}: {len(ring.hosts)} host(s), {len(to_run)} with changes")
        results = planner.execute(to_run) if to_run else {}
        for name in ring.hosts:
            hp = plan.host(name)
            if name in results:
                outcome.results[name] = results[name]
            elif hp.status in ("failed", "unreachable"):
                outcome.results[name] = HostResult(name, hp.status, error=hp.error)
            else:
                outcome.results[name] = HostResult(name, "unchanged")
        ro.failed = sum(outcome.results[n].status in ("failed", "unreachable") for n in ring.hosts)
        if ring.stops_rollout(ro.failed):
            ro.stopped_rollout = stopped = True
            say(f"ring {ring.name}: {ro.failed} of {len(ring.hosts)} host(s) failed, above its "
                f"failure threshold {ring.failure_threshold:.0%}: the rollout stops here")


def _record(inventory_dir: Path, plan: Plan, outcome: ApplyOutcome, person: dict,
            started: datetime, limit: str | None, reviewed_plan: Path | None, repo) -> dict:
    reviewed = None
    if reviewed_plan:
        reviewed = {"file": str(reviewed_plan),
                    "sha256": hashlib.sha256(Path(reviewed_plan).read_bytes()).hexdigest()}
    ring_of = {h.name: h.ring for h in plan.hosts}
    return {
        "schema": runrecord.SCHEMA,
        "run_id": runrecord.new_run_id(started),
        "result": outcome.result,
        "commit": repo.commit,
        "dirty": repo.dirty,
        "inventory": str(inventory_dir),
        "organisation": plan.organisation,
        "who": person,
        "ci": runrecord.ci_context(),
        "started": started.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "finished": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "telework_version": __version__,
        "limit": plan.limit,
        "reviewed_plan": reviewed,
        "rings": [{"name": r.ring.name, "hosts": r.ring.hosts, "failed": r.failed,
                   "failure_threshold": r.ring.failure_threshold,
                   "stopped_rollout": r.stopped_rollout, "skipped": r.skipped}
                  for r in outcome.rings],
        "hosts": {name: {"status": res.status, "ring": ring_of.get(name),
                         "changed_ops": res.changed_ops, "error": res.error}
                  for name, res in outcome.results.items()},
        "plan": plan.to_dict(),
    }
