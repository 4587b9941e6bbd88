"""How a role's `person_status` reads its hosts (`telework person status`): one interface for
every role, so a role never reaches another role's code for it. telework.cli.person_status
implements it over SSH; tests give fixed answers."""

from __future__ import annotations


class Hosts:
    """How a role reaches a host: `run(host, command)` -> stdout, or raises `Unreachable`;
    `data(host)` -> the host's group data (the same values its deploy used)."""

    def run(self, host: str, command: str) -> str:  # pragma: no cover - interface
        raise NotImplementedError

    def data(self, host: str) -> dict:  # pragma: no cover - interface
        raise NotImplementedError


class Unreachable(Exception):
    """A host did not answer a read (its name and why are in the message)."""
