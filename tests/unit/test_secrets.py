"""Secrets: age-encrypted files beside the inventory, readable by the `age` CLI and back."""

from __future__ import annotations

import base64
import os
import shutil
import stat
import subprocess

import pytest
from click.testing import CliRunner

from telework.cli.main import cli
from telework.core.problems import SecretError
from telework.secrets.store import (
    Generated,
    SecretStore,
    check_name,
    generate,
    wireguard_public_key,
)

# CI installs the age CLI (scripts/bootstrap.sh): there a missing `age` fails instead of skipping.
needs_age = pytest.mark.skipif(
    (shutil.which("age") is None or shutil.which("age-keygen") is None)
    and not os.environ.get("CI"),
    reason="the age CLI is not installed (Debian package `age`)",
)


@pytest.fixture(autouse=True)
def no_personal_identity(tmp_path, monkeypatch):
    """Tests never read or write the identity of the person running them."""
    monkeypatch.delenv("TELEWORK_AGE_IDENTITY", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))


@pytest.fixture
def store(tmp_path) -> SecretStore:
    """An inventory with one recipient, whose identity the store uses."""
    inventory = tmp_path / "inv"
    inventory.mkdir()
    store = SecretStore(inventory, tmp_path / "alice.txt")
    store.init_identity(comment="Alice, IT-Betrieb")
    return store


def test_init_identity_writes_an_age_keygen_file_0600_and_a_recipient(store, tmp_path):
    path = tmp_path / "alice.txt"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    lines = path.read_text().splitlines()
    assert lines[0].startswith("# created: ") and lines[1].startswith("# public key: age1")
    assert lines[2].startswith("AGE-SECRET-KEY-1")
    [recipient] = store.recipients()
    assert recipient.key == lines[1].removeprefix("# public key: ")
    assert recipient.comment.startswith("Alice, IT-Betrieb")
    # A second init keeps the key and does not list it twice.
    assert store.init_identity()[2] is False
    assert path.read_text().splitlines() == lines and len(store.recipients()) == 1


def test_round_trip_armoured_and_never_clear_on_disk(store):
    store.set("sip/2345", "Zr8s-geheim-Ärger", "manual")
    assert store.get("sip/2345") == "Zr8s-geheim-Ärger"
    assert store.names() == ["sip/2345"]
    raw = store.path_of("sip/2345").read_bytes()
    assert raw.startswith(b"-----BEGIN AGE ENCRYPTED FILE-----")
    for path in store.dir.rglob("*"):
        if path.is_file():
            assert b"geheim" not in path.read_bytes(), path
    assert list(store.values()) == ["Zr8s-geheim-Ärger"]


def test_index_records_kind_dates_recipients_never_values(store):
    new = store.add_generated("wireguard/igel-0001", "wireguard")
    info = store.info("wireguard/igel-0001")
    assert info.kind == "wireguard" and info.created and info.rotated is None
    assert info.recipients == (store.public_keys()[0],)
    assert info.public == new.public
    assert new.value not in store.index_path.read_text()


@needs_age
def test_age_cli_decrypts_what_telework_wrote(store, tmp_path):
    store.set("radius/shared-secret", "radius-shared-Secret-1", "manual")
    result = subprocess.run(
        [
            "age",
            "-d",
            "-i",
            str(tmp_path / "alice.txt"),
            str(store.path_of("radius/shared-secret")),
        ],
        capture_output=True,
        check=True,
    )
    assert result.stdout == b"radius-shared-Secret-1"


@needs_age
def test_telework_decrypts_what_the_age_cli_wrote_with_an_age_keygen_identity(tmp_path):
    inventory = tmp_path / "inv"
    identity = tmp_path / "bob.txt"
    subprocess.run(["age-keygen", "-o", str(identity)], capture_output=True, check=True)
    identity.chmod(0o600)
    public = subprocess.run(
        ["age-keygen", "-y", str(identity)], capture_output=True, text=True, check=True
    ).stdout.strip()
    store = SecretStore(inventory, identity)
    store.add_recipient(public, "Bob")
    target = store.path_of("openvpn/ca-key")
    target.parent.mkdir(parents=True)
    # recipients.txt is a plain age recipients file, usable with -R.
    subprocess.run(
        ["age", "-e", "-a", "-R", str(store.recipients_path), "-o", str(target)],
        input=b"-----BEGIN PRIVATE KEY-----\nabc\n",
        check=True,
    )
    assert store.get("openvpn/ca-key") == "-----BEGIN PRIVATE KEY-----\nabc\n"


