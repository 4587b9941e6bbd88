"""Secrets of an inventory: age-encrypted files beside the YAML, decrypted only at deploy time.

Layout, all of it committed to git (nothing here is a clear value)::

    <inventory>/secrets/recipients.txt     who can decrypt: one age public key (age1…) a line,
                                           `#` comment lines above a key name its holder
    <inventory>/secrets/index.yml          per secret: kind, created, rotated, the recipients
                                           it is encrypted to, a WireGuard public key; never a value
    <inventory>/secrets/<name>.age         the value, age-encrypted to every recipient, armoured

`recipients.txt` is a plain age recipients file, so the age CLI works on the same files:
`age -e -a -R secrets/recipients.txt -o secrets/sip/2345.age` encrypts a value by hand,
`age -d -i KEY secrets/sip/2345.age` decrypts one.

Names are paths of lower-case segments (`totp/jmueller`, `sip/2345`, `radius/shared-secret`,
`openvpn/ca-key`): letters a-z, digits, `.`, `_`, `-`, each segment starting with a letter or digit.

Kinds say how `rotate` makes a new value (see `generate`): `totp` (20 random bytes, base32),
`password` (24 characters safe in SIP digest configs, phone provisioning XML and ini files),
`wireguard` (a Curve25519 private key; its public key is kept in index.yml), `token` (256 bits,
hex) and `manual` (set by hand, e.g. a CA key: cannot be rotated by telework). The kind lives in
index.yml, not in the file name, so that a secret keeps its path whatever its kind and one file
answers "what is there, since when, readable by whom" without a key (`telework secret list`).

The identity (age private key) that decrypts is looked up in this order: the `identity_path`
argument (CLI `--identity FILE`), the file named by `TELEWORK_AGE_IDENTITY`, then
`$XDG_CONFIG_HOME/telework/age/identity.txt` (default `~/.config/telework/age/identity.txt`).
It is an age-keygen file; like ssh, telework refuses to use one that group or others can read.

Every write is atomic (temporary file in the same directory, then rename). Clear values exist only
in memory: never on disk, never in an exception message or in repr().
"""

from __future__ import annotations

import base64
import binascii
import getpass
import json
import os
import re
import socket
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from secrets import choice, token_bytes, token_hex

import pyrage
import yaml

from telework.core.atomicfile import write_atomic
from telework.core.problems import SecretError
from telework.secrets.redact import MIN_LENGTH, Redactor

SECRETS_DIR = "secrets"
RECIPIENTS_FILE = "recipients.txt"
INDEX_FILE = "index.yml"
SUFFIX = ".age"
IDENTITY_ENV = "TELEWORK_AGE_IDENTITY"

#: How `generate` and `rotate` make values; `manual` values are set by hand only.
KINDS = ("totp", "password", "wireguard", "token", "manual")

_NAME = re.compile(r"[a-z0-9][a-z0-9._-]*(/[a-z0-9][a-z0-9._-]*)*")
_NAME_MAX = 200
#: Password alphabet: letters and digits without look-alikes (0/O/o, 1/l/I), so a person can
#: type it into a phone; nothing that needs quoting in SIP configs, XML or ini files.
_PASSWORD_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789"
_PASSWORD_LENGTH = 24
#: libyaml when PyYAML has it: index.yml has an entry per secret, thousands in a city.
#: (It is written by `_format_index`: yaml.dump of thousands of entries takes a second a write.)
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_INDEX_HEADER = (
    "# Written by `telework secret`: which secrets exist, their kind, dates and recipients.\n"
    "# Never a value. Change it with the command, not by hand.\n"
)


