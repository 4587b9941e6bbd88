"""Giving a person VPN access and taking it away again.

`enroll` makes what a person needs to log in: a client certificate, a fresh TOTP seed (secret
`totp/<username>`) and one OpenVPN bundle, `<out>/<username>.ovpn`, that holds everything
inline and lists both concentrators for failover. The person logs in with their username and,
as password, the 6-digit code of their authenticator app (the RADIUS server checks it). The
bundle holds the only copy of the client's private key: hand it over on a safe channel and
delete it. Enrolling again issues a new certificate, revokes the old one as superseded, gives
a new seed and takes the person off `access/revocations.yml`.

With `device=NAME`, `enroll` writes the WireGuard configs of a person's Linux endpoint or
notebook instead: one wg-quick file per concentrator (`<name>-vpn-a.conf`, `<name>-vpn-b.conf`),
because a WireGuard client cannot fail over between two peers carrying the same AllowedIPs;
the endpoint deploy keeps one up and the other ready. They hold no private key: the device
makes its own, and the deploy puts it where the placeholder is.

`revoke` revokes the person's certificates (new crl.pem), deletes their TOTP seed and records
who revoked them, when and why in `access/revocations.yml`; their devices drop out of the
concentrators' peers at the next deploy, because their owner no longer has access.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import segno

from telework.core.atomicfile import write_atomic
from telework.inventory.loaded import LoadedInventory
from telework.inventory.loading import load_inventory, require_inventory
from telework.inventory.lookup import find_device, find_person, where
from telework.inventory.model import DeviceStatus, PersonStatus, PoolKind
from telework.ipam.allocations import (
    Allocations,
    allocations_path,
    concentrator_address,
    device_key,
)
from telework.roles.vpn import pki
from telework.roles.vpn.concentrator import device_networks, network_prefixes
from telework.roles.vpn.people import AccessError, vpn_person
from telework.roles.vpn.revocations import Revocation, clear_revocation, record_revocation
from telework.roles.vpn.secret_names import TLS_CRYPT_SECRET, totp_secret, wireguard_key_secret
from telework.secrets.store import SecretStore

#: What authenticator apps expect; RADIUS checks the codes with the same parameters.
TOTP_DIGITS = 6
TOTP_PERIOD = 30
TOTP_ALGORITHM = "SHA1"
#: Not a valid key, so an unfilled config fails loudly in wg-quick instead of running keyless.
PRIVATE_KEY_PLACEHOLDER = "GENERATED-ON-THE-DEVICE"
#: Tunnels cross home routers: keep their NAT mappings open.
PERSISTENT_KEEPALIVE = 25
#: Seconds a client waits for one concentrator before it tries the next.
SERVER_POLL_TIMEOUT = 10


@dataclass(frozen=True)
class Enrolment:
    """What `enroll` did. `otpauth_uri` holds the TOTP seed: repr() hides it."""

    username: str
    files: list[Path]
    otpauth_uri: str | None = field(default=None, repr=False)
    serial: str | None = None
    not_after: datetime | None = None
    superseded: list[str] = field(default_factory=list)
    reinstated: Revocation | None = None
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Withdrawal:
    """What `revoke` did."""

    username: str
    revocation: Revocation
    certificates: list[pki.IssuedCert]
    totp_deleted: bool


# ---------------------------------------------------------------- TOTP


def otpauth_uri(issuer: str, username: str, seed: str) -> str:
    """The `otpauth://totp/…` URI authenticator apps scan: label `<issuer>:<username>`, SHA1,
    6 digits, 30 seconds (Key Uri Format of Google Authenticator)."""
    label = f"{quote(issuer, safe='')}:{quote(username, safe='')}"
    return (f"otpauth://totp/{label}?secret={seed}&issuer={quote(issuer, safe='')}"
            f"&algorithm={TOTP_ALGORITHM}&digits={TOTP_DIGITS}&period={TOTP_PERIOD}")


def qr_code(uri: str) -> segno.QRCode:
    return segno.make(uri, error="m")


def write_qr(uri: str, path: str | Path) -> Path:
    """Write the QR code of `uri` as SVG or PNG (by the suffix), mode 0600: it holds the seed."""
    path = Path(path)
    if path.suffix.lower() not in (".svg", ".png"):
        raise AccessError(f"QR code file {path}: use a name ending in .svg or .png")
    from io import BytesIO

    buffer = BytesIO()
    qr_code(uri).save(buffer, kind=path.suffix.lower().lstrip("."), scale=6, border=4)
    write_atomic(path, buffer.getvalue(), mode=0o600)
    return path


# ---------------------------------------------------------------- enrolment


def enroll(inventory_dir: str | Path, store: SecretStore, username: str, out_dir: str | Path,
           device: str | None = None, *, qr_file: str | Path | None = None,
           now: datetime | None = None) -> Enrolment:
    """Enrol `username`: their OpenVPN bundle and TOTP seed, or (with `device`) the WireGuard
    configs of their Linux endpoint or notebook. Files are written into `out_dir` (created 0700)."""
    inventory_dir = Path(inventory_dir)
    loaded = require_inventory(inventory_dir)
    person = find_person(loaded, username)
    out_dir = Path(out_dir)
    if device is not None:
        return _enroll_device(loaded, store, username, device, out_dir, now)
    if not person.vpn or person.status is not PersonStatus.active:
        state = "has vpn: false" if not person.vpn else f"is {person.status.value}"
        fix = "set vpn: true" if not person.vpn else "set status: active"
        raise AccessError(f"{username} {state} ({where(loaded, 'people', 'username', username)}): "
                          f"{fix}, run `telework ipam sync {inventory_dir}`, commit, then enrol")
    view = vpn_person(loaded, username)
    _require_addresses(loaded, username, PoolKind.openvpn, view.openvpn_address)
    concentrators = sorted(loaded.model.vpn_concentrators, key=lambda c: c.name)
    ca = pki.ca_pem(inventory_dir)
    for concentrator in concentrators:  # raises unless `telework pki init` made every server's
        pki.server_cert_pem(inventory_dir, concentrator.name)
    server_name = pki.server_common_name(inventory_dir)
    tls_crypt = store.get(TLS_CRYPT_SECRET)  # needs the identity: fail before anything is written

    moment = (now or datetime.now(UTC)).astimezone(UTC)
    cert_pem, key_pem = pki.issue_client(inventory_dir, store, username, "person", now=moment)
    record = pki.record_of(inventory_dir, cert_pem)
    superseded = pki.revoke(inventory_dir, store, username, f"superseded by {record.serial} (enrolled again)",
                            now=moment, keep=record.serial)
    seed = store.add_generated(totp_secret(username), "totp", replace=True).value
    org = loaded.model.organisation
    bundle = out_dir / f"{username}.ovpn"
    _make_private_dir(out_dir)
    write_atomic(bundle, render_bundle(
        organisation=org.name, username=username, name=person.name, serial=record.serial,
        not_after=record.not_after, remotes=[(str(c.public_address), c.openvpn_port) for c in concentrators],
        server_name=server_name, ca=ca, cert=cert_pem, key=key_pem, tls_crypt=tls_crypt, written=moment,
    ).encode("utf-8"), mode=0o600)
    uri = otpauth_uri(org.name, username, seed)
    files = [bundle]
    if qr_file is not None:
        files.append(write_qr(uri, qr_file))
    reinstated = clear_revocation(inventory_dir, username)
    return Enrolment(username, files, uri, record.serial, record.not_after,
                     [c.serial for c in superseded], reinstated)


def _require_addresses(loaded: LoadedInventory, who: str, kind: PoolKind, held: dict) -> None:
    """Stop unless `who` holds an address in every pool of `kind` (`held`: concentrator -> address)."""
    missing = sorted(p.name for p in loaded.model.address_pools
                     if p.kind is kind and held.get(p.concentrator) is None)
    if missing:
        raise AccessError(f"{who} has no tunnel address in {', '.join(missing)}: run "
                          f"`telework ipam sync {loaded.root}`, commit allocations.yml, then enrol")


def render_bundle(*, organisation: str, username: str, name: str, serial: str, not_after: datetime,
                  remotes: list[tuple[str, int]], server_name: str, ca: str, cert: str, key: str,
                  tls_crypt: str, written: datetime) -> str:
    """The .ovpn text: same arguments, same bytes."""
    lines = [
        f"# VPN access to {organisation} for {username} ({name}).",
        f"# Written by `telework person enroll` on {written:%Y-%m-%d}; certificate {serial},",
        f"# valid until {not_after:%Y-%m-%d}. It holds the certificate's private key: keep it like a",
        "# password and delete this file once it is imported.",
        "# Log in with your username and, as password, the 6-digit code of your authenticator app.",
        "client",
        "dev tun",
        "nobind",
        "# Tell the concentrator when the client stops, so it ends the session at once (the",
        "# helpdesk's `telework person status` then says disconnected, not 60 s later).",
        "explicit-exit-notify 1",
        "# Both concentrators, always tried in this order (no remote-random): when the first does",
        f"# not answer within {SERVER_POLL_TIMEOUT} s the second takes over.",
        *(f"remote {address} {port} udp" for address, port in remotes),
        f"server-poll-timeout {SERVER_POLL_TIMEOUT}",
        "resolv-retry infinite",
        "persist-key",
        "persist-tun",
        "remote-cert-tls server",
        f"verify-x509-name {server_name} name",
        "tls-version-min 1.2",
        "data-ciphers AES-256-GCM:CHACHA20-POLY1305",
        "auth-user-pass",
        "auth-nocache",
        "verb 3",
        "<ca>", ca.strip(), "</ca>",
        "<cert>", cert.strip(), "</cert>",
        "<key>", key.strip(), "</key>",
        "<tls-crypt>", tls_crypt.strip(), "</tls-crypt>",
    ]
    return "\n".join(lines) + "\n"


def _enroll_device(loaded: LoadedInventory, store: SecretStore, username: str, name: str, out_dir: Path,
                   now: datetime | None) -> Enrolment:
    device = find_device(loaded, name)
    section = "notebooks" if any(d.name == name for d in loaded.model.notebooks) else "linux_endpoints"
    place = where(loaded, section, "name", name)
    if device.owner != username:
        owner = f"owned by {device.owner}" if device.owner else "has no owner"
        raise AccessError(f"{name} {owner} ({place}), not by {username}: set `owner: {username}` or "
                          f"enrol its owner")
    if device.status is not DeviceStatus.active:
        raise AccessError(f"{name} is {device.status.value} ({place}): set status: active first")
    person = vpn_person(loaded, username)
    if not person.has_access:
        why = ("is revoked" if person.revoked
               else "has vpn: false" if not person.vpn else f"is {person.status.value}")
        raise AccessError(f"{username} {why}: their devices get no tunnel; enrol {username} first")
    allocations = Allocations.load(allocations_path(loaded.root))
    pools = sorted((p for p in loaded.model.address_pools if p.kind is PoolKind.wireguard),
                   key=lambda p: p.concentrator)
    held = {p.concentrator: allocations.address_of(p.name, device_key(name)) for p in pools}
    _require_addresses(loaded, name, PoolKind.wireguard, held)
    prefixes = network_prefixes(loaded, device_networks(loaded, device))
    concentrators = {c.name: c for c in loaded.model.vpn_concentrators}
    domain = loaded.model.organisation.domain
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    _make_private_dir(out_dir)
    files, notes = [], []
    for pool in pools:
        concentrator = concentrators[pool.concentrator]
        info = store.info(wireguard_key_secret(concentrator.name)) if store.exists(
            wireguard_key_secret(concentrator.name)) else None
        if info is None or not info.public:
            raise AccessError(f"{concentrator.name} has no WireGuard key yet (secret "
                              f"{wireguard_key_secret(concentrator.name)}): run `telework pki init {loaded.root}`")
        allowed = [f"{concentrator_address(pool.prefix)}/32", *(str(p) for p in prefixes)]
        path = out_dir / f"{name}-{concentrator.name}.conf"
        write_atomic(path, render_wireguard(
            device=name, owner=username, concentrator=f"{concentrator.name}.{domain}",
            others=[f"{name}-{p.concentrator}.conf" for p in pools if p is not pool],
            address=f"{held[pool.concentrator]}/32", server_public_key=info.public,
            endpoint=f"{concentrator.public_address}:{concentrator.wireguard_port}", allowed_ips=allowed,
            written=moment).encode("utf-8"), mode=0o600)
        files.append(path)
    if not device.wireguard_public_key:
        notes.append(f"{name} has no wireguard_public_key in the inventory yet: the concentrators add it as a "
                     f"peer once its public key (`wg pubkey` on the device) is recorded in {place}")
    return Enrolment(username, files, notes=notes)


def render_wireguard(*, device: str, owner: str, concentrator: str, others: list[str], address: str,
                     server_public_key: str, endpoint: str, allowed_ips: list[str], written: datetime) -> str:
    """One wg-quick config of a device towards one concentrator: same arguments, same bytes."""
    lines = [
        f"# WireGuard tunnel of {device} (owner {owner}) to {concentrator}.",
        f"# Written by `telework person enroll {owner} --device {device}` on {written:%Y-%m-%d}.",
        "# One config per concentrator: a WireGuard client cannot fail over between two peers that",
        "# carry the same AllowedIPs, so one tunnel is up and the other is the standby:",
        f"# {', '.join(others) or 'none'}.",
        "[Interface]",
        "# The private key is made on the device and never leaves it: the endpoint deploy puts it",
        "# here (`wg genkey`), and the matching public key goes into the inventory.",
        f"PrivateKey = {PRIVATE_KEY_PLACEHOLDER}",
        f"Address = {address}",
        "",
        "[Peer]",
        f"PublicKey = {server_public_key}",
        f"Endpoint = {endpoint}",
        f"AllowedIPs = {', '.join(allowed_ips)}",
        f"PersistentKeepalive = {PERSISTENT_KEEPALIVE}",
    ]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- revocation


def revoke(inventory_dir: str | Path, store: SecretStore, username: str, reason: str,
           *, by: str | None = None, now: datetime | None = None) -> Withdrawal:
    """Take `username`'s access away: revoke their certificates (crl.pem), delete their TOTP seed,
    record it in access/revocations.yml.

    An emergency must not wait for the inventory to be fixed: this works for people already
    removed from it and on an inventory with errors (it is only read to suggest usernames)."""
    inventory_dir = Path(inventory_dir)
    if not reason.strip():
        raise AccessError("a revocation needs a reason (auditors read it): pass --reason TEXT")
    loaded = load_inventory(inventory_dir)
    known = loaded.model.person(username) is not None
    owns = any(c.owner == username and c.kind == "person" for c in pki.load_issued(inventory_dir))
    if not known and not owns and not store.exists(totp_secret(username)):
        find_person(loaded, username)  # raises with the closest usernames
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    certificates = pki.revoke(inventory_dir, store, username, reason, now=moment) if owns else []
    deleted = _forget_secret(store, totp_secret(username))
    entry = record_revocation(inventory_dir, username, reason, by=by, today=moment.date())
    return Withdrawal(username, entry, certificates, deleted)


def _forget_secret(store: SecretStore, name: str) -> bool:
    """Delete secret `name`, its file and its index entry; False if there is none.

    SecretStore has no public delete yet, so this uses its index helpers. git history keeps the
    old ciphertext: harmless for a TOTP seed, which RADIUS no longer accepts once its user is gone."""
    path = store.path_of(name)
    if not path.exists():
        return False
    index = store._load_index()
    index.pop(name, None)
    store._save_index(index)
    path.unlink()
    return True


# ---------------------------------------------------------------- files


def _make_private_dir(path: Path) -> None:
    if not path.exists():
        path.mkdir(mode=0o700, parents=True)
    elif not path.is_dir():
        raise AccessError(f"{path} is not a directory: pass --out DIR")
