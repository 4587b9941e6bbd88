"""`telework pki …`: create the VPN CA, list what it issued, keep its CRL fresh (see telework.pki)."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from .. import pki
from ..secrets import SecretStore
from .common import console, err_console, inventory_argument
from .secret import _identity_option


def _say(text: str) -> None:
    console.print(escape(text), soft_wrap=True)


@click.group("pki")
def pki_group() -> None:
    """The OpenVPN CA: certificates in INVENTORY/pki/, keys age-encrypted in INVENTORY/secrets/."""


@pki_group.command()
@inventory_argument
@_identity_option
def init(inventory: Path, identity: Path | None) -> None:
    """Create what is missing: CA, server certificates and keys, tls-crypt key, RADIUS secrets,
    WireGuard keys of the concentrators, crl.pem. Safe to run again (after adding a concentrator).
    """
    created = pki.init_pki(inventory, SecretStore(inventory, identity))
    if not created:
        _say(f"{inventory}: the PKI is complete, nothing to do")
        return
    for item in created:
        _say(f"created {item}")
    _say(f"commit {inventory}/pki and {inventory}/secrets, then deploy the concentrators")


@pki_group.command("list")
@inventory_argument
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def list_(inventory: Path, fmt: str) -> None:
    """Every certificate the CA issued (pki/issued.yml): serial, owner, kind, expiry, revocation."""
    certs = pki.load_issued(inventory)
    if fmt == "json":
        rows = [{"serial": c.serial, "kind": c.kind, "owner": c.owner, "cn": c.cn,
                 "not_before": c.not_before.isoformat(), "not_after": c.not_after.isoformat(),
                 "revoked": None if c.revoked is None else {"date": c.revoked.date.isoformat(),
                                                             "reason": c.revoked.reason}} for c in certs]
        json.dump({"inventory": str(inventory), "certificates": rows}, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return
    now = datetime.now(UTC)
    table = Table(title=f"certificates issued by the VPN CA of {inventory}")
    table.add_column("serial", no_wrap=True)  # copied into revocation tickets: never broken
    for column in ("owner", "kind", "expires", "revoked"):
        table.add_column(column)
    for cert in certs:
        expiry = f"{cert.not_after:%Y-%m-%d}"
        if cert.revoked is None and cert.not_after < now:
            expiry += " [red](expired)[/]"
        revoked = "" if cert.revoked is None else escape(f"{cert.revoked.date:%Y-%m-%d} {cert.revoked.reason}")
        table.add_row(cert.serial, escape(cert.owner), cert.kind, expiry, revoked)
    console.print(table)
    if not certs:
        _say(f"no certificates yet: run `telework pki init {inventory}`")


@pki_group.command()
@inventory_argument
@_identity_option
@click.option("--refresh", is_flag=True, help=f"Sign a new CRL, valid {pki.CRL_DAYS} days (needs the CA key).")
def crl(inventory: Path, identity: Path | None, refresh: bool) -> None:
    """Show the CRL's dates; with --refresh sign a new one from pki/issued.yml.

    OpenVPN refuses every client once the CRL has expired: refresh it well before (this command
    warns 30 days ahead and exits 1 when it has expired), commit and deploy the concentrators.
    """
    if refresh:
        pki.refresh_crl(inventory, SecretStore(inventory, identity))
    info = pki.crl_info(inventory)
    left = info.next_update - datetime.now(UTC)
    _say(f"{inventory}/{pki.CRL_FILE}: number {info.number}, {info.revoked} revoked certificate(s), "
         f"signed {info.this_update:%Y-%m-%d %H:%M} UTC, valid until {info.next_update:%Y-%m-%d %H:%M} UTC")
    if refresh:
        _say("commit it and deploy the concentrators")
    if left.total_seconds() <= 0:
        err_console.print(escape(f"error: the CRL expired {(-left).days} day(s) ago: run `telework pki crl "
                                 f"{inventory} --refresh` now"), soft_wrap=True)
        sys.exit(1)
    if left.days < pki.CRL_WARN_DAYS:
        err_console.print(escape(f"warning: the CRL expires in {left.days} day(s): run `telework pki crl "
                                 f"{inventory} --refresh`"), soft_wrap=True)
