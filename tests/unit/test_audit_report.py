"""`telework audit report`: the HTML and CSV files auditors get, in German and English."""

from __future__ import annotations

import csv
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from telework.audit.log import Audit
from telework.audit.report import build_report
from telework.cli.main import cli

from .test_audit import _run, build_history

SUITE = '''"""A suite for the report test."""
import pytest
pytestmark = pytest.mark.role("vpn_concentrators")


def test_listens(host):
    """NET.3.3.A4, A13: the concentrator listens where it should."""


def test_totp(host):
    """ORP.4.A21: TOTP is required."""


def test_unmapped(host):
    """Checks something without naming a requirement."""
'''
JUNIT = ('<?xml version="1.0"?><testsuites><testsuite name="telework-verify" tests="3" failures="1" '
         'errors="0" skipped="0" timestamp="2026-04-02T10:00:00">'
         '<testcase classname="tests.hosts.test_vpn" name="test_listens[vpn-a]"/>'
         '<testcase classname="tests.hosts.test_vpn" name="test_listens[vpn-b]"><failure message="port"/></testcase>'
         '<testcase classname="tests.hosts.test_vpn" name="test_totp[vpn-a]"/>'
         '</testsuite></testsuites>')


@pytest.fixture(scope="module")
def reported(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    repo, c = build_history(root / "repo")
    _run(repo, c["merge"], "r1", "2026-03-10T13:00:00Z")
    suites = root / "hosts"
    suites.mkdir()
    (suites / "test_vpn.py").write_text(SUITE, encoding="utf-8")
    junit = root / "verify.xml"
    junit.write_text(JUNIT, encoding="utf-8")
    out = {}
    for lang in ("de", "en"):
        with Audit(repo.inventory, index_path=root / "index.sqlite") as audit:
            build_report(audit, root / lang, lang=lang, junit=junit, suites=suites,
                         now=datetime(2026, 4, 2, 12, 0, tzinfo=UTC))
        out[lang] = root / lang
    return out, repo, c


def test_files_written(reported):
    out, _repo, _c = reported
    assert sorted(p.name for p in out["de"].iterdir()) == [
        "changes.csv", "compliance.csv", "devices_by_firmware.csv", "devices_by_ring.csv", "fleet.csv",
        "report.html", "requirements.csv", "runs.csv", "vpn_by_department.csv"]


def test_html_is_self_contained_with_charts(reported):
    out, _repo, _c = reported
    html = (out["de"] / "report.html").read_text(encoding="utf-8")
    assert html.count("<svg") == 3 and "<path d='M" in html and "<rect" in html
    # nothing to fetch: no script, stylesheet link, image or font from anywhere
    assert not re.search(r"<script|<link|<img|<iframe|@import|url\(|src=", html)
    assert "https://" not in html and "http://" not in html.replace("http://www.w3.org/2000/svg", "")


def test_german_report(reported):
    out, _repo, _c = reported
    html = (out["de"] / "report.html").read_text(encoding="utf-8")
    assert '<html lang="de">' in html
    assert "Prüfbericht: Telearbeitsplätze der Stadt Grünfelden" in html
    assert "Änderungsprotokoll" in html and "VPN-Zugänge je Amt im Zeitverlauf" in html
    assert "VPN-Zugang für jmueller (Jürgen Müller) erteilt" in html
    assert "Amt von jmueller (Jürgen Müller) geändert: bauamt → kaemmerei" in html
    assert "zusammengeführt von Max Maintainer" in html
    # compliance: the failing host, the requirement titles, a check without an ID
    assert "NET.3.3.A13" in html and "Integration von VPN-Komponenten in eine Firewall" in html
    assert "fehlgeschlagen" in html and "vpn-b" in html and "Prüfungen ohne Anforderungs-ID: 1" in html
    assert "vollständig" in html and "nicht abgedeckt" in html
    # the run and what it applied first
    assert "r1" in html and "angewendet am 10.03.2026 14:00 durch Olaf Ops" in html


def test_english_report(reported):
    out, _repo, _c = reported
    html = (out["en"] / "report.html").read_text(encoding="utf-8")
    assert '<html lang="en">' in html and "Audit report: home-office estate of Stadt Grünfelden" in html
    assert "VPN access granted to jmueller (Jürgen Müller)" in html
    assert "department of jmueller (Jürgen Müller) changed bauamt -&gt; kaemmerei" in html
    assert "not applied yet" in html  # the revocation came after the last run


def _rows(path: Path, sep: str) -> list[list[str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # spreadsheets read umlauts right with a BOM
    return list(csv.reader(raw.decode("utf-8-sig").splitlines(), delimiter=sep))


def test_csv_files(reported):
    out, _repo, c = reported
    changes = _rows(out["de"] / "changes.csv", ";")
    assert changes[0][:5] == ["Zeitpunkt", "Commit", "Autor/in", "Freigabe", "Änderung"]
    grant = next(r for r in changes if r[4] == "VPN-Zugang für jmueller (Jürgen Müller) erteilt")
    assert grant[1] == c["grant"] and grant[3] == "#1234"
    assert _rows(out["en"] / "changes.csv", ",")[0][0] == "When"
    compliance = _rows(out["en"] / "compliance.csv", ",")
    assert ["test_vpn", "test_listens", "NET.3.3.A4 NET.3.3.A13", "the concentrator listens where it should.",
            "failed", "vpn-a=passed vpn-b=failed"] in compliance
    # coverage per requirement: ORP.4.A21 can be evidenced fully and its check passed; NET.3.3.A13's
    # only check failed on vpn-b; NET.3.3.A4's checks can evidence only part of it; a requirement
    # no check names is listed as not covered
    requirements = {r[0]: r for r in _rows(out["en"] / "requirements.csv", ",")[1:]}
    assert requirements["ORP.4.A21"][2:] == ["full", "test_vpn::test_totp", "passed"]
    assert requirements["NET.3.3.A13"][2:] == ["none", "test_vpn::test_listens", "failed"]
    assert requirements["NET.3.3.A1"][2:] == ["none", "", ""]
    fleet = dict(_rows(out["en"] / "fleet.csv", ",")[1:])
    assert fleet["People"] == "2" and fleet["People with VPN access"] == "1"  # jmueller is revoked
    vpn = _rows(out["en"] / "vpn_by_department.csv", ",")
    assert vpn[1][1] == c["initial"] and vpn[1][2:] == ["kaemmerei", "1"]


def test_cli_report(reported, tmp_path):
    _out, repo, _c = reported
    done = CliRunner().invoke(cli, ["audit", "report", str(repo.inventory), "--out", str(tmp_path / "r"),
                                    "--lang", "en"])
    assert done.exit_code == 0, done.output
    assert (tmp_path / "r" / "report.html").is_file()
    # the real Testinfra suites of this checkout, none run: every check "not run"
    assert "not run" in (tmp_path / "r" / "report.html").read_text(encoding="utf-8")
