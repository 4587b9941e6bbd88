"""A plan made in one clone is applied from another (issue 22): every fingerprint depends only
on what would change on the host, never on the time, temporary names, tar headers, hash seeds
or the checkout's path.

vpn-b gets a fresh root, so its plan holds every kind of change telework makes: packages,
units, plain files, secret files, the synced client-config-dir, the nftables ruleset, a
kernel setting. Two clones of the org at two paths plan it seconds apart in processes with
different hash seeds and must agree on every (operation, fingerprint). A real drift between
plan and apply (a file dropped into the client-config-dir by hand) is refused; without it the
plan of clone A is applied from clone B, which deploys vpn-b again for the other tests.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from .conftest import VENV_BIN, run

pytestmark = pytest.mark.lab

HOST = "vpn-b"
CCD = "/etc/openvpn/server/telework/ccd"


def _plan(org, inventory: Path, out: Path, seed: str) -> dict:
    done = run([str(VENV_BIN / "telework"), "plan", str(inventory), "--limit", HOST, "--out", str(out)],
               env={**org.env, "PYTHONHASHSEED": seed}, check=False)
    assert done.returncode == 2, done.stdout + done.stderr
    return json.loads(out.read_text())


def _apply(org, inventory: Path, reviewed: Path) -> subprocess.CompletedProcess:
    return run([str(VENV_BIN / "telework"), "apply", str(inventory), "--limit", HOST, "--plan", str(reviewed)],
               env=org.env, check=False)


def test_a_plan_of_one_clone_applies_from_another_and_drift_is_refused(lab, org, tmp_path: Path):
    a, b = tmp_path / "a", tmp_path / "some" / "other" / "place" / "b"
    b.parent.mkdir(parents=True)
    for clone in (a, b):
        run(["git", "clone", "-q", str(org.inventory), str(clone)])
    lab.reset_host(HOST)
    try:
        first = _plan(org, a, tmp_path / "a.json", seed="1")
        time.sleep(1.5)
        second = _plan(org, b, tmp_path / "b.json", seed="2")
        assert first["inventory"] != second["inventory"]
        (host_a,), (host_b,) = first["hosts"], second["hosts"]
        changes = host_a["changes"]
        assert [(c["op"], c["fingerprint"]) for c in changes] == \
               [(c["op"], c["fingerprint"]) for c in host_b["changes"]]
        # every kind of change telework makes is in this plan
        kinds = {c["kind"] for c in changes}
        assert {"package", "service", "file", "command"} <= kinds, kinds
        assert any(c["sensitive"] for c in changes)                          # secret files
        assert any("client-config-dir" in c["op"] for c in changes)          # synced directory
        assert any(c["path"] == "/etc/nftables.conf" for c in changes)       # nftables ruleset
        assert any("IPv4 forwarding" in c["op"] for c in changes)            # sysctl

        # drift: someone puts a file into the client-config-dir before the apply
        lab.ssh(HOST, f"mkdir -p {CCD} && echo 'ifconfig-push 10.128.0.99 255.255.252.0' > {CCD}/intruder")
        refused = _apply(org, b, tmp_path / "a.json")
        assert refused.returncode == 1
        assert "the changes differ from the reviewed plan; nothing was applied" in refused.stderr
        assert "client-config-dir" in refused.stderr and "Traceback" not in refused.stderr
        assert lab.ssh(HOST, "test -e /etc/openvpn/server/telework.conf || echo absent").stdout.strip() == "absent"

        lab.ssh(HOST, "rm -rf /etc/openvpn")  # as fresh as it was planned
        applied = _apply(org, b, tmp_path / "a.json")
        assert applied.returncode == 0, applied.stdout + applied.stderr
        assert f"{HOST}: changed" in applied.stdout
    except BaseException:
        org.apply()  # vpn-b deployed again for the other lab tests
        raise
