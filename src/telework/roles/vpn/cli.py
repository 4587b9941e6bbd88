"""The VPN role's commands: `telework pki …` (the VPN CA) and `telework person enroll|revoke`.

`enroll` is the one command that shows a secret: the TOTP seed, as a QR code and otpauth URI, so
the person can scan it. It does so only on a terminal (or with --show-secret); run from CI or a
pipe it writes the QR code to a file (mode 0600) and says where, so a seed never lands in a log.
The registry (telework.roles.registry) adds these commands to the CLI.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from telework.cli.common import console, err_console, inventory_argument
from telework.cli.secret import _identity_option
from telework.roles.vpn import enrolment, pki
from telework.roles.vpn.secret_names import totp_secret
from telework.secrets.store import SecretStore


def _say(text: str) -> None:
    console.print(escape(text), soft_wrap=True)


@click.command()
@click.argument("username")
@inventory_argument
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Directory for the bundle (created with mode 0700).")
@click.option("--device", metavar="NAME",
              help="Write the WireGuard configs of this Linux endpoint or notebook of the person instead.")
@click.option("--qr-file", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the TOTP QR code to this .svg or .png file (mode 0600).")
@click.option("--show-secret", is_flag=True,
              help="Print the QR code and otpauth URI even when stdout is not a terminal.")
@_identity_option
def enroll(username: str, inventory: Path, out_dir: Path, device: str | None, qr_file: Path | None,
           show_secret: bool, identity: Path | None) -> None:
    """Enrol USERNAME: a new certificate and TOTP seed, and OUT/USERNAME.ovpn for their VPN client.

    \b
    Enrolling again replaces both and revokes the old certificate; it also lifts a revocation.
    With --device NAME: OUT/NAME-<concentrator>.conf for wg-quick, one per concentrator
    (no private key: the device makes its own).
    Commit pki/, secrets/ and access/ afterwards and deploy the concentrators and RADIUS servers.
    """
    store = SecretStore(inventory, identity)
    interactive = sys.stdout.isatty()
    if device is None and qr_file is None and not interactive and not show_secret:
        qr_file = out_dir / f"{username}-totp.png"
    result = enrolment.enroll(inventory, store, username, out_dir, device, qr_file=qr_file)
    for note in result.notes:
        err_console.print(escape(f"note: {note}"), soft_wrap=True)
    if device is not None:
        for path in result.files:
            _say(f"wrote {path} (mode 0600)")
        _say("the endpoint deploy installs them and fills in the device's private key")
        return
    bundle = result.files[0]
    _say(f"wrote {bundle} (mode 0600): certificate {result.serial}, valid until {result.not_after:%Y-%m-%d}")
    if result.superseded:
        _say(f"revoked the previous certificate(s) {', '.join(result.superseded)} (superseded)")
    if result.reinstated is not None:
        _say(f"lifted the revocation of {result.reinstated.date} ({result.reinstated.reason})")
    if result.otpauth_uri is not None and (interactive or show_secret):
        err_console.print(escape("The QR code and URI below hold the person's TOTP seed: let them scan it, "
                                 "do not paste it anywhere."), soft_wrap=True)
        enrolment.qr_code(result.otpauth_uri).terminal(out=sys.stdout, compact=True)
        click.echo(result.otpauth_uri)
    if qr_file is not None:
        shown = "" if interactive or show_secret else " (not printed: stdout is not a terminal)"
        _say(f"wrote the TOTP QR code to {qr_file} (mode 0600){shown}; hand it over with the bundle, then "
             f"delete both")
    _say(f"commit {inventory}/pki, {inventory}/secrets and {inventory}/access, then deploy the "
         f"concentrators and RADIUS servers")


@click.command()
@click.argument("username")
@inventory_argument
@click.option("--reason", required=True, help="Why, for the audit trail (e.g. 'left the administration').")
@click.option("--by", help="Who decided it (default: git user.name, else $USER).")
@_identity_option
def revoke(username: str, inventory: Path, reason: str, by: str | None, identity: Path | None) -> None:
    """Take USERNAME's VPN access away: revoke their certificates (new crl.pem), delete their TOTP
    seed, record who, when and why in access/revocations.yml. Their devices lose their tunnels."""
    result = enrolment.revoke(inventory, SecretStore(inventory, identity), username, reason, by=by)
    if result.certificates:
        _say(f"revoked certificate(s) {', '.join(c.serial for c in result.certificates)}; "
             f"{inventory}/{pki.CRL_FILE} rewritten")
    else:
        _say("no certificate to revoke")
    _say(f"deleted secret {totp_secret(username)}" if result.totp_deleted else "no TOTP seed to delete")
    _say(f"recorded in {inventory}/access/revocations.yml: {result.revocation.date}, by {result.revocation.by}")
    _say(f"commit {inventory}/pki, {inventory}/secrets and {inventory}/access, then deploy the "
         f"concentrators and RADIUS servers")



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
