"""The benchmark runner keeps working: its smoke mode runs every family end to end.

No timing is asserted here, ever: speed is measured by `python -m benchmarks` and recorded in
benchmarks/RESULTS.md, as ratios from one run on one machine.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from benchmarks import FAMILIES, LAB_FAMILIES
from benchmarks.harness import merge_sections, wrap

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_smoke_mode_runs_every_family_without_a_lab(tmp_path):
    """`python -m benchmarks --smoke` exits 0, reports each family and writes only the file it is
    given. The lab families' smoke run is tests/lab/test_benchmarks_lab.py."""
    results = tmp_path / "RESULTS.md"
    families = sorted(set(FAMILIES) - LAB_FAMILIES)
    proc = subprocess.run([sys.executable, "-m", "benchmarks", "--smoke", "--only", *families,
                           "--results", str(results)], cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    text = results.read_text()
    for name in families:
        assert f"family {name}: ok" in proc.stdout
        assert f"<!-- bench:{name} -->" in text and f"<!-- /bench:{name} -->" in text
    assert "not built yet" in text  # the SIP number plan row is visible, not silently missing


def test_results_merge_keeps_sections_it_does_not_own():
    """A family's new section replaces only its own; other engineers' sections stay byte for byte."""
    theirs = "## Audit history\n\nwritten by benchmarks/audit_history.py\n"
    before = "# title\n\nintro\n\n" + wrap("audit-history", theirs) + "\n" + wrap("scale", "old numbers\n")
    after = merge_sections(before, {"scale": "new numbers\n", "lab": "lab numbers\n"})
    assert wrap("audit-history", theirs) in after
    assert "new numbers" in after and "old numbers" not in after
    assert after.startswith("# title\n\nintro\n\n")
    assert after.rstrip().endswith(wrap("lab", "lab numbers\n").rstrip())


def test_the_igel_benchmark_runs_and_finds_constant_list_calls(tmp_path):
    """benchmarks/igel_ums.py at a small size: exit 0 means the no-change plan's list calls were
    the same at both sizes; the section it writes names its command."""
    results = tmp_path / "RESULTS.md"
    proc = subprocess.run([sys.executable, "benchmarks/igel_ums.py", "--devices", "100", "--results", str(results)],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    text = results.read_text()
    assert "<!-- bench:igel-ums -->" in text and "python benchmarks/igel_ums.py --devices 100" in text
