"""Enrolment and revocation of people: bundles, TOTP seeds, WireGuard configs, and the audit record."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import shutil
import stat
import struct
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from telework.inventory.loading import load_inventory, require_inventory
from telework.inventory.lookup import UnknownName
from telework.ipam.allocations import Allocations, allocations_path
from telework.roles.vpn import enrolment, pki
from telework.roles.vpn.concentrator import concentrator_view
from telework.roles.vpn.people import AccessError, vpn_person
from telework.roles.vpn.radius import radius_view
from telework.roles.vpn.revocations import load_revocations
from telework.secrets.store import SecretStore

from ..conftest import edit
from .test_pki import needs_openssl, openssl

needs_oathtool = pytest.mark.skipif(shutil.which("oathtool") is None and not os.environ.get("CI"),
                                    reason="oathtool is not installed (Debian package oathtool)")
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def rfc6238(seed: str, at: datetime, digits: int = 6, period: int = 30) -> str:
    """TOTP as RFC 6238 defines it (HMAC-SHA1, dynamic truncation from RFC 4226)."""
    key = base64.b32decode(seed + "=" * (-len(seed) % 8))
    counter = struct.pack(">Q", int(at.timestamp()) // period)
    mac = hmac.new(key, counter, hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    code = struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF
    return str(code % 10 ** digits).zfill(digits)


def test_rfc6238_check_matches_the_rfc_test_vector():
    seed = base64.b32encode(b"12345678901234567890").decode()
    assert rfc6238(seed, datetime.fromtimestamp(59, UTC), digits=8) == "94287082"
    assert rfc6238(seed, datetime.fromtimestamp(1111111109, UTC), digits=8) == "07081804"


def inline(text: str, tag: str) -> str:
    return re.search(rf"<{tag}>\n(.*?)\n</{tag}>", text, re.DOTALL).group(1) + "\n"


@pytest.fixture
def initialised(sample: Path, store: SecretStore) -> Path:
    pki.init_pki(sample, store)
    return sample


@pytest.fixture
def enrolled(initialised, store, tmp_path):
    result = enrolment.enroll(initialised, store, "asommer", tmp_path / "out", now=NOW)
    return result


# ---------------------------------------------------------------- the OpenVPN bundle


def test_bundle_is_private_and_holds_everything_inline(initialised, store, enrolled, tmp_path):
    bundle = tmp_path / "out" / "asommer.ovpn"
    assert enrolled.files == [bundle]
    assert stat.S_IMODE(bundle.stat().st_mode) == 0o600
    assert stat.S_IMODE(bundle.parent.stat().st_mode) == 0o700
    text = bundle.read_text()
    directives = [line for line in text.splitlines() if line and not line.startswith(("#", "<", "-", "MI"))]
    for expected in ("client", "remote-cert-tls server", "verify-x509-name vpn.gruenfelden.example name",
                     "tls-version-min 1.2", "data-ciphers AES-256-GCM:CHACHA20-POLY1305", "auth-user-pass",
                     "server-poll-timeout 10"):
        assert expected in directives, expected
    assert [d for d in directives if d.startswith("remote ")] == [
        "remote 198.51.100.10 1194 udp", "remote 198.51.100.11 1194 udp"]  # vpn-a first, then vpn-b
    assert "remote-random" not in directives and "static-challenge" not in text
    assert inline(text, "ca") == pki.ca_pem(initialised)
    assert inline(text, "tls-crypt") == store.get("openvpn/tls-crypt")
    cert = x509.load_pem_x509_certificate(inline(text, "cert").encode())
    key = serialization.load_pem_private_key(inline(text, "key").encode(), None)
    assert cert.public_key().public_numbers() == key.public_key().public_numbers()
    assert pki.serial_hex(cert.serial_number) == enrolled.serial
    # The private key is nowhere but in the bundle.
    assert not any(inline(text, "key").strip() in p.read_text(errors="ignore")
                   for p in initialised.rglob("*") if p.is_file())


@needs_openssl
def test_openssl_accepts_the_bundle_certificate_until_the_person_is_revoked(initialised, store, enrolled, tmp_path):
    (tmp_path / "client.crt").write_text(inline((tmp_path / "out" / "asommer.ovpn").read_text(), "cert"))
    verify = ("verify", "-CAfile", "pki/ca.crt", "-crl_check", "-CRLfile", "pki/crl.pem", "-purpose", "sslclient",
              str(tmp_path / "client.crt"))
    assert openssl(*verify, cwd=initialised).returncode == 0
    enrolment.revoke(initialised, store, "asommer", "left the administration", by="Jana Admin")
    refused = openssl(*verify, cwd=initialised)
    assert refused.returncode != 0 and "certificate revoked" in refused.stdout + refused.stderr


# ---------------------------------------------------------------- TOTP


def test_otpauth_uri_is_what_authenticator_apps_expect(initialised, store, enrolled):
    uri = urlsplit(enrolled.otpauth_uri)
    assert (uri.scheme, uri.netloc) == ("otpauth", "totp")
    assert unquote(uri.path) == "/Stadt Grünfelden:asommer"
    query = {k: v[0] for k, v in parse_qs(uri.query).items()}
    assert query == {"secret": store.get("totp/asommer"), "issuer": "Stadt Grünfelden", "algorithm": "SHA1",
                     "digits": "6", "period": "30"}
    assert store.info("totp/asommer").kind == "totp"
    assert "secret" not in repr(enrolled) and store.get("totp/asommer") not in repr(enrolled)


@needs_oathtool
def test_oathtool_computes_the_same_codes_as_rfc_6238(enrolled):
    seed = parse_qs(urlsplit(enrolled.otpauth_uri).query)["secret"][0]
    for moment in (NOW, datetime(2027, 3, 1, 7, 59, 59, tzinfo=UTC)):
        done = subprocess.run(["oathtool", "--totp", "-b", "--now", moment.strftime("%Y-%m-%d %H:%M:%S UTC"), seed],
                              capture_output=True, text=True, check=True)
        assert done.stdout.strip() == rfc6238(seed, moment)


def test_qr_file_is_written_private_as_svg_or_png(initialised, store, tmp_path):
    result = enrolment.enroll(initialised, store, "asommer", tmp_path / "out", qr_file=tmp_path / "out" / "qr.svg")
    svg = tmp_path / "out" / "qr.svg"
    assert result.files[-1] == svg and svg.read_text().lstrip().startswith(("<?xml", "<svg"))
    assert stat.S_IMODE(svg.stat().st_mode) == 0o600
    png = enrolment.write_qr(result.otpauth_uri, tmp_path / "qr.png")
    assert png.read_bytes().startswith(b"\x89PNG")
    with pytest.raises(AccessError, match=r"use a name ending in .svg or .png"):
        enrolment.write_qr(result.otpauth_uri, tmp_path / "qr.txt")


# ---------------------------------------------------------------- again, and revoked


def test_enrolling_again_supersedes_the_certificate_and_the_seed(initialised, store, enrolled, tmp_path):
    seed = store.get("totp/asommer")
    enrolment.revoke(initialised, store, "asommer", "phone lost", by="Jana Admin")
    again = enrolment.enroll(initialised, store, "asommer", tmp_path / "again")
    assert again.serial != enrolled.serial and store.get("totp/asommer") != seed
    assert again.reinstated is not None and again.reinstated.reason == "phone lost"
    assert "asommer" not in load_revocations(initialised)
    third = enrolment.enroll(initialised, store, "asommer", tmp_path / "third")
    assert third.superseded == [again.serial]
    records = {c.serial: c for c in pki.load_issued(initialised)}
    assert records[again.serial].revoked.reason == f"superseded by {third.serial} (enrolled again)"
    assert records[third.serial].revoked is None


def test_revoke_removes_the_person_and_their_devices_from_every_view(initialised, store, tmp_path):
    enrolment.enroll(initialised, store, "oiwanowa", tmp_path / "out")  # owner of nb-0001
    before = concentrator_view(require_inventory(initialised), "vpn-a")
    assert "oiwanowa" in [c.username for c in before.openvpn_clients]
    assert "nb-0001" in [p.name for p in before.wireguard_peers]
    done = enrolment.revoke(initialised, store, "oiwanowa", "  left   the administration ", by="Jana Admin",
                            now=NOW)
    assert done.totp_deleted and len(done.certificates) == 1
    assert not store.exists("totp/oiwanowa") and "totp/oiwanowa" not in store.index_path.read_text()
    assert load_revocations(initialised)["oiwanowa"].reason == "left the administration"
    assert load_revocations(initialised)["oiwanowa"].by == "Jana Admin"
    loaded = require_inventory(initialised)
    after = concentrator_view(loaded, "vpn-a")
    assert "oiwanowa" not in [c.username for c in after.openvpn_clients]
    assert "nb-0001" not in [p.name for p in after.wireguard_peers]
    assert "oiwanowa" not in [u.username for u in radius_view(loaded, "radius-1").users]
    assert vpn_person(loaded, "oiwanowa").revoked


def test_revoke_works_for_someone_already_removed_even_with_inventory_errors(initialised, store, tmp_path):
    """Removing asommer leaves her desk phone pointing at nobody: an error, which must not block revocation."""
    enrolment.enroll(initialised, store, "asommer", tmp_path / "out")
    edit(initialised / "people" / "rathaus.yml",
         next(line + "\n" for line in (initialised / "people" / "rathaus.yml").read_text().splitlines()
              if "username: asommer," in line), "")
    assert any("unknown person 'asommer'" in p.message for p in load_inventory(initialised).errors)
    result = enrolment.revoke(initialised, store, "asommer", "left", by="Jana Admin")
    assert result.certificates and result.totp_deleted


def test_revoke_of_an_unknown_name_suggests_the_closest(initialised, store):
    with pytest.raises(UnknownName, match=r"no person 'asomer' .*did you mean asommer"):
        enrolment.revoke(initialised, store, "asomer", "typo")
    with pytest.raises(AccessError, match=r"needs a reason"):
        enrolment.revoke(initialised, store, "asommer", " ")


# ---------------------------------------------------------------- refusals


def test_enrolment_refusals_name_the_place_and_the_fix(sample, store, initialised, tmp_path):
    with pytest.raises(AccessError, match=r"abecker has vpn: false \(.*people/rathaus.yml:\d+\): set vpn: true, "
                                          r"run `telework ipam sync"):
        enrolment.enroll(initialised, store, "abecker", tmp_path)
    with pytest.raises(UnknownName, match=r"no person 'asomer' .*did you mean asommer"):
        enrolment.enroll(initialised, store, "asomer", tmp_path)
    with pytest.raises(AccessError, match=r"nb-0001 owned by oiwanowa \(.*notebooks.yml:\d+\), not by asommer"):
        enrolment.enroll(initialised, store, "asommer", tmp_path, device="nb-0001")
    with pytest.raises(UnknownName, match=r"no Linux endpoint or notebook 'nb-001' .*did you mean .*nb-0001"):
        enrolment.enroll(initialised, store, "oiwanowa", tmp_path, device="nb-001")


def test_enrolment_before_pki_init_says_to_run_it(sample, store, tmp_path):
    with pytest.raises(pki.PkiError, match=r"pki/ca.crt is missing: run `telework pki init .*` first"):
        enrolment.enroll(sample, store, "asommer", tmp_path / "out")
    assert not (tmp_path / "out").exists() and not store.exists("totp/asommer")


def test_a_person_without_tunnel_address_is_not_enrolled(initialised, store, tmp_path):
    path = initialised / "people" / "rathaus.yml"
    path.write_text(path.read_text() + "  - {username: zneu, name: Zoe Neu, department: kaemmerei, "
                                       "site: rathaus, vpn: true}\n")
    with pytest.raises(AccessError, match=r"zneu has no tunnel address in vpn-a-openvpn, vpn-b-openvpn: run "
                                          r"`telework ipam sync .*`, commit allocations.yml, then enrol"):
        enrolment.enroll(initialised, store, "zneu", tmp_path / "out")
    assert not store.exists("totp/zneu")


# ---------------------------------------------------------------- WireGuard devices


def test_device_configs_one_per_concentrator_without_private_key(initialised, store, tmp_path):
    result = enrolment.enroll(initialised, store, "oiwanowa", tmp_path / "out", device="nb-0001")
    assert [p.name for p in result.files] == ["nb-0001-vpn-a.conf", "nb-0001-vpn-b.conf"]
    assert result.otpauth_uri is None and not store.exists("totp/oiwanowa")
    allocations = Allocations.load(allocations_path(initialised))
    owner = vpn_person(require_inventory(initialised), "oiwanowa")
    for path, name, pool, tunnel in ((result.files[0], "vpn-a", "vpn-a-wireguard", "10.129.0.1"),
                                     (result.files[1], "vpn-b", "vpn-b-wireguard", "10.129.1.1")):
        text = path.read_text()
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        values = dict(re.findall(r"^(\w+) = (.*)$", text, re.MULTILINE))
        assert values["PrivateKey"] == enrolment.PRIVATE_KEY_PLACEHOLDER
        assert values["Address"] == f"{allocations.address_of(pool, 'device:nb-0001')}/32"
        assert values["PublicKey"] == store.info(f"wireguard/server-key/{name}").public
        assert values["Endpoint"] == {"vpn-a": "198.51.100.10:51820", "vpn-b": "198.51.100.11:51820"}[name]
        assert values["AllowedIPs"].split(", ") == [f"{tunnel}/32", *map(str, owner.prefixes)]


def test_device_of_a_revoked_owner_gets_no_config(initialised, store, tmp_path):
    enrolment.revoke(initialised, store, "oiwanowa", "left", by="Jana Admin")
    with pytest.raises(AccessError, match=r"oiwanowa is revoked: their devices get no tunnel; enrol oiwanowa first"):
        enrolment.enroll(initialised, store, "oiwanowa", tmp_path / "out", device="nb-0001")


# ---------------------------------------------------------------- CLI


def run(*args: str):
    from click.testing import CliRunner

    from telework.cli.main import cli

    return CliRunner().invoke(cli, list(args))


def test_cli_enroll_without_terminal_writes_the_qr_file_and_prints_no_secret(initialised, store, tmp_path):
    out = tmp_path / "out"
    result = run("person", "enroll", "asommer", str(initialised), "--out", str(out))
    assert result.exit_code == 0, result.output
    seed = store.get("totp/asommer")
    assert seed not in result.output and "otpauth://" not in result.output
    assert f"wrote {out}/asommer.ovpn (mode 0600)" in result.output
    assert (f"wrote the TOTP QR code to {out}/asommer-totp.png (mode 0600) (not printed: stdout is not a "
            "terminal)") in result.output
    assert (out / "asommer-totp.png").read_bytes().startswith(b"\x89PNG")


def test_cli_enroll_show_secret_prints_the_uri_and_qr(initialised, store, tmp_path):
    result = run("person", "enroll", "asommer", str(initialised), "--out", str(tmp_path), "--show-secret")
    assert result.exit_code == 0, result.output
    assert f"secret={store.get('totp/asommer')}&issuer=Stadt%20Gr%C3%BCnfelden" in result.output
    assert "█" in result.output or "▀" in result.output  # the QR code, drawn with block characters
    assert not list(tmp_path.glob("*.png"))


def test_cli_errors_are_messages_not_tracebacks(initialised, tmp_path):
    unknown = run("person", "enroll", "asomer", str(initialised), "--out", str(tmp_path))
    assert unknown.exit_code == 1 and "did you mean asommer" in unknown.output
    assert "Traceback" not in unknown.output and unknown.exception is None or isinstance(unknown.exception, SystemExit)
    no_reason = run("person", "revoke", "asommer", str(initialised))
    assert no_reason.exit_code == 2 and "Missing option '--reason'" in no_reason.output


def test_cli_revoke_and_show(initialised, store, tmp_path):
    assert run("person", "enroll", "oiwanowa", str(initialised), "--out", str(tmp_path)).exit_code == 0
    revoked = run("person", "revoke", "oiwanowa", str(initialised), "--reason", "left", "--by", "Jana Admin")
    assert revoked.exit_code == 0, revoked.output
    assert "deleted secret totp/oiwanowa" in revoked.output and "by Jana Admin" in revoked.output
    shown = run("person", "show", "oiwanowa", str(initialised))
    assert shown.exit_code == 0, shown.output
    assert "VPN access: no (revoked); enrolled: no" in shown.output
    assert "revoked" in shown.output and "Jana Admin: left" in shown.output
    data = __import__("json").loads(run("person", "show", "oiwanowa", str(initialised), "--format", "json").output)
    assert data["has_access"] is False and data["revoked"]["by"] == "Jana Admin"
    assert [d["name"] for d in data["devices"] if d["kind"] == "notebooks"] == ["nb-0001"]
    assert set(data["devices"][0]["addresses"]) == {"vpn-a", "vpn-b"}
    assert data["networks"][0] == {"name": "fileserver", "prefix": "10.20.1.0/24"}
    assert data["certificates"][0]["revoked"] == "left"


def test_bundle_and_wireguard_rendering_is_deterministic():
    args = {"organisation": "Stadt Grünfelden", "username": "asommer", "name": "Annette Sommer", "serial": "0A",
            "not_after": NOW, "remotes": [("198.51.100.10", 1194), ("198.51.100.11", 1194)],
            "server_name": "vpn.gruenfelden.example", "ca": "CA\n", "cert": "CERT\n", "key": "KEY\n",
            "tls_crypt": "TC\n", "written": NOW}
    assert enrolment.render_bundle(**args) == enrolment.render_bundle(**args)
    wg = {"device": "nb-0001", "owner": "oiwanowa", "concentrator": "vpn-a.gruenfelden.example",
          "others": ["nb-0001-vpn-b.conf"], "address": "10.129.0.4/32", "server_public_key": "K" * 43 + "=",
          "endpoint": "198.51.100.10:51820", "allowed_ips": ["10.129.0.1/32", "10.20.1.0/24"], "written": NOW}
    assert enrolment.render_wireguard(**wg) == enrolment.render_wireguard(**wg)
