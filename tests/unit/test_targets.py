"""Targets of two kinds in one plan: an API role's reconciler takes part in plan and apply like
SSH hosts do - change records with fingerprints, `apply --plan`, rollout rings with failure
thresholds, the run record.

The reconciler here is a test double (the IGEL role brings the real one): it manages the
sample's IGEL devices in a dictionary that stands for the API's state, and it can be told to
fail some items. No SSH host is selected, so nothing here needs the lab.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest

from telework.apply.run import ApplyRefused, apply
from telework.plan.planner import Planner
from telework.plan.records import HostPlan, HostResult
from telework.plan.render import render
from telework.plan.targets import Reconciler, item_change
from telework.roles.registry import ROLES, Role

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "inventory" / "sample"
SCHEMA = json.loads((REPO / "src" / "telework" / "plan" / "plan.schema.json").read_text())


class FakeApi:
    """The double's "remote system": object name -> attributes, and a call log."""

    def __init__(self) -> None:
        self.objects: dict[str, dict] = {}
        self.calls: list[str] = []
        self.failing: set[str] = set()


class FakeReconciler(Reconciler):
    """Devices of the inventory's `igel_devices` placed in the fake API: the wanted attributes
    are the firmware and a directory per site and ring."""

    def __init__(self, loaded, context, api: FakeApi):
        super().__init__(context)
        self.api = api
        self.devices = {d.name: d for d in loaded.model.igel_devices}
        self.selected: list[str] = []

    def entries(self):
        return [(d.name, {"telework_ring": d.ring}, ["igel_devices", f"site_{d.site}", f"ring_{d.ring}"])
                for d in self.devices.values()]

    def wanted(self, name: str) -> dict:
        d = self.devices[name]
        return {"firmware": d.firmware, "directory": f"/telework/{d.site}/{d.ring}"}

    def open(self, selected):
        self.selected = selected
        self.api.calls.append("list")  # one read of every object, whatever the number

    def plan(self):
        plans = []
        for name in self.selected:
            have, want = self.api.objects.get(name), self.wanted(name)
            hp = HostPlan(name=name, status="unchanged", groups=["igel_devices"],
                          ring=self.devices[name].ring)
            if have != want:
                action = "create" if have is None else "update"
                hp.changes.append(item_change(f"fake-ums: {action} {name}", action, have, want, context=self.context))
                hp.status = "changed"
            plans.append(hp)
        return plans

    def execute(self, names):
        results = {}
        for name in names:
            self.api.calls.append(f"write {name}")
            if name in self.api.failing:
                results[name] = HostResult(name, "failed", error=f"{name}: the fake API refused the change")
                continue
            self.api.objects[name] = self.wanted(name)
            results[name] = HostResult(name, "changed", [f"fake-ums: write {name}"])
        return results


@pytest.fixture
def api() -> FakeApi:
    return FakeApi()


@pytest.fixture
def registry(api):
    fake = Role("fake_ums", "tests.unit.test_targets", groups=("igel_devices",), kind="api",
                reconciler=lambda loaded, context: FakeReconciler(loaded, context, api))
    return (*(r for r in ROLES if r.kind != "api"), fake)  # the double stands in for the IGEL role


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    inventory = tmp_path / "repo" / "inventory"
    shutil.copytree(SAMPLE, inventory)
    run = lambda *a: subprocess.run(["git", *a], cwd=inventory.parent, check=True, capture_output=True)  # noqa: E731
    run("init", "-q")
    run("add", "-A")
    run("-c", "user.name=test", "-c", "user.email=t@invalid", "commit", "-qm", "sample")
    return inventory


LIMIT = "igel_devices"


def _plan(repo: Path, registry, limit: str = LIMIT):
    with Planner(repo, limit=limit, registry=registry, overlay={}) as planner:
        return planner.plan()


def test_an_api_target_plans_like_a_host(repo, registry, api):
    plan = _plan(repo, registry)
    assert len(plan.hosts) == 103 and {h.kind for h in plan.hosts} == {"api"}
    assert {h.status for h in plan.hosts} == {"changed"} and plan.exit_code == 2
    first = plan.host("igel-0001")
    [change] = first.changes
    assert change.kind == "item" and change.op == "fake-ums: create igel-0001"
    assert "+firmware: 12.5.1" in change.diff and "+directory: /telework/rathaus/all" in change.diff
    assert first.roles == ["fake_ums"]
    assert api.calls == ["list"]  # one read for 103 targets
    jsonschema.validate(json.loads(render(plan, "json")), SCHEMA)
    assert "fake-ums: create igel-0001" in render(plan, "markdown") + render(plan, "text")


