"""`telework verify`: the Testinfra suites of tests/hosts against the hosts of an inventory.

Two halves:

* the host list - `verify_hosts()` turns the inventory (plus the environment overlay, as the
  pyinfra adapter does) into `VerifyHost`s, and `testinfra_host()` connects to one over
  paramiko with the known_hosts file of the environment and **strict** host-key checking
  (testinfra's own paramiko backend accepts unknown keys with a warning, see
  research/pyinfra.md section 8). tests/hosts/conftest.py uses both, so a suite never
  names a host or an address: it names a role (`pytest.mark.role("sip_servers")`).
* the run - `run()` starts pytest on tests/hosts with TELEWORK_VERIFY=1 (the suites are not
  collected otherwise: they need a deployed estate), spread over hosts with pytest-xdist
  (`--dist loadgroup`, one group per host, so each host is reached from one worker only) and
  writes JUnit XML for CI.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .plan.selection import select
from .problems import TeleworkError
from .pyinfra_inventory import host_entries, load_overlay

#: tests/hosts of this checkout (like deploy/ and templates/, the suites ship beside the package)
SUITES = Path(__file__).resolve().parents[2] / "tests" / "hosts"

VERIFY_ENV = "TELEWORK_VERIFY"
INVENTORY_ENV = "TELEWORK_INVENTORY"
LIMIT_ENV = "TELEWORK_VERIFY_LIMIT"

#: pytest's "no tests collected" exit code
NO_TESTS = 5


class VerifyError(TeleworkError):
    """`telework verify` could not run its suites."""


@dataclass(frozen=True)
class VerifyHost:
    """One host a suite runs against: where to reach it and the groups it is in."""

    name: str
    hostname: str
    groups: tuple[str, ...]
    user: str = "root"
    port: int = 22
    key: str | None = None
    known_hosts: str | None = None
    data: dict = field(default_factory=dict, compare=False, hash=False, repr=False)


def verify_hosts(inventory_dir: Path | str, overlay: dict | None = None,
                 limit: str | None = None) -> list[VerifyHost]:
    """Every host of the inventory that `limit` selects, reached as the overlay says."""
    from .inventory import require_inventory

    inventory_dir = Path(inventory_dir).resolve()
    loaded = require_inventory(inventory_dir)
    if overlay is None:
        overlay = load_overlay()
    entries = host_entries(loaded.model, inventory_dir, overlay)
    chosen = set(select(entries, limit))
    return [
        VerifyHost(
            name=name,
            hostname=data["ssh_hostname"],
            groups=tuple(groups),
            user=data.get("ssh_user") or "root",
            port=int(data.get("ssh_port") or 22),
            key=data.get("ssh_key"),
            known_hosts=data.get("ssh_known_hosts_file"),
            data=data,
        )
        for name, data, groups in entries
        if name in chosen
    ]


def host_data(spec: VerifyHost, inventory_dir: Path | str) -> dict:
    """The data pyinfra gives this host: group_data/all.py, then group_data/<group>.py of each of
    its groups (telework's group_data/, then the inventory's own), then the host's data.

    Suites read expected values from here (e.g. `sshd_max_auth_tries`), so a default changed in
    group_data changes what is deployed and what is checked in one place.
    """
    from .plan.groupdata import group_data_dirs, load_group_data

    groups = load_group_data(group_data_dirs(inventory_dir))
    merged: dict = {}
    for group in ("all", *spec.groups):
        merged.update(groups.get(group, {}))
    merged.update(spec.data)
    return merged


def testinfra_host(spec: VerifyHost):
    """A testinfra Host for `spec` over paramiko, refusing unknown or changed host keys."""
    import paramiko
    import testinfra.host
    from testinfra.backend.paramiko import ParamikoBackend

    class StrictParamikoBackend(ParamikoBackend):
        """testinfra's paramiko backend with known_hosts loaded and RejectPolicy."""

        def __init__(self, spec: VerifyHost):
            super().__init__(f"{spec.user}@{spec.hostname}:{spec.port}",
                             ssh_identity_file=spec.key, timeout=10)
            self.spec = spec

        @property
        def client(self):  # testinfra caches it as a cached_property; do the same by hand
            client = self.__dict__.get("_strict_client")
            if client is None:
                client = paramiko.SSHClient()
                known = self.spec.known_hosts or os.path.expanduser("~/.ssh/known_hosts")
                client.load_host_keys(known)
                client.set_missing_host_key_policy(paramiko.RejectPolicy())
                client.connect(hostname=self.spec.hostname, port=self.spec.port,
                               username=self.spec.user, key_filename=self.spec.key,
                               timeout=self.timeout, allow_agent=self.spec.key is None,
                               look_for_keys=self.spec.key is None)
                self.__dict__["_strict_client"] = client
            return client

    return testinfra.host.Host(StrictParamikoBackend(spec))


def pytest_args(junitxml: Path | None = None, workers: int | str | None = None,
                extra: list[str] | None = None) -> list[str]:
    """The pytest command line of a verify run (without the interpreter)."""
    args = [str(SUITES), "-p", "no:cacheprovider", "-o", "console_output_style=classic"]
    if workers not in (None, 0, "0"):
        args += ["-n", str(workers), "--dist", "loadgroup"]
    if junitxml is not None:
        args += [f"--junitxml={junitxml}", "-o", "junit_family=xunit2",
                 "-o", "junit_suite_name=telework-verify"]
    return args + list(extra or [])


def run(inventory_dir: Path | str, *, limit: str | None = None, junitxml: Path | None = None,
        workers: int | str | None = None, extra: list[str] | None = None) -> int:
    """Run the suites in a pytest subprocess (its own process: pytest and xdist own their
    output and workers); returns pytest's exit code. Raises VerifyError when no test ran."""
    hosts = verify_hosts(inventory_dir, limit=limit)  # fails early on a bad inventory or limit
    if not hosts:
        raise VerifyError(f"no host to verify in {inventory_dir}")
    env = dict(os.environ)
    env[VERIFY_ENV] = "1"
    env[INVENTORY_ENV] = str(Path(inventory_dir).resolve())
    if limit:
        env[LIMIT_ENV] = limit
    else:
        env.pop(LIMIT_ENV, None)
    cmd = [sys.executable, "-m", "pytest", *pytest_args(junitxml, workers, extra)]
    code = subprocess.run(cmd, env=env, cwd=SUITES.parents[1]).returncode
    if code == NO_TESTS:
        raise VerifyError(
            f"no Testinfra suite ran for {', '.join(h.name for h in hosts)}: "
            f"no tests/hosts suite matches the roles of these hosts"
        )
    return code
