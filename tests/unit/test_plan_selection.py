"""--limit: hosts, groups and patterns; a limit that matches nothing is an error."""

from __future__ import annotations

import pytest

from telework.plan.selection import LimitError, parse_limit, select

ENTRIES = [("vpn-a", {}, ["vpn_concentrators", "site_rathaus", "ring_early"]),
           ("sip-1", {}, ["sip_servers", "site_rathaus", "ring_all"]),
           ("linux-001", {}, ["linux_endpoints", "site_rathaus", "ring_pilot"]),
           ("linux-002", {}, ["linux_endpoints", "site_rathaus", "ring_pilot"])]


def test_parse():
    assert parse_limit(None) == []
    assert parse_limit(" sip-1, linux_endpoints ,") == ["sip-1", "linux_endpoints"]
    assert parse_limit(("sip-1", "a,b")) == ["sip-1", "a", "b"]


def test_select_hosts_groups_patterns_in_inventory_order():
    assert select(ENTRIES, None) == ["vpn-a", "sip-1", "linux-001", "linux-002"]
    assert select(ENTRIES, "linux-002,sip-1") == ["sip-1", "linux-002"]
    assert select(ENTRIES, "linux_endpoints") == ["linux-001", "linux-002"]
    assert select(ENTRIES, "ring_pilot,vpn-*") == ["vpn-a", "linux-001", "linux-002"]


def test_unknown_limit_is_an_error():
    with pytest.raises(LimitError, match=r"--limit 'sip-2' matches no host and no group"):
        select(ENTRIES, "sip-1,sip-2")


def test_exclusions_leave_hosts_out():
    """`!group` leaves hosts out: every host but the offline notebooks, or a group minus one host."""
    assert select(ENTRIES, "!linux_endpoints") == ["vpn-a", "sip-1"]
    assert select(ENTRIES, "linux_endpoints,!linux-001") == ["linux-002"]
    assert select(ENTRIES, "site_rathaus, !ring_pilot, !sip-*") == ["vpn-a"]
    with pytest.raises(LimitError, match=r"--limit 'notebooks' matches no host"):
        select(ENTRIES, "!notebooks")
