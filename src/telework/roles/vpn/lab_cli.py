"""`telework lab vpn-check`: the VPN role's check with a real client (telework.roles.vpn.vpncheck)."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from telework.cli.common import console, inventory_argument
from telework.roles.vpn.vpncheck import run_vpn_check


@click.command("vpn-check")
@click.argument("username")
@inventory_argument
@click.option("--bundle", type=click.Path(dir_okay=False, exists=True, path_type=Path), required=True,
              help="the person's .ovpn bundle (`telework person enroll USERNAME --out DIR`)")
@click.option("--home", default="home-1", show_default=True, help="the lab home network the client sits in")
def vpn_check(username: str, inventory: Path, bundle: Path, home: str) -> None:
    """Log USERNAME in with a real OpenVPN client from a lab home network, on every concentrator.

    The TOTP code comes from the person's seed (your age identity decrypts it), as the
    authenticator app would show it. Through each tunnel the gateway of every network the
    person may reach must answer a ping, and one network of another department, routed into
    the tunnel, must not. Exit 0 when every concentrator passed.
    """
    results = run_vpn_check(inventory, username, bundle, home, log=console.print)
    table = Table(title=f"{username}: OpenVPN from {home}")
    for col in ("concentrator", "login", "tunnel address", "reached", "refused (another department's)"):
        table.add_column(col)
    for r in results:
        table.add_row(r.concentrator, "ok" if r.connected else "refused", r.address or "-",
                      ", ".join(f"{net} {'ok' if ok else 'FAILED'}" for net, ok in r.reached.items()) or "-",
                      ", ".join(f"{net} {'ok' if ok else 'REACHED'}" for net, ok in r.refused.items()) or "-")
    console.print(table)
    if not all(r.passed for r in results):
        raise SystemExit(1)
