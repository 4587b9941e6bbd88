"""`telework verify`: the Testinfra suites of the hosts' roles, run by pytest.

`run()` starts pytest on the suites of the roles the selected hosts have (tests/hosts, shipped
as telework.resources.host_suites) with TELEWORK_VERIFY=1 (the suites are not collected
otherwise: they need a deployed estate), spread over hosts with pytest-xdist (`--dist
loadgroup`, one group per host, so each host is reached from one worker only), and writes JUnit
XML for CI. pytest runs with the suites' own pytest.ini, wherever telework is installed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from telework.resources import host_suites_dir
from telework.roles.registry import roles_serving
from telework.verify.hosts import (
    INVENTORY_ENV,
    LIMIT_ENV,
    NO_TESTS,
    VERIFY_ENV,
    VerifyError,
    verify_hosts,
)


def suite_files(hosts) -> list[Path]:
    """The suites of every role the `hosts` have, in registry order."""
    names = []
    for host in hosts:
        for role in roles_serving(host.groups):
            if role.suite not in names:
                names.append(role.suite)
    directory = host_suites_dir()
    missing = [n for n in names if not (directory / n).is_file()]
    if missing:
        raise VerifyError(f"this telework has no Testinfra suite {', '.join(missing)} in {directory}; "
                          "reinstall telework")
    return [directory / n for n in names]


def pytest_args(suites: list[Path], junitxml: Path | None = None, workers: int | str | None = None,
                extra: list[str] | None = None) -> list[str]:
    """The pytest command line of a verify run (without the interpreter)."""
    directory = host_suites_dir()
    args = [*map(str, suites), "-c", str(directory / "pytest.ini"), "--rootdir", str(directory),
            "-p", "no:cacheprovider", "-o", "console_output_style=classic"]
    if workers not in (None, 0, "0"):
        args += ["-n", str(workers), "--dist", "loadgroup"]
    if junitxml is not None:
        args += [f"--junitxml={junitxml}", "-o", "junit_family=xunit2",
                 "-o", "junit_suite_name=telework-verify"]
    return args + list(extra or [])


def api_suites(inventory_dir: Path | str, limit: str | None = None) -> tuple[list[Path], set[str]]:
    """(the suites of the API roles whose targets `limit` selects, every name it selects).
    An API role's suite (IGEL: tests/hosts/test_igel.py) asks the role's API, not a host, and
    runs once."""
    from telework.inventory.hosts import host_entries
    from telework.inventory.loading import require_inventory
    from telework.inventory.overlay import load_overlay
    from telework.plan.selection import select
    from telework.plan.targets import make_reconciler
    from telework.roles.registry import roles

    loaded = require_inventory(Path(inventory_dir))
    api = [(r, make_reconciler(r, loaded).entries()) for r in roles() if r.kind == "api"]
    entries = host_entries(loaded.model, Path(inventory_dir).resolve(), load_overlay())
    chosen = set(select([*entries, *(e for _, es in api for e in es)], limit))
    return [host_suites_dir() / r.suite for r, es in api if any(e[0] in chosen for e in es)], chosen


def run(inventory_dir: Path | str, *, limit: str | None = None, junitxml: Path | None = None,
        workers: int | str | None = None, extra: list[str] | None = None) -> int:
    """Run the suites in a pytest subprocess (its own process: pytest and xdist own their
    output and workers); returns pytest's exit code. Raises VerifyError when no test ran."""
    apis, chosen = api_suites(inventory_dir, limit)  # fails early on a bad inventory or limit
    hosts = [h for h in verify_hosts(inventory_dir) if h.name in chosen]
    if not hosts and not apis:
        raise VerifyError(f"no host to verify in {inventory_dir}")
    env = dict(os.environ)
    env[VERIFY_ENV] = "1"
    env[INVENTORY_ENV] = str(Path(inventory_dir).resolve())
    if limit:
        env[LIMIT_ENV] = limit
    else:
        env.pop(LIMIT_ENV, None)
    # pytest runs in the suites' directory: a relative report path is the caller's, not theirs
    report = Path(junitxml).resolve() if junitxml is not None else None
    suites = (suite_files(hosts) if hosts else []) + apis
    cmd = [sys.executable, "-m", "pytest", *pytest_args(suites, report, workers, extra)]
    code = subprocess.run(cmd, env=env, cwd=host_suites_dir()).returncode
    if code == NO_TESTS:
        raise VerifyError(
            f"no Testinfra suite ran for {', '.join(h.name for h in hosts) or 'the API targets'}: "
            f"no tests/hosts suite matches the roles of these hosts"
        )
    return code

