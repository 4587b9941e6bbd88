"""Pull mode in the lab, on linux-002 only: build signed bundles, serve them on the controller's
lab management address, install the agent by push once, then let the endpoint pull, apply and
report.

The endpoint has no PyPI: the venv comes from the wheelhouse the controller built. A tampered
bundle is refused before anything runs, and the refusal is reported.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.lab

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "inventory" / "sample"
VENV_BIN = Path(sys.executable).parent
HOST = "linux-002"
SSHD_FILE = "/etc/ssh/sshd_config.d/telework.conf"
STATE = "/var/lib/telework/pull"


def run(argv, env=None, timeout=600, cwd=REPO, check=True) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(a) for a in argv], capture_output=True, text=True, env=env, timeout=timeout, cwd=cwd)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, argv))} failed ({proc.returncode}):\n"
                             f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


def free_port(address: str) -> int:
    with socket.socket() as sock:
        sock.bind((address, 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def pull(lab, tmp_path_factory):
    """A committed copy of the sample with a pull key, bundles for linux-002, a running
    `telework pull serve` on the controller and the agent installed on linux-002."""
    base = tmp_path_factory.mktemp("pull")
    inv = base / "inventory"
    shutil.copytree(SAMPLE, inv, ignore=shutil.ignore_patterns("secrets", "pki", "access", "pull"))
    env = {**os.environ, "TELEWORK_AGE_IDENTITY": str(base / "identity.txt"),
           "TELEWORK_OVERLAY": str(lab.overlay_file), "PYINFRA_PROGRESS": "off"}
    tw = [VENV_BIN / "telework"]
    git = ["git", "-c", "user.name=telework test", "-c", "user.email=test@invalid"]
    run(["git", "init", "-q"], cwd=inv)
    run([*tw, "secret", "init", inv], env=env)
    run([*tw, "pull", "init", inv], env=env)
    run(["git", "add", "-A"], cwd=inv)
    run([*git, "commit", "-qm", "sample with a pull key"], cwd=inv)
    out = base / "www"
    controller = str(lab.topology.controller_address)  # this machine in the lab's management range
    port = free_port(controller)
    url = f"http://{controller}:{port}"
    run([*tw, "pull", "build", inv, "--out", out, "--limit", HOST, "--base-url", url], env=env, timeout=900)
    server = subprocess.Popen([*map(str, tw), "pull", "serve", str(out), "--listen", f"{controller}:{port}",
                               "--quiet"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                urllib.request.urlopen(f"{url}/{HOST}/manifest.json", timeout=2).read()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise AssertionError("telework pull serve did not come up")
                time.sleep(0.2)
        run([*tw, "pull", "install", HOST, inv, "--base-url", url], env=env, timeout=1200)
        # a clean agent state: earlier runs (other bundles) must not make this one a downgrade
        lab.ssh(HOST, f"rm -rf {STATE}/last-applied.json {STATE}/bundles {STATE}/outbox")
        yield {"inv": inv, "out": out, "url": url, "env": env}
    finally:
        # the lab is shared: the endpoint leaves pull mode (no timer asking a server that is
        # gone, no settings naming it), as if the agent had never been installed
        lab.ssh(HOST, "systemctl disable --now telework-pull.timer; rm -f /etc/systemd/system/telework-pull.* "
                      "/etc/telework/pull.json; systemctl daemon-reload")
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)


def start_service(lab) -> tuple[int, dict]:
    """`systemctl start telework-pull.service` (oneshot: returns when the run is over); the
    exit status of the run and the agent's last result."""
    done = lab.ssh(HOST, "systemctl start telework-pull.service; "
                         "systemctl show -p ExecMainStatus --value telework-pull.service", timeout=900)
    status = int(done.stdout.strip().splitlines()[-1])
    result = json.loads(lab.ssh(HOST, f"cat {STATE}/last-result.json").stdout)
    return status, result


def reports(out: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((out / "reports" / HOST).glob("*.json"))]


def test_pull_applies_base_deploy_and_reports(lab, pull):
    """The agent fetches, verifies and applies the base deploy; a second run changes nothing;
    both reports reach the server and `telework pull reports` shows the endpoint current."""
    lab.ssh(HOST, f"rm -f {SSHD_FILE}")
    status, result = start_service(lab)
    assert status == 0, result
    assert result["status"] == "applied"
    assert "deploy/base.py | ssh: hardened server settings" in result["changed"]
    assert lab.ssh(HOST, f"test -f {SSHD_FILE} && echo present").stdout.strip() == "present"
    assert lab.ssh(HOST, "systemctl is-enabled telework-pull.timer").stdout.strip() == "enabled"

    status, second = start_service(lab)
    assert status == 0 and second["status"] == "applied"
    assert second["changed"] == [], f"second run changed {second['changed']}"

    delivered = reports(pull["out"])
    assert [r["status"] for r in delivered][-2:] == ["applied", "applied"]
    commit = run(["git", "rev-parse", "HEAD"], cwd=pull["inv"]).stdout.strip()
    assert delivered[-1]["bundle"]["inventory_commit"] == commit
    listing = run([VENV_BIN / "telework", "pull", "reports", pull["out"], "--format", "json"], env=pull["env"])
    (row,) = json.loads(listing.stdout)["endpoints"]
    assert row["host"] == HOST and row["status"] == "applied" and row["current"]


def test_tampered_bundle_is_refused_and_reported(lab, pull):
    """A tar changed on the server does not run (the removed file stays removed) and the
    refusal is reported; the untouched bundle then applies again."""
    out = pull["out"]
    manifest = json.loads((out / HOST / "manifest.json").read_text())
    tar = out / HOST / f"{manifest['bundle']['sha256']}.tar"
    original = tar.read_bytes()
    lab.ssh(HOST, f"rm -rf {SSHD_FILE} {STATE}/bundles")  # force a fresh download
    try:
        tar.write_bytes(original.replace(b"PasswordAuthentication no", b"PasswordAuthentication ya"))
        status, result = start_service(lab)
        assert status == 3, result
        assert result["status"] == "refused"
        assert "does not match its sha256" in result["error"]
        assert lab.ssh(HOST, f"test -e {SSHD_FILE} || echo absent").stdout.strip() == "absent"
        assert reports(out)[-1]["status"] == "refused"
    finally:
        tar.write_bytes(original)
    status, result = start_service(lab)
    assert status == 0 and result["status"] == "applied", result
    assert lab.ssh(HOST, f"test -f {SSHD_FILE} && echo present").stdout.strip() == "present"
