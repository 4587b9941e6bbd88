"""`telework person status USERNAME`: what the hosts see of one person now, for the helpdesk.

Each role with a `person_status` (telework.roles.registry) reads its hosts; this module only
connects, over SSH as `telework verify` does (the environment's overlay, known_hosts checked
strictly), and prints. Nothing is changed on a host; no secret is decrypted.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

import click
from rich.markup import escape

from telework.cli.common import console, err_console, inventory_argument
from telework.roles.registry import roles
from telework.roles.live_hosts import Hosts, Unreachable


class SshHosts(Hosts):
    """The inventory's managed hosts over SSH (paramiko, strict host keys), one connection each."""

    def __init__(self, inventory: Path):
        from telework.verify.hosts import verify_hosts

        self.inventory = inventory
        self.specs = {spec.name: spec for spec in verify_hosts(inventory)}
        self._hosts: dict = {}
        self._data: dict[str, dict] = {}

    def data(self, host: str) -> dict:
        from telework.verify.hosts import host_data

        if host not in self._data:
            self._data[host] = host_data(self.specs[host], self.inventory) if host in self.specs else {}
        return self._data[host]

    def run(self, host: str, command: str) -> str:
        from telework.verify.hosts import testinfra_host

        if host not in self.specs:
            raise Unreachable(f"{host} is not a managed host of {self.inventory}")
        try:
            if host not in self._hosts:
                self._hosts[host] = testinfra_host(self.specs[host])
            result = self._hosts[host].run(command)
        except Exception as exc:  # noqa: BLE001 - paramiko and sockets raise many kinds
            raise Unreachable(f"{host}: {type(exc).__name__}: {exc}") from None
        if result.rc != 0:
            raise Unreachable(f"{host}: `{command}` failed ({result.rc}): {result.stderr.strip()[:200]}")
        return result.stdout


def _load(target: str):
    module, attribute = target.split(":")
    return getattr(importlib.import_module(module), attribute)


@click.command()
@click.argument("username")
@inventory_argument
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def status(username: str, inventory: Path, fmt: str) -> None:
    """What the hosts see of USERNAME right now: VPN connected or not (since when, from where),
    the last RADIUS/TOTP result, the certificate against the deployed CRL. Read-only.

    \b
    Reaches the hosts as `telework verify` does ($TELEWORK_OVERLAY for a lab). --format json
    is for ticket systems.
    """
    from telework.inventory.loading import require_inventory
    from telework.inventory.lookup import find_person

    loaded = require_inventory(inventory)
    person = find_person(loaded, username)
    hosts = SshHosts(inventory)
    facts = {r.name: _load(r.person_status)(loaded, username, hosts) for r in roles() if r.person_status}
    unreachable = {h: why for f in facts.values() for h, why in f.unreachable.items()}
    if fmt == "json":
        data = {"username": username, "name": person.name, "department": person.department,
                "unreachable": unreachable}
        for role_facts in facts.values():
            data.update(role_facts.json)
        json.dump(data, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return
    console.print(escape(f"{username}: {person.name}, {person.department} ({person.status.value})"), soft_wrap=True)
    for role_facts in facts.values():
        for line in role_facts.lines:
            console.print(escape(line), soft_wrap=True)
    for host, why in unreachable.items():
        err_console.print(escape(f"warning: {host} did not answer: {why}"), soft_wrap=True)