def test_wrong_identity_names_the_key_and_the_fix(store, tmp_path):
    store.set("totp/jmueller", generate("totp").value, "totp")
    mallory = SecretStore(store.inventory_dir, tmp_path / "mallory.txt")
    mallory_key = SecretStore(tmp_path / "elsewhere", tmp_path / "mallory.txt").init_identity()[1]
    with pytest.raises(SecretError) as caught:
        mallory.get("totp/jmueller")
    assert str(caught.value).startswith(
        f"secret totp/jmueller is not encrypted to your key {mallory_key}; "
    )
    assert f"telework secret recipients add {mallory_key}" in str(caught.value)


def test_rekey_after_adding_a_recipient_lets_the_second_identity_decrypt(store, tmp_path):
    store.set("sip/2345", "sip-password-2345", "password")
    bob = SecretStore(store.inventory_dir, tmp_path / "bob.txt")
    bob_key = bob.init_identity(comment="Bob")[1]  # adds Bob to recipients.txt
    with pytest.raises(
        SecretError,
        match=r"not encrypted to your key .*; ask a holder to run "
        r"`telework secret rekey`$",
    ):
        bob.get("sip/2345")
    assert store.stale() == ["sip/2345"]
    assert store.rekey() == ["sip/2345"]
    assert bob.get("sip/2345") == "sip-password-2345"
    assert set(store.info("sip/2345").recipients) == {store.public_keys()[0], bob_key}
    assert store.stale() == []
    # Removing Bob and rekeying locks him out of the files again.
    assert store.remove_recipient(bob_key)
    store.rekey()
    with pytest.raises(SecretError, match="not encrypted to your key"):
        bob.get("sip/2345")
    assert "Bob" not in store.recipients_path.read_text()


def test_identity_readable_by_others_is_refused_with_the_chmod_fix(store, tmp_path):
    store.set("token/api", generate("token").value, "token")
    path = tmp_path / "alice.txt"
    path.chmod(0o640)
    with pytest.raises(SecretError) as caught:
        SecretStore(store.inventory_dir, path).get("token/api")
    assert str(caught.value) == (
        f"age identity {path} is accessible by others (mode 0640); "
        f"a private key must be private: run `chmod 600 {path}`"
    )


def test_identity_lookup_order(tmp_path, monkeypatch):
    default = tmp_path / "config" / "telework" / "age" / "identity.txt"
    assert SecretStore(tmp_path).identity_path == default
    monkeypatch.setenv("TELEWORK_AGE_IDENTITY", str(tmp_path / "env.txt"))
    assert SecretStore(tmp_path).identity_path == tmp_path / "env.txt"
    assert SecretStore(tmp_path, tmp_path / "arg.txt").identity_path == tmp_path / "arg.txt"
    with pytest.raises(SecretError, match="no age identity at .*env.txt: pass --identity FILE"):
        SecretStore(tmp_path).identities()


def test_rotate_changes_the_value_and_keeps_the_kind(store):
    first = store.add_generated("wireguard/vpn-a", "wireguard")
    second = store.rotate("wireguard/vpn-a")
    assert (
        second.kind == "wireguard" and second.value != first.value and second.public != first.public
    )
    assert store.get("wireguard/vpn-a") == second.value
    info = store.info("wireguard/vpn-a")
    assert info.kind == "wireguard" and info.rotated and info.public == second.public
    store.set("openvpn/ca-key", "a-ca-key-set-by-hand", "manual")
    with pytest.raises(
        SecretError, match="set by hand .* `telework secret set openvpn/ca-key --replace`"
    ):
        store.rotate("openvpn/ca-key")


def test_set_refuses_to_overwrite_unless_replace(store):
    store.set("sip/2345", "first-password", "password")
    with pytest.raises(SecretError, match="secret sip/2345 exists"):
        store.set("sip/2345", "second-password", "password", replace=False)
    assert store.get("sip/2345") == "first-password"


