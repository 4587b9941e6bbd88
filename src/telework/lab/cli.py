"""`telework lab up|down|status [INVENTORY]`: a thin CLI over `telework.lab.lab`; the roles add
their checks with real clients (the VPN role: `lab vpn-check`)."""

from __future__ import annotations

import importlib
import json
from dataclasses import asdict
from pathlib import Path

import click
from rich.table import Table

from telework.cli.common import TeleworkGroup, console, inventory_argument
from telework.lab import lab as lab_impl
from telework.lab.overlay import overlay_path
from telework.roles.registry import roles


class LabGroup(TeleworkGroup):
    """up, down, status, plus the checks the roles add (`Role.lab_commands`), imported when used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*super().list_commands(ctx), *(n for r in roles() for n in r.lab_commands)]

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        for role in roles():
            if name in role.lab_commands:
                module, attribute = role.lab_commands[name].split(":")
                return getattr(importlib.import_module(module), attribute)
        return super().get_command(ctx, name)


@click.group(cls=LabGroup)
def lab() -> None:
    """Real Debian test hosts and simulated home networks on this machine (needs root)."""


@lab.command()
@inventory_argument
@click.option("--notebooks", is_flag=True, help="boot the notebooks too (one host and one home each)")
def up(inventory: Path, notebooks: bool) -> None:
    """Boot the inventory's servers and Linux endpoints, the home networks and the apt proxy."""
    topo = lab_impl.up(inventory, include_notebooks=notebooks, log=console.print)
    console.print(f"overlay for pyinfra: {overlay_path(topo.slug)}")


@lab.command()
@inventory_argument
def down(inventory: Path) -> None:
    """Remove every namespace, mount and process the lab recorded, nothing else."""
    lab_impl.down(inventory, log=console.print)


@lab.command()
@inventory_argument
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
def status(inventory: Path, fmt: str) -> None:
    """Hosts, their addresses, whether they run and what systemd says."""
    topo, rows = lab_impl.status(inventory)
    if fmt == "json":
        click.echo(json.dumps({"lab": topo.slug, "hosts": [asdict(r) for r in rows]}, indent=2))
        return
    table = Table(title=f"lab {topo.slug}")
    for col in ("host", "group", "management", "address / home", "public", "running", "systemd"):
        table.add_column(col)
    for r in rows:
        table.add_row(r.name, r.group, r.management_address, r.address, r.public_address,
                      "yes" if r.running else "no", r.system)
    console.print(table)
