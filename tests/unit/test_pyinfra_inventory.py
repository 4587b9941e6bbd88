"""`pyinfra <inventory>/inventory.py ...` sees the inventory's hosts, groups and data."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from telework.inventory.hosts import host_entries
from telework.inventory.loading import load_inventory
from tests.conftest import MINIMAL, REPO, SAMPLE, edit

PYINFRA = str(Path(os.environ.get("VIRTUAL_ENV", REPO / ".venv")) / "bin" / "pyinfra")


def debug_inventory(inv_dir: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([PYINFRA, str(inv_dir / "inventory.py"), "debug-inventory"], cwd=REPO,
                          capture_output=True, text=True, env={**os.environ, **env}, timeout=120)


def test_hosts_grouped_by_role_site_and_ring():
    """Deploys select hosts by these groups; a missing group would skip a host silently."""
    groups = {name: set(g) for name, _, g in host_entries(load_inventory(MINIMAL).model, MINIMAL)}
    assert groups == {
        "vpn-a": {"vpn_concentrators", "site_rathaus"},
        "radius-1": {"auth_servers", "site_rathaus"},
        "sip-1": {"sip_servers", "site_rathaus"},
        "nb-0001": {"notebooks", "site_bauhof", "ring_all"},
    }


def test_pyinfra_cli_loads_inventory_and_group_data():
    result = debug_inventory(MINIMAL)
    assert result.returncode == 0, result.stderr
    out = result.stdout + result.stderr
    assert "[vpn-a]" in out and "vpn_concentrators" in out
    assert '"ssh_hostname": "10.30.0.11"' in out            # production address from the inventory
    assert '"ssh_strict_host_key_checking": "yes"' in out   # group_data/all.py
    assert '"telework_role": "notebooks"' in out


def test_overlay_redirects_connections_without_touching_inventory(tmp_path):
    overlay = tmp_path / "overlay.yml"
    overlay.write_text(yaml.safe_dump({"lab": "kleinoed", "hosts": {"vpn-a": {
        "ssh_hostname": "10.199.0.11", "ssh_key": "/tmp/lab-key", "not_allowed": "x"}}}))
    before = {p: p.read_bytes() for p in MINIMAL.rglob("*") if p.is_file()}
    result = debug_inventory(MINIMAL, TELEWORK_OVERLAY=str(overlay))
    assert result.returncode == 0, result.stderr
    out = result.stdout + result.stderr
    assert '"ssh_hostname": "10.199.0.11"' in out and '"ssh_key": "/tmp/lab-key"' in out
    assert "not_allowed" not in out
    assert before == {p: p.read_bytes() for p in MINIMAL.rglob("*") if p.is_file()}


def test_invalid_inventory_stops_pyinfra_with_the_errors(tmp_path):
    inv = tmp_path / "inv"
    shutil.copytree(MINIMAL, inv)
    edit(inv / "people/rathaus.yml", "department: kaemmerei", "department: nowhere")
    result = debug_inventory(inv)
    assert result.returncode != 0
    assert "people/rathaus.yml:4: error: people[0].department: unknown department 'nowhere'" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_missing_overlay_is_a_clear_error_not_a_traceback(tmp_path):
    """$TELEWORK_OVERLAY left over from a lab that is down: telework and the pyinfra inventory
    both name the file and the fix."""
    missing = tmp_path / "lab" / "overlay.yml"
    env = {**os.environ, "TELEWORK_OVERLAY": str(missing)}
    for cmd in ([sys.executable, "-m", "telework.cli", "plan", str(SAMPLE)],
                [sys.executable, "-c", f"from telework.engine.pyinfra_inventory import pyinfra_groups; "
                                       f"pyinfra_groups({str(SAMPLE)!r})"]):
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
        assert done.returncode == 1, done.stdout + done.stderr
        assert "Traceback" not in done.stderr
        assert str(missing) in done.stderr and "telework lab up" in done.stderr
