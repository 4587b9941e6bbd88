"""`telework person …`: enrol a person for the VPN, revoke them, show what they may reach.

`enroll` is the one command that shows a secret: the TOTP seed, as a QR code and otpauth URI, so
the person can scan it. It does so only on a terminal (or with --show-secret); run from CI or a
pipe it writes the QR code to a file (mode 0600) and says where, so a seed never lands in a log.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from .. import enrolment, pki
from ..access import find_person, network_prefixes, totp_secret, vpn_person
from ..inventory import require_inventory
from ..ipam import Allocations, allocations_path, device_key
from ..model import PoolKind
from ..secrets import SecretStore
from .common import console, err_console, inventory_argument
from .secret import _identity_option


def _say(text: str) -> None:
    console.print(escape(text), soft_wrap=True)


@click.group()
def person() -> None:
    """VPN access of a person: enrol (certificate, TOTP, bundle), revoke, show."""


@person.command()
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


@person.command()
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


@person.command()
@click.argument("username")
@inventory_argument
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def show(username: str, inventory: Path, fmt: str) -> None:
    """What USERNAME may reach over the VPN, their tunnel addresses, enrolment, devices and phone."""
    loaded = require_inventory(inventory)
    inv = loaded.model
    model = find_person(loaded, username)
    vp = vpn_person(loaded, username)
    allocations = Allocations.load(allocations_path(inventory))
    wg_pools = sorted((p for p in inv.address_pools if p.kind is PoolKind.wireguard), key=lambda p: p.concentrator)
    devices: list[_Device] = []
    for section, endpoint in inv.managed_endpoints():
        if endpoint.owner == username:
            held = {p.concentrator: allocations.address_of(p.name, device_key(endpoint.name)) for p in wg_pools}
            devices.append(_Device(endpoint.name, section, endpoint.status.value,
                                   {c: str(a) for c, a in held.items() if a is not None},
                                   bool(endpoint.wireguard_public_key)))
    devices += [_Device(d.name, "igel_devices", d.status.value) for d in inv.igel_devices if d.owner == username]
    devices += [_Device(d.mac, "desk_phones", d.status.value) for d in inv.desk_phones if d.owner == username]
    totp = SecretStore(inventory).info(totp_secret(username)) if vp.enrolled else None
    certs = [c for c in pki.load_issued(inventory) if c.owner == username and c.kind == "person"]
    networks = [(name, str(prefix)) for name in vp.networks for prefix in network_prefixes(loaded, [name])]
    addresses = {c: str(a) for c, a in vp.openvpn_address.items()}
    if fmt == "json":
        data = {
            "username": vp.username, "name": vp.name, "department": vp.department, "site": vp.site,
            "status": vp.status.value, "vpn": vp.vpn, "has_access": vp.has_access,
            "enrolled": vp.enrolled, "totp_created": totp.created if totp else None,
            "totp_rotated": totp.rotated if totp else None,
            "revoked": None if vp.revocation is None else {"date": vp.revocation.date.isoformat(),
                                                           "reason": vp.revocation.reason, "by": vp.revocation.by},
            "networks": [{"name": name, "prefix": prefix} for name, prefix in networks],
            "openvpn_addresses": addresses,
            "devices": [d.as_dict() for d in devices],
            "phone": None if model.phone is None else {"extension": model.phone.extension, "did": model.phone.did},
            "certificates": [{"serial": c.serial, "not_after": c.not_after.isoformat(),
                              "revoked": None if c.revoked is None else c.revoked.reason} for c in certs],
        }
        json.dump(data, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return
    _say(f"{vp.username}: {vp.name}, {vp.department} at {vp.site}, {vp.status.value}")
    why_not = "revoked" if vp.revoked else "vpn: false" if not vp.vpn else vp.status.value
    enrolled = f"yes (TOTP since {totp.rotated or totp.created})" if totp else "no"
    _say(f"VPN access: {'yes' if vp.has_access else f'no ({why_not})'}; enrolled: {enrolled}")
    if vp.revocation is not None:
        _say(f"revoked {vp.revocation.date} by {vp.revocation.by}: {vp.revocation.reason}")
    _say("networks: " + (", ".join(f"{name} ({prefix})" for name, prefix in networks) or "none"))
    _say("OpenVPN addresses: " + (", ".join(f"{c} {a}" for c, a in addresses.items()) or "none"))
    if model.phone is not None:
        _say(f"phone: extension {model.phone.extension}, {model.phone.did}")
    if devices:
        table = Table(title="devices")
        for column in ("name", "kind", "status", "WireGuard addresses"):
            table.add_column(column)
        for d in devices:
            wireguard = ", ".join(f"{c} {a}" for c, a in d.addresses.items())
            table.add_row(escape(d.name), d.kind, d.status, escape(wireguard))
        console.print(table)
    for cert in certs:
        state = f"revoked: {cert.revoked.reason}" if cert.revoked else "valid"
        _say(f"certificate {cert.serial}, until {cert.not_after:%Y-%m-%d}, {state}")


@dataclass(frozen=True)
class _Device:
    """A row of `person show`'s device table."""

    name: str
    kind: str
    status: str
    addresses: dict[str, str] = field(default_factory=dict)
    wireguard_public_key: bool | None = None

    def as_dict(self) -> dict:
        out: dict = {"name": self.name, "kind": self.kind, "status": self.status}
        if self.kind in ("linux_endpoints", "notebooks"):
            out.update(addresses=self.addresses, wireguard_public_key=self.wireguard_public_key)
        return out
