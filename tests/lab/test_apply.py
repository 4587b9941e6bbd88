"""`telework apply` against the running lab (linux-001 and linux-002): the lock, a host lost in the
middle of an apply, and the run record auditors read.

A deploy file of the test's own (base + a slow step + a marker file) makes an apply last long
enough to race it; the marker files are removed afterwards.
"""

from __future__ import annotations

import json
import subprocess
import textwrap
import time
from pathlib import Path

import pytest

from .test_plan import HOSTS, commit_all, git, inv, telework  # noqa: F401  (fixture)

pytestmark = pytest.mark.lab

MARKER = "/root/telework-apply-test.marker"
KILL_TABLE = """table inet tw_killtest {
  chain in { type filter hook input priority -300; tcp dport 22 reject with tcp reset; }
}
"""


@pytest.fixture
def slow_deploy(tmp_path: Path, lab) -> Path:
    deploy = tmp_path / "slow_deploy.py"
    deploy.write_text(textwrap.dedent(f"""\
        from io import StringIO
        from pyinfra import local
        from pyinfra.operations import files, server
        from telework.resources import deploy_dir

        local.include(str(deploy_dir() / "base.py"))
        server.shell(name="test: a slow step", commands=["sleep 8"])
        files.put(name="test: marker after the slow step", src=StringIO("applied\\n"), dest="{MARKER}")
        """))
    yield deploy
    for host in HOSTS.split(","):
        lab.ssh(host, f"rm -f {MARKER}")


def lock_file(inv: Path) -> Path:
    return inv.parent / ".git" / "telework" / "apply.lock"