def test_fingerprints_agree_between_two_plans_and_follow_the_attributes(repo, registry, api):
    one, two = _plan(repo, registry), _plan(repo, registry)
    assert [c.fingerprint for h in one.hosts for c in h.changes] == \
        [c.fingerprint for h in two.hosts for c in h.changes]
    api.objects["igel-0001"] = {"firmware": "12.4.0", "directory": "/telework/rathaus/all"}
    three = _plan(repo, registry)
    assert three.host("igel-0001").changes[0].fingerprint != one.host("igel-0001").changes[0].fingerprint
    assert three.host("igel-0001").changes[0].diff == ["-firmware: 12.4.0", "+firmware: 12.5.1"]


def test_apply_runs_api_targets_ring_by_ring_and_records_the_run(repo, registry, api):
    outcome = apply(repo, limit=LIMIT, registry=registry)
    assert outcome.result == "ok" and outcome.exit_code == 0
    assert [r.ring.name for r in outcome.rings] == ["pilot", "early", "all"]
    writes = [c.split()[1] for c in api.calls if c.startswith("write ")]
    pilot = {h.name for h in outcome.plan.hosts if h.ring == "pilot"}
    assert set(writes[:len(pilot)]) == pilot  # pilot first
    assert len(api.objects) == 103
    assert outcome.record["hosts"]["igel-0001"] == {"status": "changed", "ring": "all",
                                                     "changed_ops": ["fake-ums: write igel-0001"], "error": None}
    notes = subprocess.run(["git", "notes", "--ref=refs/notes/telework/runs", "show", "HEAD"], cwd=repo.parent,
                           capture_output=True, text=True, check=True).stdout
    assert json.loads(notes.strip().splitlines()[-1])["run_id"] == outcome.record["run_id"]
    assert _plan(repo, registry).exit_code == 0  # nothing left to change


def test_a_failing_ring_stops_the_rollout_before_later_rings(repo, registry, api):
    pilot = sorted(h.name for h in _plan(repo, registry).hosts if h.ring == "pilot")
    api.failing = set(pilot[:2])  # 2 of 6 pilot devices: 33 % > the pilot ring's 20 %
    outcome = apply(repo, limit=LIMIT, registry=registry)
    assert outcome.result == "stopped" and outcome.exit_code == 1
    statuses = {r.ring.name: {outcome.results[n].status for n in r.ring.hosts} for r in outcome.rings}
    assert statuses["early"] == statuses["all"] == {"skipped"}
    assert set(api.objects) == set(pilot[2:])  # later rings untouched
    assert outcome.record["result"] == "stopped"


def test_apply_with_a_reviewed_plan_refuses_a_drifted_api(repo, registry, api, tmp_path):
    reviewed = tmp_path / "plan.json"
    reviewed.write_text(render(_plan(repo, registry), "json"))
    api.objects["igel-0042"] = {"firmware": "11.0.0", "directory": "/elsewhere"}  # changed by hand
    with pytest.raises(ApplyRefused, match="igel-0042: reviewed change not planned now: fake-ums: create igel-0042"):
        apply(repo, limit=LIMIT, registry=registry, reviewed_plan=reviewed)
    assert not [c for c in api.calls if c.startswith("write")]
    del api.objects["igel-0042"]
    assert apply(repo, limit=LIMIT, registry=registry, reviewed_plan=reviewed).result == "ok"


def test_hosts_without_a_built_role_are_unmanaged_not_unchanged(repo):
    """sip-1: no SIP role in this registry; shown as unmanaged, never connected; --strict fails."""
    registry = tuple(r for r in ROLES if r.name != "sip_server")
    with Planner(repo, limit="sip_servers", registry=registry, overlay={}) as planner:
        plan = planner.plan()
        assert planner.sets == []  # nothing was connected
    [sip] = plan.hosts
    assert sip.status == "unmanaged" and "sip_servers" in sip.error
    assert plan.exit_code == 0
    for fmt in ("text", "markdown", "json"):
        assert "unmanaged" in render(plan, fmt)
    plan.strict = True
    assert plan.exit_code == 1
