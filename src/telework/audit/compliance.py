"""Which automated check is evidence for which BSI IT-Grundschutz requirement, and its last result.

The Testinfra suites in tests/hosts/ say it themselves: each test's docstring starts with the
requirement IDs it evidences (Kompendium edition 2023), then a colon:

    def test_ssh_no_password_login(sshd):
        \"\"\"SYS.1.3.A8: administrators log in with keys only: no password, no keyboard-interactive.\"\"\"

    \"\"\"NET.3.3.A4, A11, A13: ...\"\"\"   (A11, A13 belong to NET.3.3, as written in the Kompendium)

The suites are read with `ast` (no import: they need a deployed estate and a connection),
so the table lists every check that exists, run or not. The JUnit XML of the last
`telework verify` (`--junitxml`) gives each check's result per host; a check missing from it
is "not run". A test without requirement IDs is listed as such: evidence nobody can map is
a finding of its own.

A passed check is not a covered requirement: templates/audit/bsi.yml says per requirement
whether the checks can evidence all of it (`scope: full`) or only a part (`partial`, with the
gap), and `coverage` turns that and the checks' results into full, partial or none.
"""

from __future__ import annotations

import ast
import re
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from telework.core.problems import TeleworkError

#: A full requirement ID: module (NET.3.3, ORP.4, OPS.1.1.5) then .A<number>
_FULL_ID = re.compile(r"^(?P<module>[A-Z]{3,4}(?:\.\d+)+)\.A(?P<number>\d+)$")
_SHORT_ID = re.compile(r"^A(?P<number>\d+)$")


class ComplianceError(TeleworkError):
    """The suites or the JUnit file cannot be read."""


@dataclass(frozen=True)
class Check:
    """One Testinfra test function."""

    module: str          # test_base
    name: str            # test_ssh_no_password_login (Class::name for methods)
    requirements: tuple[str, ...]
    description: str
    role: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.module, self.name)


@dataclass
class CheckResult:
    check: Check
    #: host -> passed | failed | error | skipped
    hosts: dict[str, str] = field(default_factory=dict)

    @property
    def status(self) -> str:
        """passed (on every host it ran on), failed, skipped, or not_run."""
        if not self.hosts:
            return "not_run"
        values = set(self.hosts.values())
        if values & {"failed", "error"}:
            return "failed"
        if values == {"skipped"}:
            return "skipped"
        return "passed"

    @property
    def counts(self) -> Counter:
        return Counter(self.hosts.values())


@dataclass
class VerifyRun:
    """The JUnit file's own data: when the run was, how many tests."""

    path: Path
    timestamp: str | None
    tests: int
    failures: int
    errors: int
    skipped: int


def requirement_ids(docstring: str | None) -> tuple[tuple[str, ...], str]:
    """(requirement IDs, the rest of the first line) of a test docstring.

    >>> requirement_ids("NET.3.3.A4, A11, NET.3.2.A2: firewall rules present")
    (('NET.3.3.A4', 'NET.3.3.A11', 'NET.3.2.A2'), 'firewall rules present')
    >>> requirement_ids("checks something")
    ((), 'checks something')
    """
    text = (docstring or "").strip()
    first = text.split("\n", 1)[0].strip()
    head, sep, rest = first.partition(":")
    if not sep:
        return (), first
    ids: list[str] = []
    module = None
    for token in re.split(r"[,;/\s]+(?:und\s+|and\s+)?", head.strip()):
        if not token:
            continue
        full = _FULL_ID.match(token)
        short = _SHORT_ID.match(token)
        if full:
            module = full["module"]
            ids.append(token)
        elif short and module:
            ids.append(f"{module}.A{short['number']}")
        else:
            return (), first  # not a list of IDs: a colon in ordinary text
    return tuple(dict.fromkeys(ids)), rest.strip()