def start_apply(lab, inv: Path, deploy: Path) -> subprocess.Popen:
    import os
    import sys

    env = {**os.environ, "TELEWORK_OVERLAY": str(lab.overlay_file), "COLUMNS": "200"}
    return subprocess.Popen([sys.executable, "-m", "telework.cli", "apply", str(inv), "--limit", HOSTS,
                             "--deploy", str(deploy)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)


def wait_for(predicate, timeout: float = 30, what: str = "condition") -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_second_concurrent_apply_is_refused(lab, inv: Path, slow_deploy: Path):
    first = start_apply(lab, inv, slow_deploy)
    try:
        wait_for(lock_file(inv).exists, what="the first apply's lock")
        second = telework(lab, "apply", str(inv), "--limit", HOSTS)
        assert second.returncode == 1
        assert "error: another apply is running: pid" in second.stderr
        assert "Traceback" not in second.stderr
    finally:
        out, err = first.communicate(timeout=180)
    assert first.returncode == 0, out + err
    assert not lock_file(inv).exists()
    # the refused apply recorded nothing; the first one did
    records = git(inv.parent, "notes", "--ref=refs/notes/telework/runs", "show", "HEAD").split("\n")
    assert [json.loads(r)["result"] for r in records if r.strip()] == ["ok", "ok"]  # fixture + first


def test_host_lost_during_apply_others_finish_rerun_converges(lab, inv: Path, slow_deploy: Path):
    # both hosts in one ring, so the rollout does not stop between them
    linux = inv / "endpoints" / "linux.yml"
    linux.write_text(linux.read_text().replace("{name: linux-001, site: rathaus, owner: lschubert, ring: all,",
                                               "{name: linux-001, site: rathaus, owner: lschubert, ring: pilot,", 1))
    commit_all(inv, "linux-001 in the pilot ring")

    netns = lab.topology.host("linux-001").netns
    apply = start_apply(lab, inv, slow_deploy)
    try:
        wait_for(lock_file(inv).exists, what="the apply's lock")
        wait_for(lambda: "sleep 8" in lab.ssh("linux-001", "ps -eo args").stdout, what="the slow step on linux-001")
        subprocess.run(["ip", "netns", "exec", netns, "nft", "-f", "-"], input=KILL_TABLE, text=True, check=True)
        out, err = apply.communicate(timeout=180)
    finally:
        if apply.poll() is None:
            apply.kill()
        subprocess.run(["ip", "netns", "exec", netns, "nft", "delete", "table", "inet", "tw_killtest"],
                       capture_output=True)
    assert apply.returncode == 1, out + err
    assert "linux-001: failed" in out
    assert "linux-002: changed" in out
    assert "Traceback" not in out + err
    assert lab.ssh("linux-002", f"cat {MARKER}").stdout == "applied\n"
    record = json.loads(git(inv.parent, "notes", "--ref=refs/notes/telework/runs", "show", "HEAD").strip().splitlines()[-1])
    assert record["hosts"]["linux-001"]["status"] == "failed" and record["hosts"]["linux-001"]["error"]
    assert record["hosts"]["linux-002"]["status"] == "changed"
    assert record["result"] == "stopped"  # 1 of 2 pilot hosts failed: above the 20 % threshold

    rerun = telework(lab, "apply", str(inv), "--limit", HOSTS, "--deploy", str(slow_deploy))
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert lab.ssh("linux-001", f"cat {MARKER}").stdout == "applied\n"
    plan = telework(lab, "plan", str(inv), "--limit", HOSTS)
    assert plan.returncode == 0, plan.stdout + plan.stderr


def test_run_record_says_who_what_when(lab, inv: Path):
    done = telework(lab, "apply", str(inv), "--limit", HOSTS,
                    env={"GITLAB_USER_LOGIN": "jdoe", "CI_PIPELINE_ID": "42",
                         "CI_JOB_URL": "https://gitlab.example/it/inv/-/jobs/7"})
    assert done.returncode == 0, done.stdout + done.stderr
    head = git(inv.parent, "rev-parse", "HEAD").strip()
    record = json.loads(git(inv.parent, "notes", "--ref=refs/notes/telework/runs", "show", head).strip().splitlines()[-1])
    assert record["schema"] == "telework.run/1"
    assert record["commit"] == head and record["dirty"] is False
    assert record["who"]["login"] == "jdoe" and record["who"]["source"] == "gitlab-ci"
    assert record["ci"]["job_url"] == "https://gitlab.example/it/inv/-/jobs/7"
    assert record["hosts"] == {"linux-002": {"status": "unchanged", "ring": "pilot", "changed_ops": [], "error": None},
                               "linux-001": {"status": "unchanged", "ring": "all", "changed_ops": [], "error": None}}
    assert [r["name"] for r in record["rings"]] == ["pilot", "all"]
    assert record["plan"]["schema"] == "telework.plan/1" and record["plan"]["exit_code"] == 0


def test_apply_refuses_a_plan_that_differs_from_the_reviewed_one(lab, inv: Path, tmp_path: Path):
    (inv / "group_data").mkdir()
    (inv / "group_data" / "all.py").write_text("base_sshd_max_auth_tries = 5\n")
    commit_all(inv, "5 tries")
    reviewed = tmp_path / "reviewed.json"
    planned = telework(lab, "plan", str(inv), "--limit", HOSTS, "--out", str(reviewed))
    assert planned.returncode == 2, planned.stderr
    # main moves on after the review: 6 tries now
    (inv / "group_data" / "all.py").write_text("base_sshd_max_auth_tries = 6\n")
    commit_all(inv, "6 tries")
    refused = telework(lab, "apply", str(inv), "--limit", HOSTS, "--plan", str(reviewed))
    assert refused.returncode == 1
    assert "the changes differ from the reviewed plan; nothing was applied" in refused.stderr
    assert "linux-001: differs from the reviewed plan: deploy/base.py | ssh: hardened server settings" in refused.stderr
    assert "MaxAuthTries 3" in lab.ssh("linux-001", "cat /etc/ssh/sshd_config.d/telework.conf").stdout
    # the reviewed state applies; then back to the sample's
    (inv / "group_data" / "all.py").write_text("base_sshd_max_auth_tries = 5\n")
    commit_all(inv, "back to 5")
    try:
        applied = telework(lab, "apply", str(inv), "--limit", HOSTS, "--plan", str(reviewed))
        assert applied.returncode == 0, applied.stdout + applied.stderr
        assert "MaxAuthTries 5" in lab.ssh("linux-001", "cat /etc/ssh/sshd_config.d/telework.conf").stdout
    finally:
        (inv / "group_data" / "all.py").unlink()
        commit_all(inv, "sample defaults")
        restored = telework(lab, "apply", str(inv), "--limit", HOSTS)
        assert restored.returncode == 0, restored.stdout + restored.stderr
