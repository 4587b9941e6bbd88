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

from telework.cli.common import DEFAULT_INVENTORY, console, err_console, inventory_argument
from telework.cli.secret import _identity_option
from telework.roles.vpn import bulk_enrolment, enrolment, pki
from telework.roles.vpn.secret_names import totp_secret
from telework.secrets.store import SecretStore


def _say(text: str) -> None:
    console.print(escape(text), soft_wrap=True)


@click.command()
@click.argument("arguments", nargs=-1, metavar="[USERNAME] [INVENTORY]")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Directory for the bundles (created with mode 0700), outside the repository.")
@click.option("--department", metavar="D", help="Everyone with access in department D.")
@click.option("--site", metavar="S", help="Everyone with access at site S.")
@click.option("--pending", is_flag=True,
              help="Everyone with access who has no valid certificate or no TOTP seed yet.")
@click.option("--dry-run", is_flag=True,
              help="With --department/--site/--pending: say who would be enrolled and which "
                   "certificates re-enrolment revokes; write nothing.")
@click.option("--device", metavar="NAME",
              help="Write the WireGuard configs of this Linux endpoint or notebook of the person instead.")
@click.option("--qr-file", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the TOTP QR code to this .svg or .png file (mode 0600).")
@click.option("--show-secret", is_flag=True,
              help="Print the QR code and otpauth URI even when stdout is not a terminal.")
@_identity_option
def enroll(arguments: tuple[str, ...], out_dir: Path, department: str | None, site: str | None, pending: bool,
           dry_run: bool, device: str | None, qr_file: Path | None, show_secret: bool,
           identity: Path | None) -> None:
    """Enrol USERNAME: a new certificate and TOTP seed, and OUT/USERNAME.ovpn for their VPN client;
    or, with --department, --site or --pending (combined: all must hold), everyone they name in
    one run.

    \b
    Enrolling again replaces both and revokes the old certificate; it also lifts a revocation.
    With --device NAME: OUT/NAME-<concentrator>.conf for wg-quick, one per concentrator
    (no private key: the device makes its own).
    A run for many people writes the inventory's records once at the end; interrupted, the
    same command run again finishes it, and everyone ends up enrolled once.
    Commit pki/, secrets/ and access/ afterwards and deploy the concentrators and RADIUS servers.
    """
    many = bool(department or site or pending)
    if many:
        if len(arguments) > 1 or device or qr_file or show_secret:
            raise click.UsageError("with --department/--site/--pending give only INVENTORY (no USERNAME, "
                                   "--device, --qr-file or --show-secret)")
        inventory = Path(arguments[0]) if arguments else Path(DEFAULT_INVENTORY)
        _enroll_many(inventory, SecretStore(inventory, identity), out_dir,
                     bulk_enrolment.Selection(department, site, pending), dry_run)
        return
    if not arguments or len(arguments) > 2:
        raise click.UsageError("give USERNAME [INVENTORY], or --department D, --site S or --pending")
    if dry_run:
        raise click.UsageError("--dry-run is for --department/--site/--pending")
    username = arguments[0]
    inventory = Path(arguments[1]) if len(arguments) > 1 else Path(DEFAULT_INVENTORY)
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


def _enroll_many(inventory: Path, store: SecretStore, out_dir: Path, selection, dry_run: bool) -> None:
    """Bulk enrolment with a progress bar (on a terminal) and a summary naming everyone."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    bar = Progress(TextColumn("enrolling"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                   console=err_console, transient=True, disable=not err_console.is_terminal)
    task = None

    def advance(done: int, total: int) -> None:
        nonlocal task
        if task is None:
            task = bar.add_task("enrol", total=total)
        bar.update(task, completed=done)

    try:
        with bar:
            result = bulk_enrolment.enroll_many(inventory, store, selection, out_dir, dry_run=dry_run,
                                                progress=advance)
    except KeyboardInterrupt:
        err_console.print(escape(f"interrupted: run the same command again to finish; the people staged in "
                                 f"{out_dir / bulk_enrolment.STAGING} are kept, so everyone is enrolled once"),
                          soft_wrap=True)
        sys.exit(130)
    if result.dry_run:
        _say(f"would enrol {len(result.planned)} people ({selection.key}):")
        for planned in result.planned:
            revokes = f"; revokes {', '.join(planned.supersedes)} (superseded)" if planned.supersedes else ""
            _say(f"  {planned.username} ({planned.name}){revokes}")
        if result.resumed:
            _say("an interrupted run staged them all already: running it again commits them")
        _say("dry run: nothing was written")
        return
    if not result.enrolled:
        _say(f"nobody to enrol ({selection.key}): everyone there with access is enrolled")
        return
    if result.resumed:
        _say(f"kept {len(result.resumed)} people staged by the interrupted run (each enrolled once)")
    _say(f"enrolled {len(result.enrolled)} people: {', '.join(result.enrolled)}")
    _say(f"wrote {len(result.enrolled)} bundles to {result.bundles} (mode 0600): hand each over on a safe "
         f"channel with its letter (`telework person letter`), then delete them")
    if result.revoked:
        _say(f"revoked {len(result.revoked)} previous certificate(s) as superseded; "
             f"{inventory}/{pki.CRL_FILE} rewritten")
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
