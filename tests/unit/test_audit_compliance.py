"""The compliance table's honesty: checks name only requirements the Kompendium (edition 2023)
has, and a requirement counts as covered fully only when its checks can evidence all of it and
all of them passed."""

from __future__ import annotations

import pytest

from telework.audit.compliance import FULL, NONE, PARTIAL, Check, CheckResult, coverage, read_suites
from telework.audit.i18n import TEMPLATES
from telework.inventory.source import parse_yaml
from telework.resources import host_suites_dir

BSI = parse_yaml((TEMPLATES / "bsi.yml").read_text(encoding="utf-8"))


def test_every_requirement_a_check_names_is_in_the_2023_catalogue():
    """An ID the Kompendium 2023 dropped (CON.1.A3, SYS.2.1.A14, SYS.1.1.A20) or never had
    cannot be claimed: bsi.yml lists only the edition's requirements."""
    named = {r for c in read_suites(host_suites_dir()) for r in c.requirements}
    assert named and named <= set(BSI["requirements"]), sorted(named - set(BSI["requirements"]))
    for dropped in ("CON.1.A3", "SYS.2.1.A14", "SYS.1.1.A20"):
        assert dropped not in BSI["requirements"]
    for requirement, title in BSI["requirements"].items():
        assert requirement.rsplit(".A", 1)[0] in BSI["modules"], requirement
        assert title.endswith(("(B)", "(S)", "(H)")) and "ENTFALLEN" not in title, requirement


def test_coverage_scopes_are_explained():
    """Every scope is full or partial; a partial one says, in both languages, what is left out."""
    for requirement, entry in BSI["coverage"].items():
        assert requirement in BSI["requirements"], requirement
        assert entry["scope"] in (FULL, PARTIAL), requirement
        if entry["scope"] == PARTIAL:
            assert entry["gap"]["de"] and entry["gap"]["en"], requirement


def test_the_firewall_requirement_is_claimed_by_firewall_checks_only():
    """SYS.1.1.A19 (local packet filter) is named by checks of the live ruleset, never by one
    that only finds the nftables package installed (issue 18)."""
    checks = [c for c in read_suites(host_suites_dir()) if "SYS.1.1.A19" in c.requirements]
    assert checks and all(c.name.startswith("test_firewall") for c in checks), [c.name for c in checks]


def _result(status: str) -> CheckResult:
    hosts = {} if status == "not_run" else {"h": status}
    return CheckResult(Check("test_x", f"test_{status}", ("X.1.A1",), ""), hosts)


@pytest.mark.parametrize(("statuses", "scope", "expected"), [
    (["passed", "passed"], FULL, FULL),
    (["passed", "failed"], FULL, PARTIAL),       # one failing check: only part is evidenced
    (["passed", "not_run"], FULL, PARTIAL),
    (["passed"], PARTIAL, PARTIAL),              # the checks cannot evidence all of it
    (["failed", "not_run"], FULL, NONE),
    (["skipped"], FULL, NONE),
    ([], FULL, NONE),                            # no check names it
])
def test_coverage(statuses, scope, expected):
    assert coverage([_result(s) for s in statuses], scope) == expected


def _docbook(requirements: dict[str, str], modules: dict) -> str:
    heads = [f"<title>{mid} {names['de']}</title>" for mid, names in modules.items()]
    heads += [f"<title>{rid} {title} [IT-Betrieb] </title>" for rid, title in requirements.items()]
    return "<book>" + "\n".join(f"<section>{h}<para>text</para></section>" for h in heads) + "</book>"


def test_the_kompendium_check_script_finds_changed_and_dropped_requirements():
    """scripts/check_bsi_yml.py, run by hand against the BSI's XML edition, reports a changed
    title, a dropped requirement and a missing one (here on a DocBook made from bsi.yml)."""
    import runpy
    from pathlib import Path

    script = runpy.run_path(str(Path(__file__).resolve().parents[2] / "scripts" / "check_bsi_yml.py"))
    requirements = dict(BSI["requirements"])
    assert script["differences"](BSI, _docbook(requirements, BSI["modules"])) == []
    requirements["SYS.1.1.A19"] = "Einrichtung lokaler Paketfilter (B)"
    requirements["CON.1.A4"] = "ENTFALLEN (S)"
    del requirements["ORP.4.A21"]
    found = script["differences"](BSI, _docbook(requirements, BSI["modules"]))
    assert found == ["SYS.1.1.A19: bsi.yml says 'Einrichtung lokaler Paketfilter (S)', the edition "
                     "'Einrichtung lokaler Paketfilter (B)'", "ORP.4.A21: not in this edition",
                     "CON.1.A4: dropped in this edition (ENTFALLEN)"]
