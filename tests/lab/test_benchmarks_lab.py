"""The lab benchmark family's smoke run: its own small lab, every contender once (telework,
bare pyinfra, Ansible, the SSH floor), the end-state proof, and the lab taken down again.

No timing is asserted: the numbers go to a temporary RESULTS file and are only checked to be
there. The full run is `python -m benchmarks --only lab` (benchmarks/RESULTS.md).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.lab

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_lab_family_smoke(tmp_path):
    results = tmp_path / "RESULTS.md"
    proc = subprocess.run([sys.executable, "-m", "benchmarks", "--smoke", "--only", "lab", "--results", str(results)],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stderr[-5000:]
    assert "family lab: ok" in proc.stdout
    text = results.read_text()
    assert "### No-change plan" in text and "### Apply with one change" in text
    # both directions of the end-state proof hold (the family raises otherwise)
    assert "`telework plan`: exit 0 (no change)" in text
    assert "`ansible-playbook --check`: changed=0 (no change)" in text
    # telework's no-change plan asks each host one batched command per deploy file
    row = next(line for line in text.splitlines() if line.startswith("| 1 | "))
    assert row.rstrip(" |").endswith("| 2"), row
