"""The hosts a verify run checks, and the connection a Testinfra suite gets to each.

`verify_hosts()` turns the inventory (plus the environment overlay, as plan and apply do) into
`VerifyHost`s - the managed hosts only: a host no built role serves has nothing to verify - and
`testinfra_host()` connects to one over paramiko with the environment's known_hosts file and
**strict** host-key checking (testinfra's own paramiko backend accepts unknown keys with a
warning). tests/hosts/conftest.py uses both, so a suite never names a host or an address: it
names an inventory group (`pytest.mark.role("vpn_concentrators")`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from telework.core.problems import TeleworkError
from telework.inventory.hosts import host_entries
from telework.inventory.overlay import load_overlay
from telework.plan.selection import select

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
    """Every managed host of the inventory that `limit` selects, reached as the overlay says
    (a host no built role serves is left out: nothing was deployed there)."""
    from telework.inventory.loading import require_inventory
    from telework.roles.registry import roles_serving

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
        if name in chosen and roles_serving(groups)
    ]


def host_data(spec: VerifyHost, inventory_dir: Path | str) -> dict:
    """The data pyinfra gives this host: group_data/all.py, then group_data/<group>.py of each of
    its groups (telework's group_data/, then the inventory's own), then the host's data.

    Suites read expected values from here (e.g. `base_sshd_max_auth_tries`), so a default changed in
    group_data changes what is deployed and what is checked in one place.
    """
    from telework.engine.group_data import group_data_dirs, load_group_data

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


