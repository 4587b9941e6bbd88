"""The VPN CA: committed public files, age-encrypted keys, and openssl agreeing with both."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from telework.roles.vpn import pki
from telework.roles.vpn.secret_names import CA_KEY_SECRET, TLS_CRYPT_SECRET
from telework.secrets.store import SecretStore

from ..conftest import edit

# CI installs openssl and oathtool (scripts/bootstrap.sh): there a missing tool fails instead of skipping.
needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None and not os.environ.get("CI"),
                                   reason="the openssl CLI is not installed")
NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)


@pytest.fixture
def initialised(sample: Path, store: SecretStore) -> Path:
    pki.init_pki(sample, store, today=date(2026, 11, 23))
    return sample


def load_cert(pem: str | bytes) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem.encode() if isinstance(pem, str) else pem)


def committed_files(inventory: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in sorted(inventory.rglob("*")) if p.is_file()}


def openssl(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, check=False)


# ---------------------------------------------------------------- init


def test_init_creates_ca_servers_crl_and_secrets_once(sample, store):
    created = pki.init_pki(sample, store, today=date(2026, 11, 23))
    assert created == [
        "pki/ca.crt", f"secret {CA_KEY_SECRET}", f"secret {TLS_CRYPT_SECRET}",
        "pki/servers/vpn-a.crt", "secret openvpn/server-key/vpn-a", "secret radius/secret/vpn-a",
        "secret wireguard/server-key/vpn-a",
        "pki/servers/vpn-b.crt", "secret openvpn/server-key/vpn-b", "secret radius/secret/vpn-b",
        "secret wireguard/server-key/vpn-b",
        "pki/crl.pem",
    ]
    before = committed_files(sample)
    assert pki.init_pki(sample, store) == []
    assert committed_files(sample) == before  # idempotent: not a byte changes, crl.pem included
    assert store.info("radius/secret/vpn-a").kind == "password"
    assert store.info("wireguard/server-key/vpn-b").public  # public key readable without decrypting


def test_no_private_key_outside_the_encrypted_secrets(initialised, store):
    pki.issue_client(initialised, store, "asommer", "person")
    for path, data in committed_files(initialised).items():
        if "secrets" in path.relative_to(initialised).parts:
            assert b"PRIVATE KEY" not in data and b"Static key" not in data, path
            continue
        assert b"PRIVATE KEY" not in data and b"OpenVPN Static key" not in data, path
    assert store.get(CA_KEY_SECRET).startswith("-----BEGIN PRIVATE KEY-----")


def test_ca_and_server_certificates_have_what_openvpn_checks(initialised):
    ca = load_cert(pki.ca_pem(initialised))
    assert isinstance(ca.public_key(), ec.EllipticCurvePublicKey) and ca.public_key().curve.name == "secp256r1"
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert ca.subject.rfc4514_string() == "CN=Stadt Grünfelden VPN CA,O=Stadt Grünfelden"
    server = load_cert(pki.server_cert_pem(initialised, "vpn-a"))
    assert server.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value == x509.ExtendedKeyUsage(
        [ExtendedKeyUsageOID.SERVER_AUTH])
    san = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {str(n.value) for n in san} == {"198.51.100.10", "vpn-a.gruenfelden.example", "vpn.gruenfelden.example"}
    assert server.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "vpn.gruenfelden.example"
    assert pki.server_common_name(initialised) == "vpn.gruenfelden.example"
    assert server.not_valid_after_utc - server.not_valid_before_utc == timedelta(days=pki.SERVER_DAYS, hours=1)


def test_tls_crypt_key_is_an_openvpn_static_key_v1(initialised, store):
    text = store.get(TLS_CRYPT_SECRET)
    lines = text.splitlines()
    start = lines.index("-----BEGIN OpenVPN Static key V1-----")
    body = lines[start + 1: lines.index("-----END OpenVPN Static key V1-----")]
    assert len(body) == 16 and all(re.fullmatch(r"[0-9a-f]{32}", line) for line in body)
    assert lines[:start] == ["#", "# 2048 bit OpenVPN static key", "#"]
    assert pki.tls_crypt_key() != pki.tls_crypt_key()


@needs_openssl
def test_openssl_verifies_the_server_certificates(initialised):
    for name in ("vpn-a", "vpn-b"):
        done = openssl("verify", "-CAfile", "pki/ca.crt", "-purpose", "sslserver", f"pki/servers/{name}.crt",
                       cwd=initialised)
        assert done.returncode == 0 and done.stdout.strip().endswith(": OK"), done.stderr


def test_a_changed_public_address_reissues_the_server_certificate(initialised, store):
    old = load_cert(pki.server_cert_pem(initialised, "vpn-b"))
    edit(initialised / "vpn.yml", "public_address: 198.51.100.11", "public_address: 198.51.100.12")
    created = pki.init_pki(initialised, store)
    assert "pki/servers/vpn-b.crt issued again (its names changed); the old one is revoked" in created
    assert "pki/crl.pem" in created
    new = load_cert(pki.server_cert_pem(initialised, "vpn-b"))
    assert "198.51.100.12" in {str(n.value) for n in new.extensions.get_extension_for_class(
        x509.SubjectAlternativeName).value}
    [revoked] = [c for c in pki.load_issued(initialised) if c.revoked]
    assert revoked.serial == f"{old.serial_number:X}".rjust(len(revoked.serial), "0")
    assert revoked.revoked.reason == f"superseded by {pki.serial_hex(new.serial_number)}"
    crl = x509.load_pem_x509_crl(pki.crl_pem(initialised).encode())
    assert crl.get_revoked_certificate_by_serial_number(old.serial_number) is not None


def test_a_ca_key_without_its_certificate_is_refused(initialised, store):
    (initialised / "pki" / "ca.crt").unlink()
    with pytest.raises(pki.PkiError, match=r"secret openvpn/ca-key exists but .*ca.crt does not: restore "
                                           r"pki/ca.crt from git"):
        pki.init_pki(initialised, store)


def test_commands_before_init_say_to_run_it(sample, store):
    with pytest.raises(pki.PkiError, match=r"pki/ca.crt is missing: run `telework pki init .*` first"):
        pki.issue_client(sample, store, "asommer", "person")
    with pytest.raises(pki.PkiError, match="client certificates are for kind person or device, not 'server'"):
        pki.issue_client(sample, store, "vpn-a", "server")


# ---------------------------------------------------------------- clients, revocation, CRL


def test_client_certificates_are_recorded_never_stored(initialised, store):
    cert_pem, key_pem = pki.issue_client(initialised, store, "asommer", "person", now=NOW)
    cert = load_cert(cert_pem)
    assert key_pem.startswith("-----BEGIN PRIVATE KEY-----")
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "asommer"
    assert cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value == x509.ExtendedKeyUsage(
        [ExtendedKeyUsageOID.CLIENT_AUTH])
    [record] = [c for c in pki.load_issued(initialised) if c.kind == "person"]
    assert (record.serial, record.owner, record.cn, record.revoked) == (
        pki.serial_hex(cert.serial_number), "asommer", "asommer", None)
    assert record.not_before == NOW - pki.BACKDATE and record.not_after == NOW + timedelta(days=pki.CLIENT_DAYS)
    assert key_pem not in "".join(p.read_text(errors="ignore") for p in initialised.rglob("*") if p.is_file())


@needs_openssl
def test_openssl_accepts_a_client_before_revocation_and_refuses_it_after(initialised, store, tmp_path):
    cert_pem, _ = pki.issue_client(initialised, store, "asommer", "person")
    (tmp_path / "client.crt").write_text(cert_pem)
    verify = ("verify", "-CAfile", "pki/ca.crt", "-crl_check", "-CRLfile", "pki/crl.pem", "-purpose", "sslclient",
              str(tmp_path / "client.crt"))
    assert openssl(*verify, cwd=initialised).returncode == 0
    revoked = pki.revoke(initialised, store, "asommer", "laptop stolen")
    assert [c.owner for c in revoked] == ["asommer"]
    refused = openssl(*verify, cwd=initialised)
    assert refused.returncode != 0 and "certificate revoked" in refused.stdout + refused.stderr
    assert pki.revoke(initialised, store, "asommer", "again") == []  # nothing left to revoke


@needs_openssl
def test_openssl_parses_the_crl_and_it_is_valid_180_days(initialised, store):
    pki.issue_client(initialised, store, "asommer", "person")
    pki.revoke(initialised, store, "asommer", "left", now=NOW)
    done = openssl("crl", "-in", "pki/crl.pem", "-noout", "-text", cwd=initialised)
    assert done.returncode == 0, done.stderr
    assert "Last Update: Nov 23 09:30:00 2026 GMT" in done.stdout
    assert "Next Update: May 22 09:30:00 2027 GMT" in done.stdout  # 180 days
    [serial] = [c.serial for c in pki.load_issued(initialised) if c.revoked]
    assert f"Serial Number: {serial}" in done.stdout
    assert openssl("crl", "-in", "pki/crl.pem", "-CAfile", "pki/ca.crt", "-noout", cwd=initialised).returncode == 0


def test_refresh_moves_the_crl_on_and_numbers_it(initialised, store):
    first = pki.crl_info(initialised)
    later = NOW + timedelta(days=100)
    pki.refresh_crl(initialised, store, now=later)
    info = pki.crl_info(initialised)
    assert info.number == first.number + 1 and info.next_update == later + timedelta(days=pki.CRL_DAYS)


def test_issued_file_is_sorted_and_rendering_is_stable(initialised, store):
    for owner in ("zneu", "asommer", "awolf"):
        pki.issue_client(initialised, store, owner, "person")
    pki.issue_client(initialised, store, "nb-0001", "device")
    pki.revoke(initialised, store, "awolf", 'said "bye"')
    text = (initialised / "pki" / "issued.yml").read_text()
    certs = pki.load_issued(initialised)
    assert pki.render_issued(certs) == text
    assert [(c.kind, c.owner) for c in certs] == [
        ("server", "vpn-a"), ("server", "vpn-b"), ("person", "asommer"), ("person", "awolf"), ("person", "zneu"),
        ("device", "nb-0001")]
    assert 'revoked: {date: "' in text and 'reason: "said \\"bye\\""}' in text


# ---------------------------------------------------------------- CLI


def run(*args: str):
    from click.testing import CliRunner

    from telework.cli.common import console
    from telework.cli.main import cli

    width, console.width = console.width, 200  # tables unwrapped, whatever the terminal (xdist: 80)
    try:
        return CliRunner().invoke(cli, list(args))
    finally:
        console.width = width


def test_cli_init_is_idempotent_and_says_what_to_commit(sample):
    first = run("pki", "init", str(sample))
    assert first.exit_code == 0, first.output
    assert "created pki/ca.crt" in first.output and f"commit {sample}/pki and {sample}/secrets" in first.output
    again = run("pki", "init", str(sample))
    assert again.exit_code == 0 and "the PKI is complete, nothing to do" in again.output


def test_cli_list_shows_serial_owner_kind_expiry_revocation(initialised, store):
    cert_pem, _ = pki.issue_client(initialised, store, "asommer", "person")
    pki.revoke(initialised, store, "asommer", "left")
    text = run("pki", "list", str(initialised))
    assert text.exit_code == 0
    serial = pki.record_of(initialised, cert_pem).serial
    row = next(line for line in text.output.splitlines() if serial in line)  # unbroken at any width
    assert re.search(r"│ asommer\s+│ person\s+│ \d{4}-\d\d-\d\d", row) and "left" in text.output
    data = __import__("json").loads(run("pki", "list", str(initialised), "--format", "json").output)
    assert [c["owner"] for c in data["certificates"]] == ["vpn-a", "vpn-b", "asommer"]
    assert data["certificates"][2]["revoked"]["reason"] == "left"


def test_cli_crl_warns_before_expiry_and_fails_after(initialised, store):
    ok = run("pki", "crl", str(initialised))
    assert ok.exit_code == 0 and "valid until" in ok.output and "warning" not in ok.output
    pki.refresh_crl(initialised, store, now=datetime.now(UTC) - timedelta(days=pki.CRL_DAYS - 10))
    soon = run("pki", "crl", str(initialised))
    assert soon.exit_code == 0 and "warning: the CRL expires in 9 day(s)" in soon.output
    pki.refresh_crl(initialised, store, now=datetime.now(UTC) - timedelta(days=pki.CRL_DAYS + 3))
    expired = run("pki", "crl", str(initialised))
    assert expired.exit_code == 1 and "error: the CRL expired 3 day(s) ago" in expired.output
    refreshed = run("pki", "crl", str(initialised), "--refresh")
    assert refreshed.exit_code == 0 and "commit it and deploy the concentrators" in refreshed.output
    assert pki.crl_info(initialised).next_update > datetime.now(UTC) + timedelta(days=pki.CRL_DAYS - 1)
