"""`telework inventory show` and `telework schema` as ops and editors use them."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import jsonschema
import yaml

from tests.conftest import MINIMAL


def telework(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "telework.cli", *args], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "COLUMNS": "200"})


def test_inventory_show_counts_per_site_and_pools():
    result = telework("inventory", "show", str(MINIMAL), "--format", "json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    sites = {row["site"]: row for row in summary["sites"]}
    assert sites["rathaus"]["people"] == 1 and sites["rathaus"]["igel"] == 1 and sites["rathaus"]["servers"] == 3
    assert sites["bauhof"]["notebooks"] == 1 and sites["bauhof"]["desk_phones"] == 1
    pools = {row["pool"]: row for row in summary["pools"]}
    assert pools["vpn-a-openvpn"]["members"] == 2 and pools["vpn-a-openvpn"]["capacity"] == 253
    assert pools["vpn-a-wireguard"]["members"] == 1


def test_inventory_show_renders_tables():
    result = telework("inventory", "show", str(MINIMAL))
    assert result.returncode == 0, result.stderr
    assert "per site" in result.stdout and "vpn-a-openvpn" in result.stdout


def test_schema_accepts_every_file_of_a_valid_inventory_and_rejects_typos():
    """Editors check files against this schema; it must agree with `telework validate`."""
    result = telework("schema")
    assert result.returncode == 0
    schema = json.loads(result.stdout)
    validator = jsonschema.Draft202012Validator(schema)
    for path in MINIMAL.rglob("*.yml"):
        errors = list(validator.iter_errors(yaml.safe_load(path.read_text())))
        assert errors == [], f"{path}: {errors[0].message}"
    bad = {"people": [{"username": "jmueller", "name": "J", "department": "x", "site": "y", "departmnet": "z"}]}
    assert any("departmnet" in e.message for e in validator.iter_errors(bad))


def test_inventory_show_counts_access_methods_revocations_and_lists_servers(minimal_copy):
    """Revoked people are not counted as VPN users; phone-only people are a method of their own;
    every server (the concentrators included) has a row."""
    from datetime import date

    from tests.conftest import edit
    from telework.roles.vpn.revocations import record_revocation

    record_revocation(minimal_copy, "jmueller", "left the administration", by="ops", today=date(2026, 12, 1))
    edit(minimal_copy / "people/rathaus.yml", "    site: bauhof\n    vpn: true\n", "    site: bauhof\n    vpn: false\n")
    result = telework("inventory", "show", str(minimal_copy), "--format", "json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    access = {row["method"]: row["people"] for row in summary["access"]}
    assert access == {"openvpn_totp": 0, "wireguard_device": 0, "openvpn_and_wireguard": 0, "phone_only": 1,
                      "revoked": 1, "none": 0}
    sites = {row["site"]: row for row in summary["sites"]}
    assert sites["rathaus"]["vpn"] == 0 and sites["rathaus"]["revoked"] == 1 and summary["revoked"] == 1
    assert [(s["name"], s["group"], s["public_address"]) for s in summary["servers"]] == [
        ("vpn-a", "vpn_concentrators", "198.51.100.30"), ("radius-1", "auth_servers", ""),
        ("sip-1", "sip_servers", "198.51.100.31")]


def test_tables_never_wrap_in_a_pipe():
    """In a pipe (a CI log, `| less`, `| grep`) each table row stays one line, whatever COLUMNS says."""
    from tests.conftest import SAMPLE

    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    result = subprocess.run([sys.executable, "-m", "telework.cli", "inventory", "show", str(SAMPLE)],
                            capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr
    pool_rows = [line for line in result.stdout.splitlines() if "vpn-a-openvpn" in line]
    assert len(pool_rows) == 1 and pool_rows[0].rstrip().endswith("│") and "%" in pool_rows[0]
    header = next(line for line in result.stdout.splitlines() if "people" in line and "desk phones" in line)
    assert "servers" in header


def test_allocations_file_names_its_own_schema_and_matches_it():
    """An editor mapping the inventory schema to every *.yml is told by allocations.yml's own
    `$schema` line what the file is; the committed schema is `telework schema --file allocations`."""
    from tests.conftest import REPO, SAMPLE

    result = telework("schema", "--file", "allocations")
    assert result.returncode == 0, result.stderr
    committed = REPO / "inventory" / "schema" / "allocations.schema.json"
    assert committed.read_text(encoding="utf-8") == result.stdout, \
        "run `telework schema --file allocations -o inventory/schema/allocations.schema.json`"
    lines = (SAMPLE / "allocations.yml").read_text(encoding="utf-8").splitlines()
    assert lines[1] == "# yaml-language-server: $schema=../schema/allocations.schema.json"
    assert (SAMPLE / "../schema/allocations.schema.json").resolve() == committed.resolve()
    validator = jsonschema.Draft202012Validator(json.loads(result.stdout))
    assert list(validator.iter_errors(yaml.safe_load((SAMPLE / "allocations.yml").read_text()))) == []
    assert list(validator.iter_errors({"pools": {"p": {"allocated": {"10.0.0.2": "jmueller"}}}}))


def test_names_are_never_read_as_markup(minimal_copy):
    """An organisation called "Gemeinde [/] Kleinöd" is shown as written (rich would stop with a MarkupError)."""
    from tests.conftest import edit

    edit(minimal_copy / "organisation.yml", "name: Gemeinde Kleinöd", 'name: "Gemeinde [/] Kleinöd"')
    result = telework("inventory", "show", str(minimal_copy))
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert "Gemeinde [/] Kleinöd - per site" in result.stdout
