"""`telework plan` against the running lab (linux-001 and linux-002; other hosts belong to other suites).

Each test works on a git copy of the sample inventory in tmp_path, applies it first so the
hosts start from the copy's state, changes one thing and looks at the plan. The CLI runs in a
subprocess, as CI runs it (pyinfra's gevent patch and its per-process caches stay out of the
test process).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import SAMPLE

pytestmark = pytest.mark.lab

HOSTS = "linux-001,linux-002"
SECRET_VALUE = "Lab-Secret-Zq81mXv3Kp0wT7"


def telework(lab, *args: str, env: dict | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "TELEWORK_OVERLAY": str(lab.overlay_file), "COLUMNS": "200", **(env or {})}
    return subprocess.run([sys.executable, "-m", "telework.cli", *args], capture_output=True,
                          text=True, timeout=timeout, env=full_env)


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), "-c", "user.name=Lab Test", "-c",
                           "user.email=lab@example.org", *args], capture_output=True, text=True,
                          check=True).stdout


def commit_all(inv: Path, message: str) -> None:
    git(inv.parent, "add", "-A")
    git(inv.parent, "commit", "-qm", message)


@pytest.fixture
def inv(tmp_path: Path, lab) -> Path:
    """A committed copy of the sample inventory, applied to linux-001 and linux-002; linux-001
    is moved to the ring `all`, so the two hosts are applied in two rings (pilot first)."""
    target = tmp_path / "repo" / "inv"
    shutil.copytree(SAMPLE, target)
    linux = target / "endpoints" / "linux.yml"
    linux.write_text(linux.read_text().replace("{name: linux-001, site: rathaus, owner: lschubert, ring: pilot,",
                                               "{name: linux-001, site: rathaus, owner: lschubert, ring: all,", 1))
    git(tmp_path / "repo", "init", "-q")
    commit_all(target, "sample")
    done = telework(lab, "apply", str(target), "--limit", HOSTS)
    assert done.returncode == 0, done.stdout + done.stderr
    return target


def test_plan_connects_without_nagle_and_logs_its_commands(lab, inv: Path, tmp_path: Path):
    """The telework connector sets TCP_NODELAY on its SSH socket (no ~40 ms delayed-ACK wait
    per command) and logs each command with $TELEWORK_COMMAND_LOG, as the benchmarks replay them."""
    log = tmp_path / "commands.jsonl"
    code = textwrap.dedent(f"""\
        from telework.engine.connector import nodelay_enabled
        from telework.plan.planner import Planner
        with Planner({str(inv)!r}, limit="radius-1") as planner:
            [ssh] = planner.sets
            host = ssh.deployment.state.inventory.get_host("radius-1")
            print(type(host.connector).__name__, nodelay_enabled(host.connector), host.connector.commands)
        """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "TELEWORK_OVERLAY": str(lab.overlay_file),
                               "TELEWORK_COMMAND_LOG": str(log)})
    assert done.returncode == 0, done.stderr
    name, nodelay, commands = done.stdout.split()
    assert (name, nodelay) == ("TeleworkConnector", "True")
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(entries) == int(commands) >= 1
    assert all(e["host"] == "radius-1" for e in entries) and "@@" in entries[0]["command"]  # one batched fact


def change_auth_tries(inv: Path, value: int) -> None:
    (inv / "group_data").mkdir(exist_ok=True)
    (inv / "group_data" / "all.py").write_text(f"base_sshd_max_auth_tries = {value}\n")


def test_freshly_applied_lab_plans_no_change(lab, inv: Path):
    done = telework(lab, "plan", str(inv), "--limit", HOSTS)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Plan: 0 host(s) changing (0 change(s)), 2 unchanged, 0 unreachable, 0 failed" in done.stdout
    assert done.stderr == ""  # no pyinfra noise


def test_changed_setting_shows_exactly_the_changed_lines(lab, inv: Path, tmp_path: Path):
    change_auth_tries(inv, 5)
    commit_all(inv, "sshd: 5 tries")
    out = {fmt: tmp_path / f"plan.{suffix}" for fmt, suffix in (("json", "json"), ("markdown", "md"), ("text", "txt"))}
    done = telework(lab, "plan", str(inv), "--limit", HOSTS, *[a for p in out.values() for a in ("--out", str(p))])
    assert done.returncode == 2, done.stdout + done.stderr

    data = json.loads(out["json"].read_text())
    assert data["summary"] == {"changed": 2, "unchanged": 0, "unreachable": 0, "failed": 0, "unmanaged": 0,
                               "changes": 4}
    for host in data["hosts"]:
        ops = [c["op"] for c in host["changes"]]
        assert ops == ["deploy/base.py | ssh: hardened server settings",
                       "deploy/base.py | ssh: reload after a settings change"], host["name"]
        sshd = host["changes"][0]
        assert sshd["path"] == "/etc/ssh/sshd_config.d/telework.conf"
        assert [line for line in sshd["diff"] if line[:1] in "+-"] == ["-MaxAuthTries 3", "+MaxAuthTries 5"]

    text = out["text"].read_text()
    assert [line.strip() for line in text.splitlines() if re.match(r"\s+[-+][A-Z]", line)] == \
        ["-MaxAuthTries 3", "+MaxAuthTries 5"] * 2
    # the text and JSON list the same changes
    assert re.findall(r"~ (deploy/\S+ \| .+)", text) == [c["op"] for h in data["hosts"] for c in h["changes"]]
    md = out["markdown"].read_text()
    assert md.count("-MaxAuthTries 3\n+MaxAuthTries 5") == 2
    assert md.startswith("### telework plan: changes to apply")


@pytest.fixture
def secret_inv(inv: Path, tmp_path: Path) -> tuple[Path, dict]:
    """The copy with a secret in its store and a deploy that uses it in every way that leaks
    with plain pyinfra: an auto-named operation, a command, an uploaded file, a secret_file."""
    from telework.secrets.store import SecretStore

    identity = tmp_path / "age" / "identity.txt"
    store = SecretStore(inv, identity)
    store.init_identity(identity, comment="lab test")
    store.set("test/plan-secret", SECRET_VALUE, "manual")
    commit_all(inv, "a secret")
    deploy = tmp_path / "leaky_deploy.py"
    deploy.write_text(textwrap.dedent(f"""\
        from io import StringIO
        from pyinfra import host
        from pyinfra.operations import files, server
        from telework.engine.operations.secret_files import secret_file
        from telework.secrets.store import SecretStore

        value = SecretStore(host.data.telework_inventory).get("test/plan-secret")
        server.shell(commands=[f"true {{value}}"])
        files.put(name="a file that happens to hold the secret",
                  src=StringIO(f"token = {{value}}\\n"), dest="/root/telework-plan-test.conf")
        secret_file(name="the secret as a secret file", path="/root/telework-plan-test.key",
                    content=value)
        """))
    return inv, {"TELEWORK_AGE_IDENTITY": str(identity), "deploy": str(deploy)}


def test_no_secret_in_any_output(lab, secret_inv, tmp_path: Path):
    inv, ctx = secret_inv
    env = {"TELEWORK_AGE_IDENTITY": ctx["TELEWORK_AGE_IDENTITY"]}
    outs = [tmp_path / "p.json", tmp_path / "p.md", tmp_path / "p.txt"]
    try:
        done = telework(lab, "plan", str(inv), "--limit", "linux-001", "--deploy", ctx["deploy"],
                        *[a for p in outs for a in ("--out", str(p))], env=env)
        assert done.returncode == 2, done.stdout + done.stderr
        stdout_plan = telework(lab, "plan", str(inv), "--limit", "linux-001", "--deploy", ctx["deploy"], env=env)
        texts = {p.name: p.read_text() for p in outs}
        texts.update(stderr=done.stderr + stdout_plan.stderr, stdout=stdout_plan.stdout)
        for name, text in texts.items():
            assert SECRET_VALUE not in text, name
        data = json.loads(texts["p.json"])
        changes = {c["op"]: c for c in data["hosts"][0]["changes"]}
        file_change = changes["a file that happens to hold the secret"]
        assert file_change["sensitive"] and file_change["diff"] == []
        assert changes["the secret as a secret file"]["sensitive"]
        assert changes["server.shell"]["commands"] == ["true [redacted:test/plan-secret]"]

        # the apply's console output and run record hold no secret either
        applied = telework(lab, "apply", str(inv), "--limit", "linux-001", "--deploy", ctx["deploy"], env=env)
        assert applied.returncode == 0, applied.stdout + applied.stderr
        assert SECRET_VALUE not in applied.stdout + applied.stderr
        notes = git(inv.parent, "notes", "--ref=refs/notes/telework/runs", "show", "HEAD")
        assert SECRET_VALUE not in notes
        assert json.loads(notes.strip().splitlines()[-1])["result"] == "ok"
    finally:
        lab.ssh("linux-001", "rm -f /root/telework-plan-test.conf /root/telework-plan-test.key")


def test_unreachable_host_is_an_error(lab, inv: Path, tmp_path: Path):
    overlay = lab.overlay
    overlay["hosts"]["linux-001"]["ssh_port"] = 1  # closed: connection refused
    bad = tmp_path / "overlay.yml"
    import yaml

    bad.write_text(yaml.safe_dump(overlay))
    done = telework(lab, "plan", str(inv), "--limit", HOSTS, "--format", "json",
                    env={"TELEWORK_OVERLAY": str(bad)})
    assert done.returncode == 1
    data = json.loads(done.stdout)
    status = {h["name"]: h["status"] for h in data["hosts"]}
    assert status == {"linux-001": "unreachable", "linux-002": "unchanged"}
