"""The county (tests/fixtures/county) in a lab of its own: apply, plan, verify and vpn-check.

Its networks are not the sample's: two have no site, most have no lab host and several no
gateway. After a real deploy of its concentrators and RADIUS server, a plan shows no change,
the host suites pass, and `telework lab vpn-check` of a Sozialamt clerk logs in on both
concentrators, reaches both networks of the department and is refused a network of another
department.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from telework.inventory.loading import load_inventory
from telework.lab.overlay import overlay_path
from telework.lab.topology import lab_name
from telework.roles.vpn.vpncheck import check_targets
from tests.lab.conftest import REPO, VENV_BIN, run

pytestmark = pytest.mark.lab

COUNTY = REPO / "tests" / "fixtures" / "county"
PERSON = "mlange"  # Sozialamt: rechenzentrum and fv-soziales, both without a site
HOSTS = ("radius-1", "vpn-1", "vpn-2")


def test_county_applies_plans_verifies_and_passes_vpn_check(tmp_path: Path):
    if os.geteuid() != 0:
        pytest.fail("the lab needs root")
    for tool in ("openvpn", "oathtool"):
        if shutil.which(tool) is None:
            pytest.fail(f"needs {tool} on this machine (scripts/bootstrap.sh installs it)")
    inventory = tmp_path / "county"
    shutil.copytree(COUNTY, inventory)
    inv = load_inventory(inventory).model
    env = {**os.environ, "TELEWORK_AGE_IDENTITY": str(tmp_path / "age-identity.txt"), "PYINFRA_PROGRESS": "off",
           "TELEWORK_OVERLAY": str(overlay_path(lab_name(inv))), "COLUMNS": "400"}
    telework = [str(VENV_BIN / "telework")]
    run(["git", "init", "-q"], cwd=inventory)
    run([*telework, "secret", "init", str(inventory)], env=env)
    run([*telework, "pki", "init", str(inventory)], env=env)
    run([*telework, "person", "enroll", PERSON, str(inventory), "--out", str(tmp_path / "bundles")], env=env)
    try:
        run([*telework, "lab", "up", str(inventory)], env=env, timeout=900)
        run([str(VENV_BIN / "pyinfra"), "-y", str(inventory / "inventory.py"), "deploy/site.py",
             *[arg for host in HOSTS for arg in ("--limit", host)]], env=env, timeout=1200)
        run(["git", "add", "-A"], cwd=inventory)
        run(["git", "-c", "user.name=telework test", "-c", "user.email=test@invalid", "commit", "-q", "-m",
             "the county"], cwd=inventory)
        plan = run([*telework, "plan", str(inventory), "--limit", ",".join(HOSTS)], env=env, check=False)
        verify = run([*telework, "verify", str(inventory), "--limit", ",".join(HOSTS), "--junitxml",
                      str(tmp_path / "verify.xml"), "-n", "2"], env=env, check=False, timeout=900)
        proc = run([*telework, "lab", "vpn-check", PERSON, str(inventory),
                    "--bundle", str(tmp_path / "bundles" / f"{PERSON}.ovpn")], env=env, check=False, timeout=300)
    finally:
        down = subprocess.run([sys.executable, "-m", "telework.cli", "lab", "down", str(inventory)],
                              capture_output=True, text=True, timeout=600, env=env)
    assert plan.returncode == 0, plan.stdout[-3000:] + plan.stderr[-3000:]
    assert "Plan: 0 host(s) changing (0 change(s)), 3 unchanged, 0 unreachable, 0 failed" in plan.stdout
    assert verify.returncode == 0, verify.stdout[-3000:] + verify.stderr[-3000:]
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    mine = inv.reachable_networks(inv.person(PERSON))
    assert sorted(mine) == ["fv-soziales", "rechenzentrum"]
    _, refused = check_targets(inv, mine)
    for concentrator in ("vpn-1", "vpn-2"):
        row = next(line for line in proc.stdout.splitlines() if f" {concentrator} " in line)
        assert "fv-soziales ok" in row and "rechenzentrum ok" in row and f"{refused.network} ok" in row, row
    assert down.returncode == 0, down.stderr
