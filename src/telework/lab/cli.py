"""`telework lab up|down|status [INVENTORY]`: a thin CLI over `telework.lab.lab`."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import click
from rich.table import Table

from ..cli.common import console, inventory_argument
from . import lab as lab_impl
from .overlay import overlay_path


@click.group()
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


@lab.command("vpn-check")
@click.argument("username")
@inventory_argument
@click.option("--bundle", type=click.Path(dir_okay=False, exists=True, path_type=Path), required=True,
              help="the person's .ovpn bundle (`telework person enroll USERNAME --out DIR`)")
@click.option("--home", default="home-1", show_default=True, help="the lab home network the client sits in")
def vpn_check(username: str, inventory: Path, bundle: Path, home: str) -> None:
    """Log USERNAME in with a real OpenVPN client from a lab home network, on every concentrator.

    The TOTP code comes from the person's seed (your age identity decrypts it), as the
    authenticator app would show it. Through each tunnel the gateway of every network the
    person may reach must answer a ping. Exit 0 when every concentrator passed.
    """
    from .vpncheck import run_vpn_check  # local: needs the inventory's secrets, not the lab core

    results = run_vpn_check(inventory, username, bundle, home, log=console.print)
    table = Table(title=f"{username}: OpenVPN from {home}")
    for col in ("concentrator", "login", "tunnel address", "reached"):
        table.add_column(col)
    for r in results:
        table.add_row(r.concentrator, "ok" if r.connected else "refused", r.address or "-",
                      ", ".join(f"{net} {'ok' if ok else 'FAILED'}" for net, ok in r.reached.items()) or "-")
    console.print(table)
    if not all(r.passed for r in results):
        raise SystemExit(1)
