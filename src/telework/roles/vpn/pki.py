"""The OpenVPN PKI of an inventory: a small CA whose public half is committed, private half age-encrypted.

Committed in the inventory (public, reviewed in merge requests, read by deploys):

    pki/ca.crt                   the CA certificate (EC P-256)
    pki/servers/<name>.crt       each concentrator's server certificate
    pki/issued.yml               every certificate ever issued, and its revocation
    pki/crl.pem                  the signed CRL, made from issued.yml

Secrets (telework.secrets.store, age-encrypted): the CA key, each server key, the tls-crypt key,
the RADIUS shared secret and WireGuard key of each concentrator. A client's private key is
never stored: it exists only in the bundle written for the person (telework.roles.vpn.enrolment).

Choices, and why:

* EC P-256 keys and ECDSA-SHA256 everywhere: OpenVPN 2.6 and IGEL OS accept them; Ed25519
  certificates are not accepted by every client.
* Both server certificates carry the same common name, `vpn.<domain>` (their SANs name the
  concentrator, `<name>.<domain>`, and its public address). A client bundle lists both
  concentrators for failover and has one `verify-x509-name`, which cannot match two names
  exactly; a shared service name is how HA pairs are usually certified.
* Signatures are deterministic (RFC 6979), so the same inputs give the same bytes; crl.pem is
  only rewritten by a revocation or `telework pki crl --refresh`, so deploys copy a file that
  does not change between runs.
* Lifetimes: CA 10 years, server and client certificates 825 days (easy-rsa's default), CRL
  180 days: refresh it well before (`telework pki crl` warns 30 days ahead), an expired CRL
  makes OpenVPN refuse every client.
"""

from __future__ import annotations

import ipaddress
import json
import secrets as _random
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from telework.core.atomicfile import write_atomic
from telework.core.problems import TeleworkError
from telework.inventory.loading import require_inventory
from telework.roles.vpn.secret_names import (
    CA_KEY_SECRET,
    TLS_CRYPT_SECRET,
    radius_secret,
    server_key_secret,
    wireguard_key_secret,
)
from telework.secrets.store import SecretStore

PKI_DIR = Path("pki")
CA_FILE = PKI_DIR / "ca.crt"
SERVERS_DIR = PKI_DIR / "servers"
ISSUED_FILE = PKI_DIR / "issued.yml"
CRL_FILE = PKI_DIR / "crl.pem"

CA_DAYS = 3650
SERVER_DAYS = 825
CLIENT_DAYS = 825
CRL_DAYS = 180
#: `telework pki crl` warns when the CRL expires within this many days.
CRL_WARN_DAYS = 30
#: Label of the common name both server certificates share: `vpn.<domain>`.
SERVER_NAME_LABEL = "vpn"
#: Certificates start this much before they are issued: clocks of home devices are off.
BACKDATE = timedelta(hours=1)

KINDS = ("server", "person", "device")
_HASH = hashes.SHA256()
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_ISSUED_HEADER = """\
# Certificates issued by this inventory's VPN CA: written by `telework pki` and `telework
# person`, never by hand. No private key is ever kept here. `revoked` is null or when and why;
# pki/crl.pem lists every revoked serial. Serials are hex as `openssl x509 -serial` prints them.
"""


class PkiError(TeleworkError):
    """The PKI files are missing, inconsistent or cannot be signed."""


@dataclass(frozen=True)
class Revoked:
    date: datetime
    reason: str


@dataclass(frozen=True)
class IssuedCert:
    """One line of pki/issued.yml."""

    serial: str
    kind: str
    cn: str
    owner: str
    not_before: datetime
    not_after: datetime
    revoked: Revoked | None = None

    def sort_key(self) -> tuple:
        return (KINDS.index(self.kind), self.owner, self.not_before, self.serial)


# ---------------------------------------------------------------- reading the committed files


