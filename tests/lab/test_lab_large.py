"""The lab of a real organisation's size: more endpoints than a /24 holds.

A county with 300 notebooks: `lab up` (which leaves notebooks out) and `lab down` (which lays
out the lab with them, to find everything) both work, and nothing of that lab is left behind.
The lab is its own organisation (slug `landkreis`), beside the session's sample lab.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from telework.inventory.loading import load_inventory
from telework.lab.topology import build_topology
from tests.conftest import MINIMAL, edit
from tests.lab.test_lab import _lab_objects
from tests.unit.test_lab_topology import add_notebooks

pytestmark = pytest.mark.lab

TELEWORK = [sys.executable, "-m", "telework.cli"]


def telework(*args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    return subprocess.run([*TELEWORK, *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "COLUMNS": "200"})


def test_lab_of_300_notebooks_comes_up_and_goes_down(tmp_path: Path):
    inventory = tmp_path / "landkreis"
    shutil.copytree(MINIMAL, inventory)
    edit(inventory / "organisation.yml", "slug: kleinoed", "slug: landkreis")
    add_notebooks(inventory, 300)
    loaded = load_inventory(inventory)
    assert not loaded.errors, [p.format() for p in loaded.errors]
    topo = build_topology(loaded.model, include_notebooks=True)
    assert len(topo.hosts) > 253 and topo.management.prefixlen < 24
    try:
        up = telework("lab", "up", str(inventory))
        assert up.returncode == 0, up.stdout[-3000:] + up.stderr[-3000:]
        status = telework("lab", "status", str(inventory), "--format", "json")
        assert status.returncode == 0, status.stderr
        hosts = json.loads(status.stdout)["hosts"]
        assert {h["name"]: h["system"] for h in hosts if h["running"]} == {
            "vpn-a": "running", "radius-1": "running", "sip-1": "running"}
    finally:
        down = telework("lab", "down", str(inventory))
    assert down.returncode == 0 and "Traceback" not in down.stderr, down.stderr[-3000:]
    assert _lab_objects(topo) == {"netns": [], "mounts": [], "root_link": False, "cgroups": []}