def default_identity_path() -> Path:
    """`$XDG_CONFIG_HOME/telework/age/identity.txt`, `~/.config/…` when XDG_CONFIG_HOME is unset."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "telework" / "age" / "identity.txt"


def resolve_identity_path(identity_path: Path | str | None = None) -> Path:
    """The identity file to use: argument, then $TELEWORK_AGE_IDENTITY, then the default path."""
    if identity_path:
        return Path(identity_path).expanduser()
    if os.environ.get(IDENTITY_ENV):
        return Path(os.environ[IDENTITY_ENV]).expanduser()
    return default_identity_path()


def check_name(name: str) -> str:
    """Return `name` if it is a valid secret name, else raise SecretError saying the rule."""
    if not isinstance(name, str) or len(name) > _NAME_MAX or not _NAME.fullmatch(name):
        raise SecretError(
            f"secret name {name!r} is invalid: use lower-case path segments of "
            f"a-z, 0-9, '.', '_', '-', each starting with a letter or digit, "
            f"separated by '/' (e.g. totp/jmueller, sip/2345), "
            f"at most {_NAME_MAX} characters"
        )
    return name


def _user_at_host() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry, no $USER (containers)
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- generating values --------------------------------------------------------------------------


@dataclass(frozen=True)
class Generated:
    """A new secret value; `public` is the WireGuard public key (None for other kinds).

    repr() never shows the value, so a Generated in a log or a failed assertion does not leak it.
    """

    kind: str
    value: str = field(repr=False)
    public: str | None = None


def wireguard_public_key(private_key: str) -> str:
    """The WireGuard public key of a Curve25519 private key, both base64 (as `wg pubkey`)."""
    try:
        raw = base64.b64decode(private_key.strip(), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise SecretError(
            "not a WireGuard private key: expected 32 bytes in base64 (as `wg genkey` prints)"
        )
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    public = X25519PrivateKey.from_private_bytes(raw).public_key()
    return base64.b64encode(public.public_bytes(Encoding.Raw, PublicFormat.Raw)).decode("ascii")


def _wireguard_private_key() -> str:
    raw = bytearray(token_bytes(32))
    # Clamp as `wg genkey` does (RFC 7748 section 5).
    raw[0] &= 248
    raw[31] &= 127
    raw[31] |= 64
    return base64.b64encode(bytes(raw)).decode("ascii")


def _password() -> str:
    while True:
        value = "".join(choice(_PASSWORD_ALPHABET) for _ in range(_PASSWORD_LENGTH))
        # Some phones and SIP servers insist on upper, lower and digit: guarantee all three.
        if (
            any(c.isupper() for c in value)
            and any(c.islower() for c in value)
            and any(c.isdigit() for c in value)
        ):
            return value


def generate(kind: str) -> Generated:
    """A new random value of `kind`:

    * `totp`: 20 random bytes (160 bits, RFC 4226's recommendation) in base32, 32 characters,
      no padding, as authenticator apps take it;
    * `password`: 24 characters of `_PASSWORD_ALPHABET` (~139 bits), at least one upper-case
      letter, one lower-case letter and one digit;
    * `wireguard`: a clamped Curve25519 private key in base64, `public` is its public key;
    * `token`: 32 random bytes in hex (64 characters).
    """
    if kind == "totp":
        return Generated(kind, base64.b32encode(token_bytes(20)).decode("ascii"))
    if kind == "password":
        return Generated(kind, _password())
    if kind == "wireguard":
        private = _wireguard_private_key()
        return Generated(kind, private, wireguard_public_key(private))
    if kind == "token":
        return Generated(kind, token_hex(32))
    raise SecretError(
        f"cannot generate a secret of kind {kind!r}: kinds are "
        f"{', '.join(k for k in KINDS if k != 'manual')}"
    )


def _check_value(kind: str, value: str) -> str | None:
    """Check a value set by hand against its kind; return the WireGuard public key if any."""
    if kind not in KINDS:
        raise SecretError(f"unknown secret kind {kind!r}: kinds are {', '.join(KINDS)}")
    if len(value) < MIN_LENGTH:
        raise SecretError(
            f"a secret must have at least {MIN_LENGTH} characters "
            f"(shorter values cannot be redacted from output)"
        )
    if kind == "wireguard":
        return wireguard_public_key(value)
    if kind == "totp":
        try:
            base64.b32decode(value.upper() + "=" * (-len(value) % 8))
        except (binascii.Error, ValueError):
            raise SecretError("not a TOTP seed: expected base32 (A-Z, 2-7)") from None
    if kind == "token" and not re.fullmatch(r"[0-9a-fA-F]+", value):
        raise SecretError("not a token: expected hexadecimal digits")
    return None


# --- identities and recipients ------------------------------------------------------------------


@dataclass(frozen=True)
class Recipient:
    """One age public key of recipients.txt and the comment lines just above it."""

    key: str
    comment: str
    line: int


def _parse_recipients(path: Path) -> list[Recipient]:
    if not path.exists():
        return []
    out: list[Recipient] = []
    comments: list[str] = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line:
            comments = []
            continue
        if line.startswith("#"):
            comments.append(line.lstrip("#").strip())
            continue
        try:
            pyrage.x25519.Recipient.from_str(line)
        except pyrage.RecipientError:
            raise SecretError(
                f"{path}:{number}: not an age public key: {line[:20]!r}… "
                f"(fix: one age1… key a line, comment lines start with #)"
            ) from None
        out.append(Recipient(line, " ".join(comments), number))
        comments = []
    return out


def _parse_identity(path: Path) -> list[pyrage.x25519.Identity]:
    """The identities of an age-keygen file; refuses files that group or others can read."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise SecretError(
            f"no age identity at {path}: pass --identity FILE, set {IDENTITY_ENV}=FILE, "
            f"or create one with `telework secret init`"
        ) from None
    if os.name == "posix" and mode & 0o077:
        raise SecretError(
            f"age identity {path} is accessible by others (mode {stat.S_IMODE(mode):04o}); "
            f"a private key must be private: run `chmod 600 {path}`"
        )
    identities = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            identities.append(pyrage.x25519.Identity.from_str(line))
        except pyrage.IdentityError:
            # Never echo the line: it may be a mangled private key.
            raise SecretError(
                f"{path}:{number}: not an age identity (expected AGE-SECRET-KEY-1…)"
            ) from None
    if not identities:
        raise SecretError(f"{path} holds no age identity (expected a line AGE-SECRET-KEY-1…)")
    return identities


