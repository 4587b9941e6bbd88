"""The organisation's pull signing key: Ed25519, private half age-encrypted in the inventory's
secret store (`pull/signing-key`), public half committed as `<inventory>/pull/signing.pub`.

`telework pull build` signs every bundle manifest with it; the pull agent on the endpoint
verifies with the public key that deploy/pull_agent.py installed (/etc/telework/pull-signing.pub).
Rotating the key: `telework secret set pull/signing-key --replace` is not enough - endpoints
only trust the public key they hold, so push the new one (`telework pull install`) while they
still accept bundles signed with the old one.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from telework.core.problems import TeleworkError
from telework.secrets.store import SecretStore

SIGNING_SECRET = "pull/signing-key"
PUBLIC_KEY_FILE = Path("pull") / "signing.pub"


class PullError(TeleworkError):
    """A pull bundle cannot be built, served or installed."""


def public_key_path(inventory_dir: Path | str) -> Path:
    return Path(inventory_dir) / PUBLIC_KEY_FILE


def public_pem(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)


def key_id(public_key_pem: bytes) -> str:
    """A short name of a public key for messages and manifests: sha256 of its PEM, 16 hex digits."""
    return hashlib.sha256(public_key_pem.strip() + b"\n").hexdigest()[:16]


def init_signing_key(inventory_dir: Path | str, store: SecretStore) -> tuple[Path, bool]:
    """Create the key pair unless it exists; (public key path, created). An existing secret
    without its public file (or the other way round) is an error, never silently replaced."""
    pub_path = public_key_path(inventory_dir)
    if store.exists(SIGNING_SECRET):
        key = load_signing_key(inventory_dir, store)
        if not pub_path.is_file():
            pub_path.parent.mkdir(parents=True, exist_ok=True)
            pub_path.write_bytes(public_pem(key))
            return pub_path, True
        return pub_path, False
    if pub_path.exists():
        raise PullError(f"{pub_path} exists but secret {SIGNING_SECRET} does not: restore the secret "
                        f"from git or remove {pub_path} to start over (endpoints must then get the new key)")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode("ascii")
    store.set(SIGNING_SECRET, pem, "manual", replace=False)
    pub_path.parent.mkdir(parents=True, exist_ok=True)
    pub_path.write_bytes(public_pem(key))
    return pub_path, True


def load_signing_key(inventory_dir: Path | str, store: SecretStore) -> Ed25519PrivateKey:
    if not store.exists(SIGNING_SECRET):
        raise PullError(f"no pull signing key in {store.dir}: run `telework pull init {inventory_dir}`")
    key = serialization.load_pem_private_key(store.get(SIGNING_SECRET).encode("ascii"), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise PullError(f"secret {SIGNING_SECRET} is not an Ed25519 private key")
    pub_path = public_key_path(inventory_dir)
    if pub_path.is_file() and pub_path.read_bytes().strip() != public_pem(key).strip():
        raise PullError(f"{pub_path} is not the public key of secret {SIGNING_SECRET}: endpoints "
                        f"would refuse every bundle; restore one of them from git")
    return key


def load_public_key(inventory_dir: Path | str) -> bytes:
    path = public_key_path(inventory_dir)
    try:
        pem = path.read_bytes()
    except FileNotFoundError:
        raise PullError(f"no {path}: run `telework pull init {inventory_dir}` and commit it") from None
    key = serialization.load_pem_public_key(pem)
    if not isinstance(key, Ed25519PublicKey):
        raise PullError(f"{path} is not an Ed25519 public key")
    return pem


def sign(key: Ed25519PrivateKey, data: bytes) -> bytes:
    """The detached signature file's content: base64 of the 64-byte Ed25519 signature, newline."""
    return base64.b64encode(key.sign(data)) + b"\n"
