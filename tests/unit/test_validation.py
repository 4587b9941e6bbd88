"""Every class of inventory error is reported with its file, line and fix, all in one run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from telework.inventory.loading import load_inventory
from tests.conftest import MINIMAL, edit


def problems_of(inv_dir: Path) -> list[str]:
    return [p.format() for p in load_inventory(inv_dir).problems]


def only(messages: list[str], needle: str) -> str:
    found = [m for m in messages if needle in m]
    assert len(found) == 1, f"expected one problem containing {needle!r}, got {messages}"
    return found[0]


def test_minimal_fixture_is_valid():
    """The base every other test breaks must itself be clean; it has no allocations.yml yet
    (the IPAM tests make one), which `validate` reports as members without an address."""
    loaded = load_inventory(MINIMAL)
    assert loaded.errors == []
    assert {p.rule for p in loaded.warnings} == {"allocations.missing"}


# ----------------------------------------------------------------- schema


@pytest.mark.parametrize(
    "file, old, new, line, needle",
    [
        ("people/rathaus.yml", 'extension: "101"', "extension: 101", 7, "quote it"),
        ("people/rathaus.yml", "    department: kaemmerei\n", "    departmnet: kaemmerei\n", 4,
         "unknown key 'departmnet'"),
        ("people/rathaus.yml", "    name: Jürgen Müller\n", "", 2, "required key 'name' is missing"),
        ("networks.yml", "kind: openvpn", "kind: ipsec", 5, "use one of 'openvpn' or 'wireguard'"),
        ("networks.yml", "prefix: 10.30.0.0/24", "prefix: 10.30.0.5/24", 2, "host bits set in 10.30.0.5/24"),
        ("endpoints.yml", '"00:E0:C5:00:00:01"', '"00:E0:C5:00:01"', 2, "expected a MAC address"),
        ("telephony.yml", '"+49 9999 55"', '"0049 9999 55"', 2, "not an international number"),
        ("vpn.yml", "vpn_concentrators:", "vpn_concentrator:", 1, "unknown section 'vpn_concentrator'"),
    ],
)
def test_schema_errors_name_file_line_and_fix(minimal_copy, file, old, new, line, needle):
    edit(minimal_copy / file, old, new)
    message = only(problems_of(minimal_copy), needle)
    assert f"{file}:{line}: error:" in message


def test_yaml_syntax_error_names_line(minimal_copy):
    edit(minimal_copy / "vpn.yml", "    site: rathaus\n", "    site: [rathaus\n")
    message = only(problems_of(minimal_copy), "YAML syntax error")
    assert "vpn.yml:" in message


def test_duplicate_yaml_key_is_reported(minimal_copy):
    edit(minimal_copy / "vpn.yml", "    site: rathaus\n", "    site: rathaus\n    site: bauhof\n")
    message = only(problems_of(minimal_copy), "key 'site' appears twice")
    assert "vpn.yml:4:" in message


def test_yaml_1_1_booleans_are_not_booleans(minimal_copy):
    """`vpn: yes` must not silently grant access: only true/false are booleans."""
    edit(minimal_copy / "people/rathaus.yml", "    vpn: true\n    phone: {extension: \"101\"",
         "    vpn: yes\n    phone: {extension: \"101\"")
    message = only(problems_of(minimal_copy), "vpn")
    assert "people/rathaus.yml:6: error:" in message


# ----------------------------------------------------------------- references


@pytest.mark.parametrize(
    "file, old, new, line, needle",
    [
        ("people/rathaus.yml", "department: kaemmerei", "department: kaemerei", 4,
         "unknown department 'kaemerei' (fix: did you mean 'kaemmerei'?"),
        ("people/rathaus.yml", "    site: bauhof\n", "    site: bauhoff\n", 11, "unknown site 'bauhoff'"),
        ("organisation.yml", "access: [srv-rathaus]", "access: [srv-rathuas]", 17, "unknown network 'srv-rathuas'"),
        ("endpoints.yml", "owner: oesahin, ring: all", "owner: osahin, ring: all", 4, "unknown person 'osahin'"),
        ("endpoints.yml", "ring: pilot", "ring: beta", 2, "unknown ring 'beta'"),
        ("networks.yml", "kind: wireguard, concentrator: vpn-a", "kind: wireguard, concentrator: vpn-z", 6,
         "unknown concentrator 'vpn-z'"),
        ("vpn.yml", "auth_server: radius-1", "auth_server: radius-2", 6, "unknown auth server 'radius-2'"),
        ("telephony.yml", "number_blocks: [zentrale]", "number_blocks: [zentral]", 8,
         "unknown number block 'zentral'"),
    ],
)
def test_unknown_references(minimal_copy, file, old, new, line, needle):
    edit(minimal_copy / file, old, new)
    message = only(problems_of(minimal_copy), needle)
    assert f"{file}:{line}: error:" in message


# ----------------------------------------------------------------- uniqueness


@pytest.mark.parametrize(
    "file, old, new, line, needle",
    [
        ("endpoints.yml", '"80:5E:C0:00:00:02"', '"00:e0:c5:00:00:01"', 7, "duplicate MAC address '00:E0:C5:00:00:01'"),
        ("endpoints.yml", "serial: PF3X0001", "serial: 11A1B2C3D4", 4, "duplicate serial number '11A1B2C3D4'"),
        ("people/rathaus.yml", "username: oesahin", "username: jmueller", 8, "duplicate username 'jmueller'"),
        ("people/rathaus.yml", 'extension: "102"', 'extension: "101"', 13, "duplicate extension '101'"),
        ("people/rathaus.yml", '"+49 9999 55-102"', '"+49 9999 55-101"', 13, "duplicate DID '+49 9999 55-101'"),
        ("endpoints.yml", "name: nb-0001", "name: igel-0001", 4, "duplicate host name 'igel-0001'"),
    ],
)
def test_duplicates_point_at_both_places(minimal_copy, file, old, new, line, needle):
    edit(minimal_copy / file, old, new)
    message = only(problems_of(minimal_copy), needle)
    assert f"{file}:{line}: error:" in message
    assert "already used at " in message


# ----------------------------------------------------------------- numbers and addresses


def test_did_outside_number_blocks(minimal_copy):
    edit(minimal_copy / "people/rathaus.yml", '"+49 9999 55-102"', '"+49 9999 55-902"')
    message = only(problems_of(minimal_copy), "is not in any of the organisation's number blocks")
    assert "people/rathaus.yml:13: error:" in message
    assert "DID +49 9999 55-902 is not in" in message and "(+49 9999 55 100-499)" in message


def test_overlapping_address_pools(minimal_copy):
    edit(minimal_copy / "networks.yml", "prefix: 10.131.0.0/24", "prefix: 10.130.0.128/25")
    message = only(problems_of(minimal_copy), "overlaps 'vpn-a-openvpn' 10.130.0.0/24")
    assert "networks.yml:6: error:" in message and "networks.yml:5)" in message


def test_pool_overlapping_a_network(minimal_copy):
    edit(minimal_copy / "networks.yml", "prefix: 10.131.0.0/24", "prefix: 10.31.0.0/16")
    message = only(problems_of(minimal_copy), "network 'gis-bauhof' 10.31.0.0/24 overlaps 'vpn-a-wireguard'")
    assert "networks.yml:3: error:" in message and "networks.yml:6)" in message


def test_server_address_outside_its_site_networks(minimal_copy):
    edit(minimal_copy / "vpn.yml", "address: 10.30.0.11/24", "address: 10.32.0.11/24")
    message = only(problems_of(minimal_copy), "is outside the networks of site 'rathaus'")
    assert "vpn.yml:4: error:" in message and "srv-rathaus 10.30.0.0/24" in message


def test_pinned_vpn_address_outside_pool(minimal_copy):
    edit(minimal_copy / "people/rathaus.yml", "    vpn: true\n    phone: {extension: \"101\"",
         "    vpn: true\n    vpn_address: 10.131.0.50\n    phone: {extension: \"101\"")
    message = only(problems_of(minimal_copy), "pinned address 10.131.0.50 is outside the openvpn pools")
    assert "people/rathaus.yml:7: error:" in message


@pytest.mark.parametrize("lan", ["192.168.178.0/24", "192.168.2.0/24", "192.168.0.0/24", "192.168.1.0/24"])
def test_vpn_pool_over_home_router_lan_is_a_warning(minimal_copy, lan):
    edit(minimal_copy / "networks.yml", "prefix: 10.131.0.0/24", f"prefix: {lan}")
    loaded = load_inventory(minimal_copy)
    assert loaded.errors == []
    message = only([p.format() for p in loaded.warnings], f"overlaps {lan}, the home LAN of")
    assert "networks.yml:6: warning:" in message


def test_pool_smaller_than_its_members(minimal_copy):
    edit(minimal_copy / "networks.yml", "prefix: 10.130.0.0/24", "prefix: 10.130.0.0/31")
    message = only(problems_of(minimal_copy), "holds 0 addresses but has 2 members")
    assert "networks.yml:5: error:" in message and "enlarge the prefix" in message


def test_concentrator_without_a_pool_kind(minimal_copy):
    edit(minimal_copy / "networks.yml",
         "  - {name: vpn-a-wireguard, prefix: 10.131.0.0/24, kind: wireguard, concentrator: vpn-a}\n", "")
    message = only(problems_of(minimal_copy), "has no wireguard address pool")
    assert "vpn.yml:2: error:" in message


# ----------------------------------------------------------------- all at once, exit codes


def test_all_problems_in_one_run(minimal_copy):
    edit(minimal_copy / "people/rathaus.yml", "department: kaemmerei", "department: nowhere")
    edit(minimal_copy / "endpoints.yml", "serial: PF3X0001", "serial: 11A1B2C3D4")
    edit(minimal_copy / "networks.yml", "prefix: 10.131.0.0/24", "prefix: 10.130.0.0/25")
    edit(minimal_copy / "vpn.yml", "auth_server: radius-1", "auth_server: radius-1\n    color: red")
    edit(minimal_copy / "vpn.yml", "address: 10.30.0.11/24", "address: 10.99.0.11/24")
    messages = problems_of(minimal_copy)
    for needle in ("unknown department 'nowhere'", "duplicate serial number", "overlaps 'vpn-a-openvpn'",
                   "unknown key 'color'", "outside the networks of site"):
        only(messages, needle)


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "telework.cli", *args], capture_output=True, text=True)


def test_cli_exit_codes_and_json(minimal_copy):
    ok = run_cli("validate", str(minimal_copy))
    assert ok.returncode == 0, ok.stderr
    edit(minimal_copy / "people/rathaus.yml", "department: kaemmerei", "department: nowhere")
    bad = run_cli("validate", str(minimal_copy))
    assert bad.returncode == 1
    assert "people/rathaus.yml:4: error: people[0].department: unknown department 'nowhere'" in bad.stderr
    assert "Traceback" not in bad.stderr
    as_json = run_cli("validate", str(minimal_copy), "--format", "json")
    assert as_json.returncode == 1
    report = json.loads(as_json.stdout)
    assert report["valid"] is False
    assert report["problems"][0]["line"] == 4 and report["problems"][0]["rule"] == "ref.unknown_department"


def test_cli_missing_inventory_is_a_clear_error(tmp_path):
    result = run_cli("validate", str(tmp_path / "nope"))
    assert result.returncode == 1
    assert "does not exist" in result.stderr and "Traceback" not in result.stderr


def test_warnings_fail_only_with_strict(minimal_copy):
    edit(minimal_copy / "networks.yml", "prefix: 10.131.0.0/24", "prefix: 192.168.178.0/24")
    assert run_cli("validate", str(minimal_copy)).returncode == 0
    assert run_cli("validate", str(minimal_copy), "--strict").returncode == 1


def test_loader_does_not_change_other_yaml_users():
    """telework's strict booleans must not leak into PyYAML's shared resolver tables."""
    import yaml

    import telework.inventory.source  # noqa: F401

    assert yaml.safe_load("a: yes") == {"a": True}


def test_validate_checks_the_allocations_file(minimal_copy):
    """`telework validate` reports a hand-edited allocations.yml with its file and line."""
    assert run_cli("ipam", "sync", str(minimal_copy), "--today", "2026-11-22").returncode == 0
    assert run_cli("validate", str(minimal_copy), "--strict").returncode == 0
    edit(minimal_copy / "allocations.yml", "10.130.0.3: person:oesahin", "10.99.0.3: person:oesahin")
    result = run_cli("validate", str(minimal_copy))
    assert result.returncode == 1
    assert "allocations.yml:11: error: person:oesahin in pool 'vpn-a-openvpn': 10.99.0.3 is outside" in result.stdout + result.stderr
