"""The VPN roles' own operations, facts and rendering, without a host.

Facts are checked by running their shell command here on sample files (the command is what the
host runs); operations' pure parts (seed conversion, tar, merge helper) directly.
"""

from __future__ import annotations

import getpass
import runpy
import subprocess
import tarfile
from pathlib import Path

import netaddr
import pytest

from telework.engine.deploy_support import render_template as render
from telework.engine.facts.files import PathStates, children_digests
from telework.engine.operations.digests import digest
from telework.engine.operations.trees import ArchiveUpload
from telework.roles.vpn.facts import OathUsers, WireguardImplementation, seed_digest
from telework.roles.vpn.operations import NO_PIN, TOKEN_TYPE, seed_hex, users_file
from telework.roles.vpn.render import ccd_file, nft_elements

REPO = Path(__file__).resolve().parents[2]
SEED = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"  # RFC 6238's "12345678901234567890" in base32


def run_fact(fact_cls, **kwargs) -> object:
    command = fact_cls().command(**kwargs)
    out = subprocess.run(["sh", "-c", command], capture_output=True, text=True, check=True).stdout
    return fact_cls().process(out.splitlines())


def test_path_state_of_a_secret_file_is_digest_mode_owner(tmp_path):
    f = tmp_path / "key"
    f.write_text("s3cret-value\n")
    f.chmod(0o600)
    state = run_fact(PathStates, roots=(str(f),))["paths"][str(f)]
    assert state == {"type": "file", "sha256": digest("s3cret-value\n"), "mode": 600, "user": getpass.getuser(),
                     "group": state["group"], "target": None}
    assert run_fact(PathStates, roots=(str(tmp_path / "absent"),)) == {"paths": {}}


def test_directory_digests(tmp_path):
    def digests():
        return children_digests(run_fact(PathStates, roots=(str(tmp_path),))["paths"], str(tmp_path / "d"))

    assert digests() is None
    (tmp_path / "d").mkdir()
    assert digests() == {}
    (tmp_path / "d" / "alice").write_text("ifconfig-push 10.128.0.2 255.255.252.0\n")
    (tmp_path / "d" / "deeper").mkdir()
    (tmp_path / "d" / "deeper" / "bob").write_text("not a direct child\n")
    assert digests() == {"alice": digest("ifconfig-push 10.128.0.2 255.255.252.0\n")}


def test_seed_hex_is_what_pam_oath_wants():
    assert seed_hex(SEED) == b"12345678901234567890".hex()
    assert seed_hex(SEED.lower().rstrip("=")) == seed_hex(SEED)


def test_oath_users_fact_ignores_replay_state_and_matches_the_controller(tmp_path):
    """The digest the host computes equals the controller's, with or without pam_oath's state."""
    path = tmp_path / "users.oath"
    path.write_text(users_file({"alice": SEED}, 6))
    want = {"alice": seed_digest(f"{TOKEN_TYPE}/6", NO_PIN, seed_hex(SEED))}
    assert run_fact(OathUsers, path=str(path)) == want
    line = path.read_text().rstrip("\n")
    path.write_text(line.upper().replace("ALICE", "alice").replace("HOTP/T30/6", "HOTP/T30/6")
                    + "\t0\t755224\t2026-11-23T16:20:32L\n")
    assert run_fact(OathUsers, path=str(path)) == want
    assert run_fact(OathUsers, path=str(tmp_path / "absent")) is None


def test_wireguard_probe_falls_back_to_userspace():
    assert WireguardImplementation().process([]) == "userspace"
    assert WireguardImplementation().process(["kernel"]) == "kernel"


def test_wireguard_probe_changes_nothing_on_the_host():
    """A fact only reads: the probe neither creates links nor loads modules (`modprobe -n`)."""
    command = WireguardImplementation().command()
    assert "ip link" not in command and "modprobe -n" in command
    assert subprocess.run(["sh", "-c", command], capture_output=True, text=True).stdout.strip() in ("kernel", "userspace")


