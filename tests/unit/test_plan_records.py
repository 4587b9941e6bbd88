"""Plan records: exit codes, JSON round trip and schema, and the reviewed-plan comparison."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from telework.plan.records import Change, HostPlan, Plan, differences

SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "src/telework/plan/plan.schema.json").read_text())


def change(op="deploy/base.py | ssh: hardened server settings", fp="a", **kw) -> Change:
    return Change(op=op, kind=kw.pop("kind", "file"), fingerprint="sha256:" + fp * 64, **kw)


def make_plan(*hosts: HostPlan) -> Plan:
    return Plan(inventory="/inv", organisation="gruenfelden", commit="c" * 40, dirty=False,
                telework_version="0.1.0", created="2026-01-01T00:00:00Z", hosts=list(hosts))


def test_exit_codes():
    assert make_plan(HostPlan("a", "unchanged")).exit_code == 0
    assert make_plan(HostPlan("a", "unchanged"), HostPlan("b", "changed", changes=[change()])).exit_code == 2
    # an unreachable host makes the plan incomplete: error even when others change
    assert make_plan(HostPlan("a", "changed", changes=[change()]), HostPlan("b", "unreachable")).exit_code == 1
    assert make_plan(HostPlan("a", "failed", error="fact failed")).exit_code == 1
    assert make_plan().exit_code == 0


def test_summary_counts():
    plan = make_plan(HostPlan("a", "changed", changes=[change(), change(op="x")]),
                     HostPlan("b", "unchanged"), HostPlan("c", "unreachable"))
    assert plan.summary == {"changed": 1, "unchanged": 1, "unreachable": 1, "failed": 0, "unmanaged": 0,
                            "changes": 2}


def test_unmanaged_hosts_are_a_note_or_with_strict_an_error():
    plan = make_plan(HostPlan("sip-1", "unmanaged", error="no role is built for sip_servers yet"),
                     HostPlan("b", "unchanged"))
    assert plan.summary["unmanaged"] == 1 and plan.exit_code == 0
    plan.strict = True
    assert plan.exit_code == 1
    plan.hosts.append(HostPlan("c", "changed", changes=[change()]))
    assert plan.exit_code == 1
    plan.strict = False
    assert plan.exit_code == 2


def test_json_round_trip_and_schema():
    plan = make_plan(HostPlan("a", "changed", groups=["sip_servers"], ring="all",
                              changes=[change(diff=["@@ -1 +1 @@", "-a", "+b"], path="/etc/x",
                                              messages=["Will modify /etc/x"])]),
                     HostPlan("b", "unreachable", error="could not connect"))
    data = json.loads(json.dumps(plan.to_dict()))
    jsonschema.validate(data, SCHEMA)
    assert list(data)[:1] == ["schema"] and list(data)[-1] == "hosts"
    again = Plan.from_dict(data)
    assert again.to_dict() == plan.to_dict()


def test_from_dict_refuses_other_documents():
    with pytest.raises(ValueError, match="not a telework plan"):
        Plan.from_dict({"schema": "something/else"})


def test_same_changes_no_difference():
    a = make_plan(HostPlan("h", "changed", changes=[change()]))
    b = make_plan(HostPlan("h", "changed", changes=[change()]))
    assert differences(a, b) == []


def test_changed_content_is_a_difference():
    reviewed = make_plan(HostPlan("h", "changed", changes=[change(fp="a")]))
    now = make_plan(HostPlan("h", "changed", changes=[change(fp="b")]))
    assert differences(reviewed, now) == [
        "h: differs from the reviewed plan: deploy/base.py | ssh: hardened server settings"]


def test_new_and_vanished_changes():
    reviewed = make_plan(HostPlan("h", "changed", changes=[change(op="one")]))
    now = make_plan(HostPlan("h", "changed", changes=[change(op="two")]))
    assert differences(reviewed, now) == ["h: reviewed change not planned now: one",
                                          "h: change not in the reviewed plan: two"]


def test_host_outside_the_reviewed_plan():
    reviewed = make_plan(HostPlan("a", "unchanged"))
    now = make_plan(HostPlan("a", "unchanged"), HostPlan("b", "changed", changes=[change()]),
                    HostPlan("c", "unchanged"))
    assert differences(reviewed, now) == ["b: has changes but is not in the reviewed plan"]


def test_unreachable_now_is_no_difference_but_unreviewed_changes_are():
    reviewed = make_plan(HostPlan("a", "changed", changes=[change()]), HostPlan("b", "unreachable"))
    now = make_plan(HostPlan("a", "unreachable"), HostPlan("b", "changed", changes=[change()]))
    assert differences(reviewed, now) == [
        "b: change not in the reviewed plan: deploy/base.py | ssh: hardened server settings"]


def test_order_matters():
    reviewed = make_plan(HostPlan("h", "changed", changes=[change(op="one"), change(op="two")]))
    now = make_plan(HostPlan("h", "changed", changes=[change(op="two"), change(op="one")]))
    assert differences(reviewed, now) == ["h: same changes in a different order"]