def _read(inventory_dir: str | Path, rel: Path, what: str) -> str:
    path = Path(inventory_dir) / rel
    try:
        return path.read_text(encoding="ascii")
    except FileNotFoundError:
        raise PkiError(f"{path} is missing: {what}") from None


def ca_pem(inventory_dir: str | Path) -> str:
    """The CA certificate (PEM), as committed."""
    return _read(inventory_dir, CA_FILE, f"run `telework pki init {inventory_dir}` first")


def server_cert_pem(inventory_dir: str | Path, name: str) -> str:
    """The server certificate of concentrator `name` (PEM), as committed."""
    return _read(inventory_dir, SERVERS_DIR / f"{name}.crt", f"run `telework pki init {inventory_dir}`")


def crl_pem(inventory_dir: str | Path) -> str:
    """The CRL (PEM), as committed: deploys copy it byte for byte."""
    return _read(inventory_dir, CRL_FILE, f"run `telework pki init {inventory_dir}`")


def load_issued(inventory_dir: str | Path) -> list[IssuedCert]:
    """Every certificate of pki/issued.yml, sorted; a missing file is none."""
    path = Path(inventory_dir) / ISSUED_FILE
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader) or {}
    except FileNotFoundError:
        return []
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise PkiError(f"{where}: not valid YAML; restore it from git") from None
    out = []
    for number, entry in enumerate(data.get("certificates") or [], 1):
        try:
            revoked = entry.get("revoked")
            out.append(IssuedCert(
                serial=str(entry["serial"]), kind=entry["kind"], cn=entry["cn"], owner=entry["owner"],
                not_before=_timestamp(entry["not_before"]), not_after=_timestamp(entry["not_after"]),
                revoked=Revoked(_timestamp(revoked["date"]), revoked["reason"]) if revoked else None))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise PkiError(f"{path}: certificate #{number} is incomplete or malformed ({exc!r}); "
                           f"restore the file from git") from None
    return sorted(out, key=IssuedCert.sort_key)


def _timestamp(value) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value)).astimezone(UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def render_issued(certs: list[IssuedCert]) -> str:
    """issued.yml: one field a line, sorted by kind, owner, date, serial; same certs, same bytes."""
    lines = [_ISSUED_HEADER.rstrip("\n"), "certificates:" if certs else "certificates: []"]
    for cert in sorted(certs, key=IssuedCert.sort_key):
        revoked = "null" if cert.revoked is None else (
            f"{{date: {json.dumps(_iso(cert.revoked.date))}, "
            f"reason: {json.dumps(cert.revoked.reason, ensure_ascii=False)}}}")
        lines += [f"  - serial: {json.dumps(cert.serial)}",
                  f"    kind: {cert.kind}",
                  f"    cn: {json.dumps(cert.cn, ensure_ascii=False)}",
                  f"    owner: {json.dumps(cert.owner, ensure_ascii=False)}",
                  f"    not_before: {json.dumps(_iso(cert.not_before))}",
                  f"    not_after: {json.dumps(_iso(cert.not_after))}",
                  f"    revoked: {revoked}"]
    return "\n".join(lines) + "\n"


def _write(inventory_dir: str | Path, rel: Path, text: str) -> bool:
    path = Path(inventory_dir) / rel
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, text)
    return True


def serial_hex(serial: int) -> str:
    """A serial number as issued.yml and `openssl x509 -serial` write it: upper-case hex, even length."""
    text = f"{serial:X}"
    return text if len(text) % 2 == 0 else "0" + text


# ---------------------------------------------------------------- keys and certificates


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode("ascii")


def _cert_pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def _sign(builder, key):
    return builder.sign(key, _HASH, ecdsa_deterministic=True)


def _name(cn: str, organisation: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _start(now: datetime | None) -> datetime:
    return (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)


def _make_ca(organisation: str, now: datetime) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = _new_key()
    name = _name(f"{organisation} VPN CA", organisation)
    public = key.public_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE).not_valid_after(now + timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                     crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
    )
    return _sign(builder, key), key