@pytest.mark.parametrize(
    "name",
    [
        "totp/jmueller",
        "sip/2345",
        "radius/shared-secret",
        "openvpn/ca-key",
        "wireguard/igel_0001.lab",
    ],
)
def test_valid_names(name):
    assert check_name(name) == name


@pytest.mark.parametrize(
    "name",
    [
        "",
        "../x",
        "totp/../x",
        "totp/..",
        "Totp/x",
        "totp//x",
        "/totp/x",
        "totp/",
        ".hidden",
        "totp/.x",
        "with space",
        "sip\\2345",
        "ümlaut",
        "a" * 201,
    ],
)
def test_invalid_names_are_refused(store, name):
    with pytest.raises(SecretError, match="is invalid: use lower-case path segments"):
        store.set(name, "a-valid-value", "manual")
    assert not list(store.dir.rglob("*.age"))


def test_values_never_appear_in_errors(store):
    value = "not-a-wireguard-key-but-secret"
    with pytest.raises(SecretError) as caught:
        store.set("wireguard/x", value, "wireguard")
    assert value not in str(caught.value)
    assert str(caught.value).startswith("secret wireguard/x: not a WireGuard private key")
    with pytest.raises(SecretError, match="at least 6 characters"):
        store.set("sip/1", "12345", "manual")
    assert value not in repr(Generated("wireguard", value))


def test_a_failed_write_leaves_the_old_file_and_no_temporary(store, monkeypatch):
    store.set("sip/2345", "old-password", "password")
    before = store.path_of("sip/2345").read_bytes()

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        store.set("sip/2345", "new-password", "password")
    monkeypatch.undo()
    assert store.path_of("sip/2345").read_bytes() == before
    assert [p.name for p in store.path_of("sip/2345").parent.iterdir()] == ["2345.age"]


def test_generated_values_have_the_right_shape():
    totp = generate("totp").value
    assert len(totp) == 32 and len(base64.b32decode(totp)) == 20
    password = generate("password").value
    assert len(password) == 24 and password.isalnum()
    assert not set(password) & set("0O1lI")
    assert len(bytes.fromhex(generate("token").value)) == 32
    wg = generate("wireguard")
    raw = base64.b64decode(wg.value)
    assert len(raw) == 32 and raw[0] & 7 == 0 and raw[31] & 0xC0 == 0x40  # clamped like `wg genkey`
    assert wg.public == wireguard_public_key(wg.value) and len(base64.b64decode(wg.public)) == 32
    with pytest.raises(SecretError, match="cannot generate a secret of kind 'manual'"):
        generate("manual")


def test_wireguard_public_key_matches_rfc_7748():
    """RFC 7748 section 6.1: Alice's private and public key."""
    private = bytes.fromhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")
    public = bytes.fromhex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a")
    assert (
        wireguard_public_key(base64.b64encode(private).decode())
        == base64.b64encode(public).decode()
    )


def test_identity_file_errors_never_echo_the_line(tmp_path):
    path = tmp_path / "broken.txt"
    path.write_text("# created: today\nAGE-SECRET-KEY-1MANGLEDbutSECRETish\n")
    path.chmod(0o600)
    with pytest.raises(SecretError) as caught:
        SecretStore(tmp_path, path).identities()
    assert str(caught.value) == f"{path}:2: not an age identity (expected AGE-SECRET-KEY-1…)"
    path.write_text("# only a comment\n")
    with pytest.raises(SecretError, match="holds no age identity"):
        SecretStore(tmp_path, path).identities()


def test_store_redactor_names_every_secret(store):
    store.set("sip/2345", "sip-password-2345", "password")
    token = store.add_generated("token/api", "token").value
    redactor = store.redactor()
    assert (
        redactor.redact(f"a sip-password-2345 b {token}")
        == "a [redacted:sip/2345] b [redacted:token/api]"
    )


def test_recipients_file_errors_name_file_and_line(store):
    with store.recipients_path.open("a") as handle:
        handle.write("ssh-ed25519 AAAAC3Nza\n")
    with pytest.raises(SecretError, match=r"recipients.txt:\d+: not an age public key"):
        store.recipients()