def read_suites(directory: Path) -> list[Check]:
    """Every test function of tests/hosts/test_*.py, with its requirement IDs."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ComplianceError(f"Testinfra suites directory {directory} does not exist "
                              "(pass --suites DIR)")
    checks: list[Check] = []
    for path in sorted(directory.glob("test_*.py")):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        except SyntaxError as exc:
            raise ComplianceError(f"{path}:{exc.lineno}: cannot read the suite ({exc.msg})") from None
        role = _module_role(tree)
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test"):
                checks.append(_check(path.stem, node.name, node, role))
            elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
                for item in node.body:
                    if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and item.name.startswith("test"):
                        checks.append(_check(path.stem, f"{node.name}::{item.name}", item, role))
    return checks


def _check(module: str, name: str, node, role: str | None) -> Check:
    ids, rest = requirement_ids(ast.get_docstring(node))
    return Check(module, name, ids, rest, role)


def _module_role(tree: ast.Module) -> str | None:
    """`pytestmark = pytest.mark.role("sip_servers")` -> "sip_servers"."""
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "pytestmark"
                                                for t in node.targets):
            for call in ast.walk(node.value):
                if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and \
                        call.func.attr == "role" and call.args and isinstance(call.args[0], ast.Constant):
                    return str(call.args[0].value)
    return None


_PARAM = re.compile(r"^(?P<name>[^\[]+)(?:\[(?P<param>.*)\])?$")


def read_junit(path: Path) -> tuple[VerifyRun, dict[tuple[str, str], dict[str, str]]]:
    """(the run, (module, test) -> host -> result) from pytest's JUnit XML."""
    path = Path(path)
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as exc:
        raise ComplianceError(f"cannot read the JUnit file {path}: {exc}") from None
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    timestamp = next((s.get("timestamp") for s in suites if s.get("timestamp")), None)
    totals = Counter()
    results: dict[tuple[str, str], dict[str, str]] = {}
    for suite in suites:
        for attr in ("tests", "failures", "errors", "skipped"):
            totals[attr] += int(suite.get(attr) or 0)
        for case in suite.iter("testcase"):
            classname = case.get("classname") or ""
            parts = classname.split(".")
            module_index = max((i for i, p in enumerate(parts) if p.startswith("test_")), default=len(parts) - 1)
            module = parts[module_index] if parts else ""
            cls = ".".join(parts[module_index + 1:])
            match = _PARAM.match(case.get("name") or "")
            name = match["name"] if match else case.get("name") or ""
            host = (match["param"] if match and match["param"] else "") or "-"
            key = (module, f"{cls}::{name}" if cls else name)
            if case.find("failure") is not None:
                outcome = "failed"
            elif case.find("error") is not None:
                outcome = "error"
            elif case.find("skipped") is not None:
                outcome = "skipped"
            else:
                outcome = "passed"
            results.setdefault(key, {})[host] = outcome
    run = VerifyRun(path, timestamp, totals["tests"], totals["failures"], totals["errors"], totals["skipped"])
    return run, results


def compliance(checks: list[Check], junit: dict[tuple[str, str], dict[str, str]] | None) -> list[CheckResult]:
    """Each check with its results (empty when there is no JUnit file or it did not run)."""
    junit = junit or {}
    return [CheckResult(check, dict(sorted(junit.get(check.key, {}).items()))) for check in checks]


def by_requirement(results: list[CheckResult]) -> dict[str, list[CheckResult]]:
    """requirement ID -> the checks evidencing it (sorted by ID)."""
    out: dict[str, list[CheckResult]] = {}
    for result in results:
        for requirement in result.check.requirements:
            out.setdefault(requirement, []).append(result)
    return dict(sorted(out.items(), key=lambda kv: _id_order(kv[0])))


def _id_order(requirement: str) -> tuple:
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"[.A]+", requirement) if p) + (requirement,)


#: how much of a requirement its checks evidence (templates/audit/bsi.yml, `coverage`)
FULL, PARTIAL, NONE = "full", "partial", "none"


def coverage(evidence: list[CheckResult], scope: str = PARTIAL) -> str:
    """full: the checks can evidence all of the requirement (`scope` full) and every one of them
    passed; partial: at least one passed; none: no check behind it passed (or none exists)."""
    statuses = [r.status for r in evidence]
    if "passed" not in statuses:
        return NONE
    if scope == FULL and all(s == "passed" for s in statuses):
        return FULL
    return PARTIAL


def requirement_order(requirement: str) -> tuple:
    """Sort key: NET.3.3.A4 before NET.3.3.A13, SYS.1.1 before SYS.1.3."""
    return _id_order(requirement)
