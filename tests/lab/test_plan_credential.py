"""The plan credential (issue 18): an account per host whose key may only run telework's
read-only probe. A plan with it is the same as with the deploy credential; every attempt to
write with it (a file, a unit, a package, a fact command with a write smuggled in) is refused.

Uses the VPN suite's `org` (tests/lab/conftest.py), deployed to vpn-a, vpn-b and radius-1;
the plan account is bootstrapped there, and linux-001 (never deployed by `org`) shows what a
host without it looks like.
"""

from __future__ import annotations

import json
import shlex
import subprocess
from pathlib import Path

import pytest
import yaml

from telework.engine.facts.systemd import UnitStates

from .conftest import REPO, VENV_BIN, run

pytestmark = pytest.mark.lab

HOST = "radius-1"
HOSTS = ("vpn-a", "vpn-b", "radius-1")
PLAN_USER = "telework-plan"


@pytest.fixture(scope="module")
def planner(lab, org, tmp_path_factory):
    """(plan key, overlay with the plan key bootstrapped, overlay logging in as the planner)."""
    d = tmp_path_factory.mktemp("planner")
    key = d / "plan_ed25519"
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "telework plan job", "-f", str(key)])
    overlay = yaml.safe_load(Path(org.overlay).read_text())
    for name in HOSTS:
        overlay["hosts"][name]["base_plan_public_key"] = (d / "plan_ed25519.pub").read_text().strip()
    deploy = d / "deploy.yml"
    deploy.write_text(yaml.safe_dump(overlay))
    run([str(VENV_BIN / "pyinfra"), "-y", str(org.inventory / "inventory.py"), "deploy/site.py",
         *[a for h in HOSTS for a in ("--limit", h)]],
        env={**org.env, "TELEWORK_OVERLAY": str(deploy)}, timeout=900, cwd=REPO)
    for name in (*HOSTS, "linux-001"):
        overlay["hosts"][name].update(ssh_user=PLAN_USER, ssh_key=str(key))
    plan_overlay = d / "plan.yml"
    plan_overlay.write_text(yaml.safe_dump(overlay))
    return key, deploy, plan_overlay


def _plan(org, overlay: Path, out: Path, limit: str = ",".join(HOSTS)) -> tuple[int, dict, str]:
    done = subprocess.run([str(VENV_BIN / "telework"), "plan", str(org.inventory), "--limit", limit, "--out", str(out)],
                          capture_output=True, text=True, env={**org.env, "TELEWORK_OVERLAY": str(overlay)}, timeout=300)
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, json.loads(out.read_text()) if out.exists() else {}, done.stderr


def _as_planner(lab, key: Path, command: str) -> subprocess.CompletedProcess:
    d = lab.overlay["hosts"][HOST]
    return subprocess.run(["ssh", "-i", str(key), "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
                           "-o", f"UserKnownHostsFile={d['ssh_known_hosts_file']}", "-o", "StrictHostKeyChecking=yes",
                           "-o", "LogLevel=ERROR", f"{PLAN_USER}@{d['ssh_hostname']}", command],
                          capture_output=True, text=True, timeout=60)


def test_plan_with_the_plan_credential_is_the_plan_with_the_deploy_credential(org, planner, tmp_path):
    _key, deploy, plan_overlay = planner
    code_deploy, as_root, err = _plan(org, deploy, tmp_path / "root.json")
    assert code_deploy == 0, err
    code_plan, as_planner, err = _plan(org, plan_overlay, tmp_path / "planner.json")
    assert code_plan == code_deploy, err
    strip = lambda plan: [{k: v for k, v in h.items() if k not in ("duration", "seconds")} for h in plan["hosts"]]  # noqa: E731
    assert strip(as_planner) == strip(as_root)
    assert {h["name"]: h["status"] for h in as_planner["hosts"]} == {h: "unchanged" for h in HOSTS}


def test_a_change_plans_the_same_with_either_credential(org, planner, tmp_path):
    """A person changes department: the access policy's diff (the old ruleset read through the
    probe: world-readable) and the client-config-dir change are the same with both credentials."""
    from .test_plan_vpn import WITHOUT_FINANZEN, set_department

    _key, deploy, plan_overlay = planner
    old = set_department(org, WITHOUT_FINANZEN, "kaemmerei")
    try:
        code_deploy, as_root, err = _plan(org, deploy, tmp_path / "root.json", limit="vpn-a,vpn-b")
        assert code_deploy == 2, err
        code_plan, as_planner, err = _plan(org, plan_overlay, tmp_path / "planner.json", limit="vpn-a,vpn-b")
        assert code_plan == 2, err
        assert [h["changes"] for h in as_planner["hosts"]] == [h["changes"] for h in as_root["hosts"]]
        assert any(c.get("diff") for h in as_planner["hosts"] for c in h["changes"])
    finally:
        set_department(org, WITHOUT_FINANZEN, old)


@pytest.mark.parametrize(("what", "command", "after"), [
    ("a file", "touch /etc/telework-planner-was-here", "test ! -e /etc/telework-planner-was-here"),
    ("a file, as sh -c", "sh -c 'touch /etc/telework-planner-was-here'", "test ! -e /etc/telework-planner-was-here"),
    ("a unit", "sh -c 'systemctl stop freeradius'", "systemctl is-active --quiet freeradius"),
    ("a package", "sh -c 'DEBIAN_FRONTEND=noninteractive apt-get remove -y libpam-oath'",
     "dpkg-query -W -f='${db:Status-Abbrev}' libpam-oath | grep -q '^ii'"),
    ("a write smuggled into a fact", "sh -c \"systemctl show --property=ActiveState -- ssh; touch /etc/x\"",
     "test ! -e /etc/x"),
    ("a path that is an option", "sh -c \"dpkg-query -W -f='\\${Package}\\t\\${db:Status-Abbrev}\\n' -x 2>/dev/null; true\"",
     "true"),
    ("a shell", "", "true"),
])
def test_every_write_with_the_plan_credential_is_refused(lab, planner, what, command, after):
    key, _deploy, _plan_overlay = planner
    done = _as_planner(lab, key, command)
    assert done.returncode == 126, (what, done.returncode, done.stdout, done.stderr)
    assert "telework-probe: refused" in done.stderr, (what, done.stderr)
    assert lab.ssh(HOST, after).returncode == 0, what


def test_a_fact_command_runs_with_the_plan_credential(lab, planner):
    """What a plan sends is answered (here: one unit's state)."""
    key, _deploy, _plan_overlay = planner
    command = UnitStates().command(units=("freeradius",))
    done = _as_planner(lab, key, f"sh -c {shlex.quote(command)}")
    assert done.returncode == 0 and "ActiveState=active" in done.stdout.splitlines(), done.stderr


def test_a_host_without_the_plan_account_is_reported(org, planner, tmp_path):
    """linux-001 has no plan account (never bootstrapped for planning): the plan says so."""
    _key, _deploy, plan_overlay = planner
    code, plan, err = _plan(org, plan_overlay, tmp_path / "linux.json", limit="linux-001")
    assert code == 1
    text = err + json.dumps(plan)
    assert "linux-001" in text and PLAN_USER in text and "bootstrapped for planning" in text, text[-2000:]
