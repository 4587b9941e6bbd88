"""pytest plugin: a session-scoped `lab` fixture that brings the lab up once and tears it down
(or reuses a lab that already runs, and leaves it running).

The inventory is $TELEWORK_LAB_INVENTORY, else inventory/sample. Tests using it are marked `lab`
(they need root and the Debian packages named in `telework.lab.errors.APT_FIX`).
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from telework.lab import lab as lab_impl
from telework.lab.overlay import overlay_path
from telework.lab.topology import Topology


@dataclass
class Lab:
    """A running lab: its layout, the overlay data the pyinfra adapter reads, and helpers."""

    inventory: Path
    topology: Topology

    @property
    def overlay_file(self) -> Path:
        return overlay_path(self.topology.slug)

    @property
    def overlay(self) -> dict:
        return yaml.safe_load(self.overlay_file.read_text())

    @property
    def hosts(self) -> list[str]:
        return [h.name for h in self.topology.hosts]

    def ssh(self, host: str, command: str, timeout: int = 120) -> subprocess.CompletedProcess:
        """Run a shell command on a lab host as root over SSH (known host keys, lab key)."""
        return lab_impl.ssh(self.topology, host, command, timeout=timeout)

    def reset_host(self, host: str) -> None:
        """Boot `host` again from a fresh root: as if telework had never deployed it."""
        lab_impl.reset_host(self.inventory, host, log=lambda *_: None)

    def home_exec(self, home: str, argv: list[str], side: str = "client", timeout: int = 60,
                  **kwargs) -> subprocess.CompletedProcess:
        """Run this machine's `argv` inside a home's client (or `side="router"`) namespace."""
        data = self.overlay["homes"][home]
        ns = data["client_netns"] if side == "client" else data["router_netns"]
        return subprocess.run(["ip", "netns", "exec", ns, *argv], capture_output=True, text=True,
                              timeout=timeout, **kwargs)


@pytest.fixture(scope="session")
def lab() -> Lab:
    """The running lab. One that was already up (a developer's, or `telework lab up` in a script)
    is reused and left running; one this fixture started is torn down at the end."""
    if os.geteuid() != 0:
        pytest.skip("the lab needs root")
    inventory = Path(os.environ.get("TELEWORK_LAB_INVENTORY", "inventory/sample"))
    planned = lab_impl.load_topology(inventory)
    slug, started_here = planned.slug, not lab_impl.is_up(planned)
    try:
        topology = lab_impl.up(inventory, log=lambda *_: None)
    except Exception:
        if started_here:
            lab_impl.down_slug(slug, log=lambda *_: None)
        raise
    try:
        yield Lab(inventory, topology)
    finally:
        if started_here:
            lab_impl.down_slug(slug, log=lambda *_: None)
