"""`telework verify` against the running lab: JUnit XML with every base suite green."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from .test_plan import HOSTS, inv, telework  # noqa: F401  (fixture: a git copy, applied)

pytestmark = pytest.mark.lab


def test_verify_writes_junit_with_all_base_suites_green(lab, inv: Path, tmp_path: Path):
    report = tmp_path / "verify.xml"
    done = telework(lab, "verify", str(inv), "--limit", HOSTS, "--junitxml", str(report), "-n", "2")
    assert done.returncode == 0, done.stdout + done.stderr
    suite = ET.parse(report).getroot().find("testsuite")
    assert suite.get("name") == "telework-verify"
    cases = suite.findall("testcase")
    names = {c.get("name") for c in cases}
    for host in HOSTS.split(","):
        assert f"test_ssh_no_password_login[{host}]" in names
        assert f"test_timezone[{host}]" in names
    # every case comes from a role's suite (test_<role>), wherever telework is installed
    assert {c.get("classname").rsplit(".", 1)[-1] for c in cases} == {"test_base", "test_pull_agent"}
    assert int(suite.get("failures")) == 0 and int(suite.get("errors")) == 0
    assert int(suite.get("tests")) >= 12 * 2


def test_verify_limit_to_nothing_known_is_an_error(lab):
    done = telework(lab, "verify", str(lab.inventory), "--limit", "no-such-host")
    assert done.returncode == 1
    assert "--limit 'no-such-host' matches no host and no group" in done.stderr