class _Ca:
    """The CA certificate with its key, decrypted on first use."""

    def __init__(self, inventory_dir: Path, store: SecretStore,
                 cert: x509.Certificate | None = None, key: ec.EllipticCurvePrivateKey | None = None):
        self.inventory_dir, self.store = inventory_dir, store
        self.cert = cert or x509.load_pem_x509_certificate(ca_pem(inventory_dir).encode("ascii"))
        public = self.cert.public_key()
        if not isinstance(public, ec.EllipticCurvePublicKey):
            raise PkiError(f"{inventory_dir / CA_FILE} does not hold an EC key: it was not made by telework")
        self.public: ec.EllipticCurvePublicKey = public
        self._key = key

    @property
    def organisation(self) -> str:
        found = self.cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
        return str(found[0].value) if found else ""

    @property
    def key(self) -> ec.EllipticCurvePrivateKey:
        """The CA key, decrypted from its secret on first use (needs the age identity)."""
        if self._key is None:
            self._key = self._load_key()
        return self._key

    def _load_key(self) -> ec.EllipticCurvePrivateKey:
        if not self.store.exists(CA_KEY_SECRET):
            raise PkiError(f"the CA key (secret {CA_KEY_SECRET}) is missing while {CA_FILE} exists: "
                           f"restore secrets/{CA_KEY_SECRET}.age from git")
        key = serialization.load_pem_private_key(self.store.get(CA_KEY_SECRET).encode("ascii"), None)
        if not isinstance(key, ec.EllipticCurvePrivateKey) or \
                key.public_key().public_numbers() != self.public.public_numbers():
            raise PkiError(f"secret {CA_KEY_SECRET} is not the key of {CA_FILE}: restore both from git")
        return key

    def issue(self, cn: str, kind: str, owner: str, now: datetime, days: int,
              san: list[x509.GeneralName] | None = None) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
        """Sign a new certificate and record it in issued.yml."""
        cert, key, record = self.sign(cn, kind, owner, now, days, san)
        _write(self.inventory_dir, ISSUED_FILE, render_issued([*load_issued(self.inventory_dir), record]))
        return cert, key

    def sign(self, cn: str, kind: str, owner: str, now: datetime, days: int,
             san: list[x509.GeneralName] | None = None
             ) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey, IssuedCert]:
        """A new key and certificate and its issued.yml record, written nowhere (bulk enrolment
        records hundreds at once)."""
        key = _new_key()
        public = key.public_key()
        usage = ExtendedKeyUsageOID.SERVER_AUTH if kind == "server" else ExtendedKeyUsageOID.CLIENT_AUTH
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(cn, self.organisation)).issuer_name(self.cert.subject).public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - BACKDATE).not_valid_after(now + timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.public),
                           critical=False)
        )
        if san:
            builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
        cert = _sign(builder, self.key)
        record = IssuedCert(serial_hex(cert.serial_number), kind, cn, owner,
                            cert.not_valid_before_utc, cert.not_valid_after_utc)
        return cert, key, record

    def write_crl(self, now: datetime) -> str:
        """Sign a CRL of every revoked certificate in issued.yml and write pki/crl.pem."""
        number = 1
        path = self.inventory_dir / CRL_FILE
        if path.exists():
            old = x509.load_pem_x509_crl(path.read_bytes())
            try:
                number = old.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number + 1
            except x509.ExtensionNotFound:
                pass
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.cert.subject)
            .last_update(now).next_update(now + timedelta(days=CRL_DAYS))
            .add_extension(x509.CRLNumber(number), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.public),
                           critical=False)
        )
        for cert in load_issued(self.inventory_dir):
            if cert.revoked is not None:
                builder = builder.add_revoked_certificate(
                    x509.RevokedCertificateBuilder().serial_number(int(cert.serial, 16))
                    .revocation_date(cert.revoked.date).build())
        pem = _sign(builder, self.key).public_bytes(serialization.Encoding.PEM).decode("ascii")
        _write(self.inventory_dir, CRL_FILE, pem)
        return pem