# --- the CLI ------------------------------------------------------------------------------------


def run(*args: str, input: str | None = None):
    return CliRunner().invoke(cli, ["secret", *args], input=input, catch_exceptions=False)


def test_cli_never_prints_a_secret_value(tmp_path):
    inventory = str(tmp_path / "inv")
    identity = str(tmp_path / "me.txt")
    outputs = []

    def step(*args, input=None, code=0):
        result = run(*args, input=input)
        outputs.append(result.output)
        assert result.exit_code == code, result.output
        return result

    step("init", inventory, "--identity", identity, "--comment", "Jana Müller")
    step("set", "totp/jmueller", inventory, "--generate", "totp")
    step("set", "wireguard/igel-0001", inventory, "--generate", "wireguard")
    step("set", "sip/2345", inventory, "--kind", "password", input="Handmade-SIP-pw-42\n")
    step("set", "sip/2345", inventory, input="Handmade-SIP-pw-43\n", code=1)  # exists, no --replace
    step("rotate", "totp/jmueller", inventory)
    step("rotate", "sip/2345", inventory)
    step("list", inventory)
    step("list", inventory, "--format", "json")
    step("rekey", inventory, "--identity", identity)
    step("get", "sip/2345", inventory, "--identity", identity)
    step("get", "sip/2345", inventory, "--identity", identity, "--reveal", code=1)  # not a terminal
    step("recipients", "list", inventory)
    step("set", "Bad/Name", inventory, "--generate", "token", code=1)

    store = SecretStore(inventory, identity)
    values = list(store.values()) + ["Handmade-SIP-pw-42", "Handmade-SIP-pw-43"]
    assert len(values) == 5
    text = "\n".join(outputs)
    for value in values:
        assert value not in text
    assert "totp/jmueller" in outputs[7] and "wireguard" in outputs[7]
    assert "refusing to print a secret to something that is not a terminal" in outputs[11]
    # The WireGuard public key is not secret and is shown, for the peer's configuration.
    assert store.info("wireguard/igel-0001").public in outputs[2]


def test_cli_reveal_with_force_prints_the_value(tmp_path):
    inventory = str(tmp_path / "inv")
    identity = str(tmp_path / "me.txt")
    assert run("init", inventory, "--identity", identity).exit_code == 0
    assert run("set", "sip/2345", inventory, input="Handmade-SIP-pw-42").exit_code == 0
    result = run("get", "sip/2345", inventory, "--identity", identity, "--reveal", "--force")
    assert result.exit_code == 0 and "Handmade-SIP-pw-42\n" in result.output


@pytest.mark.parametrize(
    "given", ["Handmade-SIP-pw-42", "Handmade-SIP-pw-42\n", "Handmade-SIP-pw-42\r\n"]
)
def test_cli_set_from_stdin_drops_one_trailing_newline(tmp_path, given):
    inventory = str(tmp_path / "inv")
    identity = str(tmp_path / "me.txt")
    assert run("init", inventory, "--identity", identity).exit_code == 0
    result = run("set", "sip/2345", inventory, input=given)
    assert result.exit_code == 0 and "Handmade" not in result.output
    assert SecretStore(inventory, identity).get("sip/2345") == "Handmade-SIP-pw-42"


def test_cli_recipients_add_then_rekey(tmp_path):
    inventory = str(tmp_path / "inv")
    alice, bob = str(tmp_path / "alice.txt"), str(tmp_path / "bob.txt")
    assert run("init", inventory, "--identity", alice).exit_code == 0
    assert run("set", "token/api", inventory, "--generate", "token").exit_code == 0
    bob_key = SecretStore(tmp_path / "other", bob).init_identity()[1]
    result = run("recipients", "add", bob_key, inventory, "--comment", "Bob, Bauhof")
    assert result.exit_code == 0 and "rekey" in result.output
    assert "Bob, Bauhof" in run("recipients", "list", inventory).output
    failed = run("get", "token/api", inventory, "--identity", bob)
    assert failed.exit_code == 1 and f"is not encrypted to your key {bob_key}" in failed.output
    assert run("rekey", inventory, "--identity", alice).exit_code == 0
    assert run("get", "token/api", inventory, "--identity", bob).exit_code == 0
