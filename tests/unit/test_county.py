"""A county written in telework's format without placeholders (tests/fixtures/county): it validates,
shows its access methods, and its lab is laid out with a vpn-check target for every person."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from telework.inventory.loading import load_inventory
from telework.lab.topology import build_topology
from telework.roles.vpn.vpncheck import check_targets
from tests.conftest import REPO

COUNTY = REPO / "tests" / "fixtures" / "county"


def test_county_validates_without_errors_or_warnings():
    loaded = load_inventory(COUNTY)
    assert [p.format() for p in loaded.problems] == []
    inv = loaded.model
    assert {n.name for n in inv.networks if n.site is None} == {"rechenzentrum", "fv-soziales"}
    assert inv.number_blocks[0].site is None
    assert inv.department("it").reaches_all and set(inv.department("it").access) == {n.name for n in inv.networks}


def test_county_shows_every_access_method():
    result = subprocess.run([sys.executable, "-m", "telework.cli", "inventory", "show", str(COUNTY), "--format",
                             "json"], capture_output=True, text=True, timeout=120, env={**os.environ})
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    access = {row["method"]: row["people"] for row in summary["access"]}
    assert {row["site"]: row["home_office"] for row in summary["sites"]} == {
        "kreishaus": 1, "strassenmeisterei": 1, "jobcenter": 2, "gesundheitsamt": 0}
    assert access == {"openvpn_totp": 1, "wireguard_device": 1, "openvpn_and_wireguard": 1, "phone_only": 1,
                      "revoked": 0, "none": 1}


def test_county_lab_has_a_target_for_each_network_and_a_refused_one_for_each_department():
    inv = load_inventory(COUNTY).model
    topo = build_topology(inv, include_notebooks=True)
    in_lab = {n.name: n.gateway for n in [*topo.networks, *topo.hostless_networks]}
    assert set(in_lab) == {n.name for n in inv.networks}
    for person in inv.people:
        reach, refused = check_targets(inv, inv.reachable_networks(person))
        assert {t.network for t in reach} == set(inv.reachable_networks(person))
        assert all(str(in_lab[t.network]) == t.address for t in reach)
        if person.department == "it":
            assert refused is None  # IT reaches every network
        else:
            assert refused is not None and refused.network not in inv.reachable_networks(person)