def _server_name(domain: str) -> str:
    return f"{SERVER_NAME_LABEL}.{domain}"


def server_common_name(inventory_dir: str | Path) -> str:
    """The common name every server certificate carries (for `verify-x509-name … name`)."""
    cert = x509.load_pem_x509_certificate(server_cert_pem(inventory_dir, _first_server(inventory_dir)).encode())
    return str(cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)


def _first_server(inventory_dir: str | Path) -> str:
    found = sorted((Path(inventory_dir) / SERVERS_DIR).glob("*.crt"))
    if not found:
        raise PkiError(f"no server certificate in {Path(inventory_dir) / SERVERS_DIR}: "
                       f"run `telework pki init {inventory_dir}`")
    return found[0].stem


def _server_san(concentrator, domain: str) -> list[x509.GeneralName]:
    return [x509.DNSName(f"{concentrator.name}.{domain}"), x509.DNSName(_server_name(domain)),
            x509.IPAddress(ipaddress.ip_address(str(concentrator.public_address)))]


def _san_of(cert: x509.Certificate) -> set[str]:
    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return set()
    return {str(n.value) for n in names}


def issue_service(inventory_dir: str | Path, store: SecretStore, cn: str, owner: str,
                  dns_names: list[str], addresses: list[str], days: int = SERVER_DAYS,
                  now: datetime | None = None) -> tuple[str, str]:
    """(certificate PEM, key PEM) of a TLS server certificate from the organisation's CA for a
    service other than a concentrator (e.g. the IGEL UMS); recorded in issued.yml like every
    other certificate. The key is returned, never stored: the caller installs it."""
    ca = _Ca(Path(inventory_dir), store)
    san: list[x509.GeneralName] = [x509.DNSName(n) for n in dns_names]
    san += [x509.IPAddress(ipaddress.ip_address(a)) for a in addresses]
    cert, key = ca.issue(cn, "server", owner, _start(now), days, san)
    return _cert_pem(cert), _key_pem(key)


# ---------------------------------------------------------------- tls-crypt


def tls_crypt_key() -> str:
    """A new OpenVPN static key V1 (2048 random bits), byte for byte as `openvpn --genkey` writes it."""
    raw = _random.token_hex(256)
    lines = [raw[i:i + 32] for i in range(0, len(raw), 32)]
    return ("#\n# 2048 bit OpenVPN static key\n#\n-----BEGIN OpenVPN Static key V1-----\n"
            + "\n".join(lines) + "\n-----END OpenVPN Static key V1-----\n")


# ---------------------------------------------------------------- the operations


