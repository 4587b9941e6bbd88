"""Rollout rings: order, hosts without a ring, and when a ring stops the rollout."""

from __future__ import annotations

from types import SimpleNamespace as NS

from telework.apply.rings import NO_RING, plan_rings

RINGS = [NS(name="all", order=2, failure_threshold=0.05), NS(name="pilot", order=0, failure_threshold=0.2),
         NS(name="early", order=1, failure_threshold=0.1)]


def test_rings_in_order_with_their_hosts():
    rings = plan_rings(RINGS, [("sip-1", "all"), ("linux-002", "pilot"), ("vpn-a", "early"),
                               ("linux-001", "pilot"), ("odd", None)])
    assert [(r.name, r.hosts) for r in rings] == [
        ("pilot", ["linux-002", "linux-001"]), ("early", ["vpn-a"]), ("all", ["sip-1"]), (NO_RING, ["odd"])]


def test_empty_rings_are_left_out():
    assert [r.name for r in plan_rings(RINGS, [("sip-1", "all")])] == ["all"]


def test_failure_threshold():
    pilot = plan_rings(RINGS, [(f"n{i}", "pilot") for i in range(10)])[0]
    assert not pilot.stops_rollout(2)  # 20 % is the threshold itself
    assert pilot.stops_rollout(3)
    assert not pilot.stops_rollout(0)
    lone = plan_rings(RINGS, [("odd", None)])[0]
    assert lone.stops_rollout(1)