def test_tar_holds_exactly_the_files():
    upload = ArchiveUpload({"bob": "b\n", "alice": "a\n"}, 0o644, "/etc/x.tar")
    with tarfile.open(fileobj=upload.src) as tar:
        assert sorted((m.name, m.mode) for m in tar.getmembers()) == [("alice", 0o644), ("bob", 0o644)]


def test_tar_upload_is_the_same_whenever_it_is_made():
    """No time or owner in the archive: two plans of the same files upload the same bytes and
    name the same files in their fingerprint identity."""
    first = ArchiveUpload({"bob": "b\n", "alice": "a\n"}, 0o644, "/etc/x.tar")
    second = ArchiveUpload({"alice": "a\n", "bob": "b\n"}, 0o644, "/etc/x.tar")
    assert first.src.getvalue() == second.src.getvalue()
    with tarfile.open(fileobj=first.src) as tar:
        assert {(m.mtime, m.uid, m.gid, m.uname) for m in tar.getmembers()} == {(0, 0, 0, "root")}
    assert first.telework_identity == second.telework_identity
    assert "alice:" in first.telework_identity and "bob:" in first.telework_identity


def _merge_helper(tmp_path: Path) -> Path:
    helper = tmp_path / "telework-oath-merge"
    helper.write_text(render("auth_server", "/usr/local/lib/telework/telework-oath-merge", header="# test"))
    return helper


def test_merge_keeps_state_of_unchanged_seeds_only(tmp_path):
    helper = _merge_helper(tmp_path)
    users = tmp_path / "users.oath"
    other = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    users.write_text(users_file({"alice": SEED, "bob": SEED, "carol": SEED}, 6).replace(
        "\n", "\t0\t123456\t2026-11-23T16:20:32L\n"))
    new = tmp_path / "users.oath.telework-new"
    new.write_text(users_file({"alice": SEED, "bob": other, "dave": SEED}, 6))
    subprocess.run(["python3", str(helper), str(users), str(new), getpass.getuser()], check=True)
    lines = {line.split("\t")[1]: line for line in users.read_text().splitlines()}
    assert set(lines) == {"alice", "bob", "dave"}
    assert lines["alice"].endswith("2026-11-23T16:20:32L")  # replay state kept
    assert lines["bob"].split("\t")[3] == seed_hex(other) and len(lines["bob"].split("\t")) == 4
    assert not new.exists() and not (tmp_path / "users.oath.lock").exists()
    assert oct(users.stat().st_mode & 0o777) == "0o600"


def test_ccd_file_fixed_address_and_own_routes_only():
    class Client:
        username, department, group = "anowak", "kaemmerei", "kaemmerei"
        address = netaddr.IPAddress("10.128.0.19")
        networks = ["fileserver", "fv-finanzen"]
        prefixes = [netaddr.IPNetwork("10.20.1.0/24"), netaddr.IPNetwork("10.20.10.0/24")]

    text = ccd_file(Client, netaddr.IPNetwork("10.128.0.0/22"))
    assert "ifconfig-push 10.128.0.19 255.255.252.0" in text
    assert 'push "route 10.20.10.0 255.255.255.0"' in text
    assert nft_elements([netaddr.IPAddress("10.0.0.2"), netaddr.IPAddress("10.0.0.10")]) == "10.0.0.2, 10.0.0.10"


def test_radius_port_is_one_value_for_both_roles():
    """The concentrators ask the auth servers on the port the auth servers listen on: one
    definition in group_data/all.py, none in the roles' own files."""
    assert runpy.run_path(str(REPO / "group_data" / "all.py"))["radius_auth_port"] == 1812
    for role in ("auth_servers", "vpn_concentrators"):
        assert "radius_auth_port" not in runpy.run_path(str(REPO / "group_data" / f"{role}.py"))