def init_pki(inventory_dir: str | Path, store: SecretStore, today: date | None = None) -> list[str]:
    """Create what is missing: CA, a server certificate and key for every concentrator, the
    tls-crypt key, RADIUS secrets and WireGuard keys of the concentrators, crl.pem. Returns what
    it created (empty on a second run).

    A server certificate whose names no longer match its concentrator (public address changed)
    is issued again and the old one revoked as superseded."""
    inventory_dir = Path(inventory_dir)
    loaded = require_inventory(inventory_dir)
    org = loaded.model.organisation
    now = _start(datetime.combine(today, time(12), UTC) if today else None)
    created: list[str] = []
    ca_file = inventory_dir / CA_FILE
    if ca_file.exists():
        ca = _Ca(inventory_dir, store)
    else:
        if store.exists(CA_KEY_SECRET):
            raise PkiError(f"secret {CA_KEY_SECRET} exists but {ca_file} does not: restore {CA_FILE} from git "
                           f"(a new CA would invalidate every issued certificate)")
        cert, key = _make_ca(org.name, now)
        store.set(CA_KEY_SECRET, _key_pem(key), "manual", replace=False)
        _write(inventory_dir, CA_FILE, _cert_pem(cert))
        ca = _Ca(inventory_dir, store, cert, key)
        created += [str(CA_FILE), f"secret {CA_KEY_SECRET}"]
    if not store.exists(TLS_CRYPT_SECRET):
        store.set(TLS_CRYPT_SECRET, tls_crypt_key(), "manual", replace=False)
        created.append(f"secret {TLS_CRYPT_SECRET}")
    superseded = False
    for concentrator in sorted(loaded.model.vpn_concentrators, key=lambda c: c.name):
        rel = SERVERS_DIR / f"{concentrator.name}.crt"
        san = _server_san(concentrator, org.domain)
        old = None
        if (inventory_dir / rel).exists():
            old = x509.load_pem_x509_certificate((inventory_dir / rel).read_bytes())
        has_key = store.exists(server_key_secret(concentrator.name))
        if old is None or _san_of(old) != {str(n.value) for n in san} or not has_key:
            cert, key = ca.issue(_server_name(org.domain), "server", concentrator.name, now, SERVER_DAYS, san)
            store.set(server_key_secret(concentrator.name), _key_pem(key), "manual", replace=True)
            _write(inventory_dir, rel, _cert_pem(cert))
            if old is None:
                created.append(str(rel))
            else:
                why = "its key is missing" if not has_key else "its names changed"
                _revoke_serials(inventory_dir, {serial_hex(old.serial_number)},
                                f"superseded by {serial_hex(cert.serial_number)}", now)
                superseded = True
                created.append(f"{rel} issued again ({why}); the old one is revoked")
            created.append(f"secret {server_key_secret(concentrator.name)}")
        for name, kind in ((radius_secret(concentrator.name), "password"),
                           (wireguard_key_secret(concentrator.name), "wireguard")):
            if not store.exists(name):
                store.add_generated(name, kind)
                created.append(f"secret {name}")
    if superseded or not (inventory_dir / CRL_FILE).exists():
        ca.write_crl(now)
        created.append(str(CRL_FILE))
    if not (inventory_dir / ISSUED_FILE).exists():
        _write(inventory_dir, ISSUED_FILE, render_issued([]))
    return created


def issue_client(inventory_dir: str | Path, store: SecretStore, owner: str, kind: str,
                 *, now: datetime | None = None) -> tuple[str, str]:
    """A new client certificate for a person (CN = username) or device (CN = its name), recorded
    in issued.yml. Returns (certificate PEM, private key PEM); the key is stored nowhere."""
    if kind not in ("person", "device"):
        raise PkiError(f"client certificates are for kind person or device, not {kind!r}")
    ca = _Ca(Path(inventory_dir), store)
    cert, key = ca.issue(owner, kind, owner, _start(now), CLIENT_DAYS)
    return _cert_pem(cert), _key_pem(key)


def issue_server(inventory_dir: str | Path, store: SecretStore, cn: str, owner: str,
                 san: list[x509.GeneralName], *, now: datetime | None = None) -> tuple[str, str]:
    """A new server certificate of the organisation's CA for another role's service (the SIP
    server's TLS), recorded in issued.yml. Returns (certificate PEM, private key PEM); the caller
    stores the key as its own secret."""
    ca = _Ca(Path(inventory_dir), store)
    cert, key = ca.issue(cn, "server", owner, _start(now), SERVER_DAYS, san)
    return _cert_pem(cert), _key_pem(key)


def record_of(inventory_dir: str | Path, cert_pem: str) -> IssuedCert:
    """The issued.yml record of a certificate."""
    serial = serial_hex(x509.load_pem_x509_certificate(cert_pem.encode("ascii")).serial_number)
    found = next((c for c in load_issued(inventory_dir) if c.serial == serial), None)
    if found is None:
        raise PkiError(f"certificate {serial} is not in {Path(inventory_dir) / ISSUED_FILE}")
    return found


