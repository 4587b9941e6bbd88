"""`telework person …`: one person across the roles: `show` here, the rest from the roles.

`show` prints what the inventory says of the person (department, site, phone, devices) and
what each role adds (`Role.person_view`: the VPN role says what they may reach, their tunnel
addresses, enrolment and certificates). The roles add their own subcommands (`Role.
person_commands`: the VPN role's `enroll` and `revoke`).
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from telework.cli.common import TeleworkGroup, console, inventory_argument
from telework.inventory.phone import din5008
from telework.roles.registry import roles


def _say(text: str) -> None:
    console.print(escape(text), soft_wrap=True)


def _load(target: str):
    module, attribute = target.split(":")
    return getattr(importlib.import_module(module), attribute)


#: subcommands that span every role: one person's live status, letters and HR import
ONBOARDING_COMMANDS = {
    "status": "telework.cli.person_status:status",
    "letter": "telework.onboarding.cli:letter",
    "handover-done": "telework.onboarding.cli:handover_done",
    "import": "telework.onboarding.cli:import_",
}


class PersonGroup(TeleworkGroup):
    """`show` plus the subcommands the roles and onboarding add, imported when used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*super().list_commands(ctx), *(n for r in roles() for n in r.person_commands),
                *ONBOARDING_COMMANDS]

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in ONBOARDING_COMMANDS:
            return _load(ONBOARDING_COMMANDS[name])
        for role in roles():
            if name in role.person_commands:
                return _load(role.person_commands[name])
        return super().get_command(ctx, name)


@click.group(cls=PersonGroup)
def person() -> None:
    """One person or many: what they may reach, their devices and numbers; enrolment (one, a
    department, everyone pending), revocation, handover letters, HR import, live status."""


@person.command()
@click.argument("username")
@inventory_argument
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def show(username: str, inventory: Path, fmt: str) -> None:
    """USERNAME as the inventory and every role see them: department, phone, devices, VPN access."""
    from telework.inventory.loading import require_inventory
    from telework.inventory.lookup import find_person

    loaded = require_inventory(inventory)
    inv = loaded.model
    model = find_person(loaded, username)
    devices = [(e.name, section, e.status.value) for section, e in inv.managed_endpoints() if e.owner == username]
    devices += [(d.name, "igel_devices", d.status.value) for d in inv.igel_devices if d.owner == username]
    devices += [(d.mac, "desk_phones", d.status.value) for d in inv.desk_phones if d.owner == username]
    facts = [_load(r.person_view)(loaded, username) for r in roles() if r.person_view]
    if fmt == "json":
        data = {"username": model.username, "name": model.name, "department": model.department,
                "site": model.site, "status": model.status.value}
        for f in facts:
            data.update(f.json)
        data["devices"] = []
        for name, kind, status in devices:
            entry = {"name": name, "kind": kind, "status": status}
            for f in facts:
                entry.update(f.devices.get(name, {}))
            data["devices"].append(entry)
        data["phone"] = None if model.phone is None else {"extension": model.phone.extension, "did": model.phone.did}
        json.dump(data, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return
    _say(f"{model.username}: {model.name}, {model.department} at {model.site}, {model.status.value}")
    for f in facts:
        for line in f.lines:
            _say(line)
    if model.phone is not None:
        _say(f"phone: extension {model.phone.extension}, {din5008(model.phone.did, inv.number_blocks)}")
    if devices:
        table = Table(title="devices")
        for column in ("name", "kind", "status", "details"):
            table.add_column(column)
        for name, kind, status in devices:
            details = "; ".join(d for f in facts if (d := f.device_details.get(name)))
            table.add_row(escape(name), kind, status, escape(details))
        console.print(table)
    for f in facts:
        for line in f.trailer:
            _say(line)
