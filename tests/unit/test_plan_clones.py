"""A plan made in one clone is the plan of every clone: API targets (the reconciler double of
tests/unit/test_targets.py) planned from two clones at two paths, seconds apart, give the same
fingerprints, keyed or not; `apply --plan` from the other clone accepts that plan, and still
refuses it when the API's objects changed in between. tests/lab/test_plan_clones.py does the
same for SSH hosts and every change kind their deploys make."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from telework.apply.run import ApplyRefused, apply
from telework.plan.planner import Planner
from telework.plan.render import render
from telework.secrets.redact import Redactor
from tests.unit.test_targets import LIMIT, SAMPLE, api, registry  # noqa: F401 (fixtures)


def _clone(source: Path, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "clone", "-q", str(source), str(target)], check=True)
    return target / "inventory"


@pytest.fixture
def clones(tmp_path: Path) -> tuple[Path, Path]:
    """Two clones of one inventory repository, at paths of different length and depth."""
    inventory = tmp_path / "origin" / "inventory"
    shutil.copytree(SAMPLE, inventory)
    run = lambda *a: subprocess.run(["git", *a], cwd=inventory.parent, check=True, capture_output=True)  # noqa: E731
    run("init", "-q")
    run("add", "-A")
    run("-c", "user.name=test", "-c", "user.email=t@invalid", "commit", "-qm", "sample")
    return _clone(inventory.parent, tmp_path / "a"), _clone(inventory.parent, tmp_path / "elsewhere" / "deeper" / "b")


def _fingerprints(inventory: Path, registry, key: bytes | None) -> list[tuple[str, str, str]]:  # noqa: F811
    with Planner(inventory, limit=LIMIT, registry=registry, overlay={}, fingerprint_key=key) as planner:
        plan = planner.plan()
    return [(h.name, c.op, c.fingerprint) for h in plan.hosts for c in h.changes]


@pytest.mark.parametrize("key", [None, b"k" * 32], ids=["plain", "keyed"])
def test_two_clones_two_paths_one_plan(clones, registry, api, key):  # noqa: F811
    a, b = clones
    first = _fingerprints(a, registry, key)
    time.sleep(1.1)  # another second: nothing may depend on the time
    second = _fingerprints(b, registry, key)
    assert first and first == second


def test_a_plan_of_one_clone_is_applied_from_the_other(clones, registry, api, tmp_path):  # noqa: F811
    a, b = clones
    with Planner(a, limit=LIMIT, registry=registry, overlay={}) as planner:
        reviewed = tmp_path / "plan.json"
        reviewed.write_text(render(planner.plan(), "json", Redactor()))
    assert json.loads(reviewed.read_text())["inventory"] == str(a.resolve())
    # the API changed between review and apply: refused from the other clone as well
    api.objects["igel-0042"] = {"firmware": "by hand", "directory": "/elsewhere"}
    with pytest.raises(ApplyRefused, match="igel-0042"):
        apply(b, limit=LIMIT, registry=registry, reviewed_plan=reviewed)
    del api.objects["igel-0042"]
    assert apply(b, limit=LIMIT, registry=registry, reviewed_plan=reviewed).result == "ok"