def revoke(inventory_dir: str | Path, store: SecretStore, owner: str, reason: str,
           *, now: datetime | None = None, keep: str | None = None) -> list[IssuedCert]:
    """Revoke every certificate of `owner` not revoked yet (except serial `keep`) and rewrite
    crl.pem; returns the certificates revoked (none: nothing is written)."""
    if not reason.strip():
        raise PkiError("a revocation needs a reason (auditors read it)")
    serials = {c.serial for c in load_issued(inventory_dir)
               if c.owner == owner and c.kind != "server" and c.revoked is None and c.serial != keep}
    moment = _start(now)
    done = _revoke_serials(inventory_dir, serials, reason, moment)
    if done:
        _Ca(Path(inventory_dir), store).write_crl(moment)
    return done


def _revoke_serials(inventory_dir: str | Path, serials: set[str], reason: str, now: datetime) -> list[IssuedCert]:
    certs = load_issued(inventory_dir)
    done = []
    for index, cert in enumerate(certs):
        if cert.serial in serials and cert.revoked is None:
            certs[index] = replace(cert, revoked=Revoked(now, " ".join(reason.split())))
            done.append(certs[index])
    if done:
        _write(inventory_dir, ISSUED_FILE, render_issued(certs))
    return done


def refresh_crl(inventory_dir: str | Path, store: SecretStore, *, now: datetime | None = None) -> str:
    """Sign a new CRL (next update in CRL_DAYS days) from issued.yml and write it; returns it."""
    return _Ca(Path(inventory_dir), store).write_crl(_start(now))


class ClientSigner:
    """Signs many client certificates with the CA key decrypted once; records nothing
    (`record_many` writes issued.yml once for all of them)."""

    def __init__(self, inventory_dir: str | Path, store: SecretStore):
        self._ca = _Ca(Path(inventory_dir), store)
        self._ca.key  # noqa: B018 - decrypt now: fail before the first person, not in the middle

    def sign(self, owner: str, kind: str, now: datetime) -> tuple[str, str, IssuedCert]:
        """(certificate PEM, private key PEM, its issued.yml record) of a new client certificate."""
        if kind not in ("person", "device"):
            raise PkiError(f"client certificates are for kind person or device, not {kind!r}")
        cert, key, record = self._ca.sign(owner, kind, owner, _start(now), CLIENT_DAYS)
        return _cert_pem(cert), _key_pem(key), record

    def write_crl(self, now: datetime) -> str:
        return self._ca.write_crl(_start(now))


def record_many(inventory_dir: str | Path, records: list[IssuedCert], revoke: dict[str, str],
                now: datetime) -> list[IssuedCert]:
    """Add `records` (those not there yet) and revoke the serials of `revoke` (serial -> reason)
    not revoked yet, in one write of issued.yml; returns the certificates revoked. Running it
    twice with the same arguments changes nothing the second time."""
    certs = load_issued(inventory_dir)
    known = {c.serial for c in certs}
    certs += [r for r in records if r.serial not in known]
    done = []
    moment = _start(now)
    for index, cert in enumerate(certs):
        reason = revoke.get(cert.serial)
        if reason is not None and cert.revoked is None:
            certs[index] = replace(cert, revoked=Revoked(moment, " ".join(reason.split())))
            done.append(certs[index])
    _write(inventory_dir, ISSUED_FILE, render_issued(certs))
    return done


@dataclass(frozen=True)
class CrlInfo:
    this_update: datetime
    next_update: datetime
    number: int | None
    revoked: int


def crl_info(inventory_dir: str | Path) -> CrlInfo:
    """Dates, number and size of the committed CRL (no key needed)."""
    crl = x509.load_pem_x509_crl(crl_pem(inventory_dir).encode("ascii"))
    try:
        number = crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    except x509.ExtensionNotFound:
        number = None
    if crl.next_update_utc is None:
        raise PkiError(f"{Path(inventory_dir) / CRL_FILE} has no next update: run `telework pki crl --refresh`")
    return CrlInfo(crl.last_update_utc, crl.next_update_utc, number, len(list(crl)))
