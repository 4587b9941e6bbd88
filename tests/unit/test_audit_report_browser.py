"""The audit report renders in a real browser: headless Chromium takes a screenshot of it.

Chromium comes from Debian (scripts/bootstrap.sh installs it). Outside CI a machine without
it skips this test with the reason; in CI (`CI` set) a missing browser fails it, so the
report is never shipped unrendered.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from telework.audit.log import Audit
from telework.audit.report import build_report

from .test_audit import _run, build_history

BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def _browser() -> str:
    found = next((shutil.which(b) for b in BROWSERS if shutil.which(b)), None)
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing in CI: scripts/bootstrap.sh installs it (apt package chromium)")
        pytest.skip("chromium is not installed (apt-get install chromium); CI requires it")
    return found


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", data[16:24])


@pytest.mark.parametrize("lang", ["de", "en"])
def test_report_screenshot(tmp_path: Path, lang: str):
    browser = _browser()
    repo, c = build_history(tmp_path / "repo")
    _run(repo, c["merge"], "r1", "2026-03-10T13:00:00Z")
    with Audit(repo.inventory, index_path=tmp_path / "index.sqlite") as audit:
        build_report(audit, tmp_path / "out", lang=lang, now=datetime(2026, 4, 2, 12, 0, tzinfo=UTC))
    html = tmp_path / "out" / "report.html"
    assert html.read_text(encoding="utf-8").count("<svg") == 3
    shot = tmp_path / "report.png"
    done = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
         f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}", "--window-size=1280,2000",
         html.as_uri()], capture_output=True, text=True, timeout=180)
    assert shot.is_file(), f"no screenshot: {done.returncode} {done.stderr[-2000:]}"
    data = shot.read_bytes()
    assert _png_size(data) == (1280, 2000)
    # a blank page compresses to a few kilobytes; text, tables and charts do not
    assert len(data) > 40_000, f"screenshot suspiciously small ({len(data)} bytes): nothing rendered?"
