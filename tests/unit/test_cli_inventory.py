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
