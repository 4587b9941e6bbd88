"""`telework plan` and `apply` without hosts: unreachable hosts are errors (exit 1), every
format says so, nothing prints pyinfra's noise or a traceback; apply refuses a dirty repo."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import MINIMAL

pytestmark = pytest.mark.slow


def telework(*args: str, overlay: Path, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "TELEWORK_OVERLAY": str(overlay), "COLUMNS": "200"}
    env.pop("TELEWORK_AGE_IDENTITY", None)
    return subprocess.run([sys.executable, "-m", "telework.cli", *args], capture_output=True,
                          text=True, timeout=120, env=env, cwd=cwd)


@pytest.fixture
def nowhere(tmp_path: Path) -> Path:
    """An overlay that sends every host to a closed port on this machine."""
    import telework.inventory.loading as inventory
    from telework.inventory.hosts import host_entries

    loaded = inventory.require_inventory(MINIMAL)
    hosts = {name: {"ssh_hostname": "127.0.0.1", "ssh_port": 1}
             for name, _, _ in host_entries(loaded.model, MINIMAL, None)}
    path = tmp_path / "overlay.yml"
    path.write_text(yaml.safe_dump({"hosts": hosts}))
    return path


def test_plan_unreachable_hosts_exit_1_in_every_format(nowhere: Path, tmp_path: Path):
    result = telework("plan", str(MINIMAL), "--limit", "vpn-a",
                      "--out", str(tmp_path / "p.json"), "--out", str(tmp_path / "p.md"),
                      "--out", str(tmp_path / "p.txt"), overlay=nowhere)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    data = json.loads((tmp_path / "p.json").read_text())
    assert data["summary"]["unreachable"] == 1 and data["exit_code"] == 1
    (host,) = data["hosts"]
    assert host["name"] == "vpn-a" and host["status"] == "unreachable"
    assert "Could not connect" in host["error"]
    assert "unreachable" in (tmp_path / "p.md").read_text()
    assert "! vpn-a: unreachable" in (tmp_path / "p.txt").read_text()
    assert "1 unreachable" in result.stderr


def test_plan_unknown_limit_is_a_clear_error(nowhere: Path):
    result = telework("plan", str(MINIMAL), "--limit", "nope", overlay=nowhere)
    assert result.returncode == 1
    assert "error: --limit 'nope' matches no host and no group" in result.stderr
    assert "Traceback" not in result.stderr


def test_apply_refuses_uncommitted_changes(nowhere: Path, tmp_path: Path):
    inv = tmp_path / "repo" / "inv"
    shutil.copytree(MINIMAL, inv)
    subprocess.run(["git", "init", "-q", str(inv.parent)], check=True)
    subprocess.run(["git", "-C", str(inv.parent), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(inv.parent), "-c", "user.name=t", "-c", "user.email=t@e",
                    "commit", "-qm", "init"], check=True)
    (inv / "organisation.yml").write_text((inv / "organisation.yml").read_text() + "\n")
    result = telework("apply", str(inv), "--limit", "vpn-a", overlay=nowhere)
    assert result.returncode == 1
    assert "the inventory has uncommitted changes" in result.stderr
    assert "organisation.yml" in result.stderr
    assert not (inv.parent / ".git" / "telework" / "apply.lock").exists()


#: `telework` run with a registry that has no SIP role: sip-1 becomes a host no built role serves
WITHOUT_SIP_ROLE = ("import telework.roles.registry as r; "
                    "r.ROLES = tuple(x for x in r.ROLES if x.name != 'sip_server'); "
                    "from telework.cli.main import main; main()")


def test_a_host_no_built_role_serves_is_unmanaged_in_every_format_and_strict_fails(tmp_path: Path):
    """A host whose groups no built role serves (sip-1, with the SIP role taken out of the
    registry) is shown as unmanaged (never unchanged), nothing connects to it (no overlay, no
    lab: a connection attempt would fail the plan), `--strict` exits 1."""
    from tests.conftest import SAMPLE

    empty = tmp_path / "overlay.yml"
    empty.write_text("hosts: {}\n")
    env = {**os.environ, "TELEWORK_OVERLAY": str(empty), "COLUMNS": "200"}
    env.pop("TELEWORK_AGE_IDENTITY", None)

    def telework_without_sip(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-c", WITHOUT_SIP_ROLE, *args], capture_output=True, text=True,
                              timeout=120, env=env)

    outs = [tmp_path / "p.json", tmp_path / "p.md", tmp_path / "p.txt"]
    result = telework_without_sip("plan", str(SAMPLE), "--limit", "sip-1", *[a for o in outs for a in ("--out", str(o))])
    assert result.returncode == 0, result.stderr
    data = json.loads(outs[0].read_text())
    [host] = data["hosts"]
    assert (host["name"], host["status"], data["summary"]["unmanaged"]) == ("sip-1", "unmanaged", 1)
    assert "no role is built for sip_servers" in host["error"]
    assert "sip-1" in outs[1].read_text() and "unmanaged" in outs[1].read_text()
    assert "? sip-1: unmanaged: no role is built for sip_servers" in outs[2].read_text()
    strict = telework_without_sip("plan", str(SAMPLE), "--limit", "sip-1", "--strict", "--format", "json")
    assert strict.returncode == 1
    assert json.loads(strict.stdout)["exit_code"] == 1 and "Traceback" not in strict.stderr
