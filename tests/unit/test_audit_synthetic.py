"""The benchmark's synthetic history, small: the generator cannot rot, and the index built in
steps equals the index built at once (what `telework audit` relies on as HEAD moves)."""

from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path

from telework.audit.gitrepo import Repository
from telework.audit.index import AuditIndex

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "audit_history.py"


def _generator():
    spec = importlib.util.spec_from_file_location("audit_history", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_synthetic_history_indexed_in_steps_equals_at_once(tmp_path: Path):
    inventory = _generator().build_repository(tmp_path / "repo", 60, seed=7)
    commits = subprocess.run(["git", "-C", str(tmp_path / "repo"), "rev-list", "--count", "--all"],
                             capture_output=True, text=True, check=True).stdout.strip()
    assert commits == "60"
    with Repository(inventory) as repo:
        stepwise = AuditIndex(repo, tmp_path / "steps.sqlite")
        for back in (40, 25, 10, 0):
            stepwise.update(f"HEAD~{back}" if back else "HEAD")
        at_once = AuditIndex(repo, tmp_path / "once.sqlite")
        chain = at_once.update("HEAD")
        assert len(chain) > 40
        mine = [(e.commit.sha, e.kind, e.params, e.origin) for e in stepwise.events(chain)]
        theirs = [(e.commit.sha, e.kind, e.params, e.origin) for e in at_once.events(chain)]
        assert mine == theirs
        kinds = {e[1] for e in theirs}
        assert {"vpn_granted", "department_changed", "device_firmware_changed", "person_added"} <= kinds
        # every change a merge brought in is attributed to the topic branch commit that made it
        merged = [e for e in at_once.events(chain) if len(e.commit.parents) > 1]
        assert merged and all(e.origin and e.origin["sha"] != e.commit.sha for e in merged)
        assert all(any(a.startswith("city/inventory!") for a in e.approvals) for e in merged)
