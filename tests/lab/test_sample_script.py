"""The README's first command, `bash scripts/sample.sh`, run as a new user runs it: the main job on
the built-in sample (validate, an organisation repository by `telework init`, the lab, plan, apply,
an empty second plan, verify, a real VPN client), so that a change to any role or layer cannot
break it unnoticed.

It gets a lab of its own ($TELEWORK_LAB_SUFFIX, beside the session's lab) and a sample directory
of its own (TELEWORK_SAMPLE_DIR), and takes its lab down afterwards.
"""

from __future__ import annotations

import os
import subprocess
import xml.etree.ElementTree as ET

import pytest

from .conftest import REPO, VENV_BIN

pytestmark = [pytest.mark.lab, pytest.mark.slow]


def test_the_main_job_runs_end_to_end_on_the_sample(tmp_path):
    if os.geteuid() != 0:
        if os.environ.get("CI"):
            pytest.fail("the main job needs root (the lab)")
        pytest.skip("the main job needs root (the lab)")
    env = {**os.environ, "TELEWORK_SAMPLE_DIR": str(tmp_path / "sample"),
           "TELEWORK_LAB_SUFFIX": os.environ.get("TELEWORK_LAB_SUFFIX", "") + "-main"}
    env.pop("TELEWORK_OVERLAY", None)
    env.pop("TELEWORK_AGE_IDENTITY", None)
    try:
        proc = subprocess.run(["bash", "scripts/sample.sh"], cwd=REPO, env=env, capture_output=True,
                              text=True, timeout=1800)
        assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
        assert "\n== done\n" in proc.stdout
        report = ET.parse(tmp_path / "sample" / "verify.xml").getroot()
        suites = [report] if report.tag == "testsuite" else list(report)
        assert sum(int(s.get("tests", 0)) for s in suites) > 0
        assert sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites) == 0
    finally:
        inventory = tmp_path / "sample" / "repo" / "inventory"
        if inventory.is_dir():
            subprocess.run([str(VENV_BIN / "telework"), "lab", "down", str(inventory)], env=env,
                           capture_output=True, timeout=300)