def _format_index(index: dict[str, dict]) -> str:
    """index.yml text: block style, one field a line, every string JSON-quoted (valid YAML)."""

    def scalar(value) -> str:
        if value is None:
            return "null"
        if isinstance(value, (list, tuple)):
            return "[" + ", ".join(scalar(v) for v in value) + "]"
        return json.dumps(str(value), ensure_ascii=False)

    lines = [_INDEX_HEADER.rstrip("\n"), "secrets:" if index else "secrets: {}"]
    for name in sorted(index):
        lines.append(f"  {scalar(name)}:")
        for key, value in index[name].items():
            lines.append(f"    {key}: {scalar(value)}")
    return "\n".join(lines) + "\n"


# --- the store ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SecretInfo:
    """What index.yml says about one secret (no value)."""

    name: str
    kind: str
    created: str | None
    rotated: str | None
    recipients: tuple[str, ...]
    public: str | None = None


class SecretStore:
    """The secrets of one inventory directory.

    Reading (`get`, `items`, `values`, `rekey`) needs an identity whose public key the secret was
    encrypted to; writing (`set`, `add_generated`, `rotate`) needs only recipients.txt.
    """

    def __init__(self, inventory_dir: Path | str, identity_path: Path | str | None = None):
        self.inventory_dir = Path(inventory_dir)
        self.dir = self.inventory_dir / SECRETS_DIR
        self._identity_arg = identity_path
        self._identities: list[pyrage.x25519.Identity] | None = None
        # index.yml as last read or written, keyed by the file's (inode, mtime, size).
        self._index_cache: tuple[tuple[int, int, int], dict[str, dict]] | None = None

    def __repr__(self) -> str:
        return f"SecretStore({str(self.inventory_dir)!r})"

    # paths
    @property
    def recipients_path(self) -> Path:
        return self.dir / RECIPIENTS_FILE

    @property
    def index_path(self) -> Path:
        return self.dir / INDEX_FILE

    @property
    def identity_path(self) -> Path:
        return resolve_identity_path(self._identity_arg)

    def path_of(self, name: str) -> Path:
        return self.dir / (check_name(name) + SUFFIX)

    # identity
    def identities(self) -> list[pyrage.x25519.Identity]:
        if self._identities is None:
            self._identities = _parse_identity(self.identity_path)
        return self._identities

    def public_keys(self) -> list[str]:
        """The age public keys of the identity in use."""
        return [str(identity.to_public()) for identity in self.identities()]

    def init_identity(
        self, path: Path | str | None = None, comment: str | None = None
    ) -> tuple[Path, str, bool]:
        """Create an identity (unless `path` holds one) and add its public key to recipients.txt.

        Returns (identity path, public key, whether the identity file was created). An existing
        identity is never overwritten. The file is written with mode 0600, its directory 0700.
        """
        target = resolve_identity_path(path or self._identity_arg)
        created = not target.exists()
        if created:
            identity = pyrage.x25519.Identity.generate()
            public = str(identity.to_public())
            target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            text = f"# created: {_now()}\n# public key: {public}\n{identity}\n"
            write_atomic(target, text.encode("ascii"), mode=0o600)
        self._identity_arg, self._identities = target, None
        public = self.public_keys()[0]
        self.add_recipient(public, comment or _user_at_host())
        return target, public, created

    # recipients
    def recipients(self) -> list[Recipient]:
        return _parse_recipients(self.recipients_path)

    def add_recipient(self, key: str, comment: str) -> bool:
        """Append `key` below a comment line; False if listed already. Then run `rekey`."""
        key = key.strip()
        try:
            pyrage.x25519.Recipient.from_str(key)
        except pyrage.RecipientError:
            raise SecretError(
                f"not an age public key: {key[:20]!r}… (expected age1…, as `age-keygen -y` prints)"
            ) from None
        existing = self.recipients()
        if any(r.key == key for r in existing):
            return False
        comment = " ".join(comment.split()) or "unnamed"
        text = (
            self.recipients_path.read_text(encoding="utf-8")
            if self.recipients_path.exists()
            else (
                "# age recipients of this inventory's secrets: one public key a line,\n"
                "# the comment above it names its holder.\n"
                "# After a change run `telework secret rekey`.\n"
            )
        )
        if text and not text.endswith("\n"):
            text += "\n"
        text += f"\n# {comment} (added {_now()[:10]})\n{key}\n"
        write_atomic(self.recipients_path, text.encode("utf-8"), mode=0o644)
        return True

    def remove_recipient(self, key: str) -> bool:
        """Remove `key` and its comment lines; False if not listed. Then `rekey` and rotate:
        the holder may have kept copies of what the key could decrypt."""
        if not any(r.key == key.strip() for r in self.recipients()):
            return False
        lines = self.recipients_path.read_text(encoding="utf-8").splitlines()
        out: list[str] = []
        for line in lines:
            if line.strip() == key.strip():
                # Its comment: the comment lines right above it (a blank line separates entries).
                while out and out[-1].lstrip().startswith("#"):
                    out.pop()
                if out and not out[-1].strip():
                    out.pop()
                continue
            out.append(line)
        write_atomic(self.recipients_path, ("\n".join(out) + "\n").encode("utf-8"), mode=0o644)
        return True

    def _recipient_keys(self) -> list[str]:
        keys = [r.key for r in self.recipients()]
        if not keys:
            raise SecretError(
                f"{self.recipients_path} lists no recipient: run `telework secret init "
                f"{self.inventory_dir}` or `telework secret recipients add KEY`"
            )
        return keys

    # index
    def _index_key(self) -> tuple[int, int, int] | None:
        try:
            st = self.index_path.stat()
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def _load_index(self) -> dict[str, dict]:
        key = self._index_key()
        if key is None:
            return {}
        if self._index_cache is not None and self._index_cache[0] == key:
            return self._index_cache[1]
        try:
            data = yaml.load(self.index_path.read_text(encoding="utf-8"), Loader=_YAML_LOADER) or {}
        except yaml.YAMLError as exc:
            raise SecretError(
                f"{self.index_path} is not valid YAML ({exc}); restore it from git"
            ) from None
        secrets = data.get("secrets") if isinstance(data, dict) else None
        if not isinstance(secrets, dict):
            raise SecretError(
                f"{self.index_path}: expected a mapping `secrets:` of name -> kind, dates"
            )
        self._index_cache = (key, secrets)
        return secrets

    def _save_index(self, index: dict[str, dict]) -> None:
        self._index_cache = None
        write_atomic(self.index_path, _format_index(index).encode("utf-8"), mode=0o644)
        key = self._index_key()
        if key is not None:
            self._index_cache = (key, index)

    # reading
    def names(self) -> list[str]:
        """Names of every secret stored (from the .age files), sorted."""
        if not self.dir.is_dir():
            return []
        out = []
        for path in self.dir.rglob("*" + SUFFIX):
            name = path.relative_to(self.dir).as_posix()[: -len(SUFFIX)]
            try:
                out.append(check_name(name))
            except SecretError as exc:
                raise SecretError(f"{path}: {exc}; rename the file") from None
        return sorted(out)

    def info(self, name: str) -> SecretInfo:
        """What index.yml records about `name` (kind `manual` and no dates if nothing)."""
        return self._info(name, self._load_index().get(check_name(name)) or {})

    @staticmethod
    def _info(name: str, entry: dict) -> SecretInfo:
        return SecretInfo(
            name=name,
            kind=entry.get("kind", "manual"),
            created=entry.get("created"),
            rotated=entry.get("rotated"),
            recipients=tuple(entry.get("recipients") or ()),
            public=entry.get("public_key"),
        )

    def exists(self, name: str) -> bool:
        return self.path_of(name).is_file()

    def get(self, name: str) -> str:
        """The clear value of secret `name`."""
        path = self.path_of(name)
        try:
            ciphertext = path.read_bytes()
        except FileNotFoundError:
            raise SecretError(
                f"no secret {name} in {self.dir} (`telework secret list` shows them)"
            ) from None
        identities = self.identities()
        try:
            plain = pyrage.decrypt(ciphertext, identities)
        except pyrage.DecryptError as exc:
            mine = ", ".join(self.public_keys())
            if "no matching keys" in str(exc).lower():
                listed = {r.key for r in self.recipients()}
                hint = "ask a holder to run `telework secret rekey`"
                if not listed & set(self.public_keys()):
                    hint = (
                        f"your key is not in {self.recipients_path}: ask a holder to run "
                        f"`telework secret recipients add {self.public_keys()[0]} --comment WHO` "
                        f"and `telework secret rekey`"
                    )
                raise SecretError(
                    f"secret {name} is not encrypted to your key {mine}; {hint}"
                ) from None
            raise SecretError(
                f"secret {name} cannot be decrypted: {path} is damaged ({exc}); restore it from git"
            ) from None
        try:
            return plain.decode("utf-8")
        except UnicodeDecodeError:
            raise SecretError(f"secret {name} is not UTF-8 text") from None

    def items(self) -> Iterator[tuple[str, str]]:
        """(name, clear value) of every secret: for the redactor and for deploys."""
        for name in self.names():
            yield name, self.get(name)

    def values(self) -> Iterator[str]:
        """Every clear value (used by the redaction layer)."""
        yield from (value for _, value in self.items())

    def redactor(self) -> Redactor:
        """A redactor of every secret of the inventory, naming them in its markers."""
        return Redactor(dict(self.items()))

    # writing
    def _write(self, name: str, value: str, recipients: list[str]) -> None:
        parsed = [pyrage.x25519.Recipient.from_str(key) for key in recipients]
        try:
            ciphertext = pyrage.encrypt(value.encode("utf-8"), parsed, armored=True)
        except pyrage.EncryptError as exc:
            raise SecretError(f"secret {name} cannot be encrypted: {exc}") from None
        write_atomic(self.path_of(name), ciphertext, mode=0o644)

    def encrypt(self, value: str) -> bytes:
        """`value` encrypted (armoured) to the current recipients, written nowhere: bulk
        enrolment stages hundreds of seeds and stores them with `put_encrypted` at once."""
        recipients = [pyrage.x25519.Recipient.from_str(key) for key in self._recipient_keys()]
        try:
            return pyrage.encrypt(value.encode("utf-8"), recipients, armored=True)
        except pyrage.EncryptError as exc:
            raise SecretError(f"a value cannot be encrypted: {exc}") from None

    def put_encrypted(self, items: dict[str, tuple[str, bytes, bool]], *, write=write_atomic) -> None:
        """Store values `encrypt` made (name -> (kind, ciphertext, whether it replaces an older
        value)) and record them all in one write of index.yml. `write` writes one file."""
        recipients = self._recipient_keys()
        index = self._load_index()
        now = _now()
        for name, (kind, ciphertext, replaced) in items.items():
            check_name(name)
            if kind not in KINDS or kind == "wireguard":
                raise SecretError(f"secret {name}: put_encrypted stores kinds without a public part, not {kind!r}")
            write(self.path_of(name), ciphertext, mode=0o644)
            old = index.get(name) or {}
            index[name] = {"kind": kind, "created": old.get("created", now) if replaced else now,
                           "rotated": now if replaced else None, "recipients": recipients}
        self._save_index(index)

    def set(
        self, name: str, value: str, kind: str = "manual", *, replace: bool = True
    ) -> SecretInfo:
        """Encrypt `value` to every recipient and record `name` with `kind` in index.yml.

        A value set by hand is checked against its kind (a WireGuard key must be one; its public
        key is recorded). With `replace=False`, an existing secret is an error.
        """
        check_name(name)
        if not isinstance(value, str):
            raise SecretError(f"secret {name}: the value must be text")
        try:
            public = _check_value(kind, value)
        except SecretError as exc:
            raise SecretError(f"secret {name}: {exc}") from None
        exists = self.exists(name)
        self.check_settable(name, replace)
        recipients = self._recipient_keys()
        self._write(name, value, recipients)
        index = self._load_index()
        old = index.get(name) or {}
        now = _now()
        entry: dict = {
            "kind": kind,
            "created": old.get("created", now) if exists else now,
            "rotated": now if exists else None,
            "recipients": recipients,
        }
        if public:
            entry["public_key"] = public
        index[name] = entry
        self._save_index(index)
        return self._info(name, entry)

    def check_settable(self, name: str, replace: bool) -> None:
        """Raise SecretError unless `name` is valid and free (or `replace` is true)."""
        if self.exists(name) and not replace:
            info = self.info(name)
            raise SecretError(
                f"secret {name} exists (kind {info.kind}, created {info.created}): "
                f"`telework secret rotate {name}` makes a new value, "
                f"`telework secret set {name} --replace` replaces it by hand"
            )

    def add_generated(self, name: str, kind: str, *, replace: bool = False) -> Generated:
        """Generate a value of `kind` and store it as `name`."""
        new = generate(kind)
        self.set(name, new.value, kind, replace=replace)
        return new

    def rotate(self, name: str) -> Generated:
        """Replace secret `name` by a new value of the same kind (recorded in index.yml)."""
        if not self.exists(name):
            raise SecretError(f"no secret {name} in {self.dir} (`telework secret list` shows them)")
        kind = self.info(name).kind
        if kind == "manual":
            raise SecretError(
                f"secret {name} was set by hand (kind manual), telework cannot make a new one: "
                f"`telework secret set {name} --replace` with the new value"
            )
        return self.add_generated(name, kind, replace=True)

    def rekey(self) -> list[str]:
        """Re-encrypt every secret to the current recipients.txt; returns the names.

        Every secret is decrypted first, so nothing is written unless all of them can be.
        Removing a recipient and rekeying does not take back what it could read: rotate too.
        """
        recipients = self._recipient_keys()
        names = self.names()
        clear = {name: self.get(name) for name in names}
        index = self._load_index()
        for name in names:
            self._write(name, clear[name], recipients)
            entry = index.setdefault(name, {"kind": "manual", "created": None, "rotated": None})
            entry["recipients"] = recipients
        clear.clear()
        self._save_index(index)
        return names

    def stale(self) -> list[str]:
        """Secrets not encrypted to exactly the current recipients (run `rekey`)."""
        current = {r.key for r in self.recipients()}
        return [name for name in self.names() if set(self.info(name).recipients) != current]
