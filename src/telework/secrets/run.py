"""The secrets of a run: the one redactor every output of plan/apply passes through, and the
key that makes change fingerprints safe to publish.

An inventory without secrets/ needs no identity. One with secrets must be decryptable
(TELEWORK_AGE_IDENTITY in CI): a plan that cannot know the secret values cannot hide them,
so it does not run.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from telework.secrets.redact import Redactor
from telework.secrets.store import SecretStore


@dataclass(frozen=True)
class RunSecrets:
    redactor: Redactor
    #: HMAC key for fingerprints (None without secrets): derived from every value, so only a
    #: holder of the identity can recompute a fingerprint, in the plan and in the apply job
    fingerprint_key: bytes | None = field(default=None, repr=False)
    names: tuple[str, ...] = ()


def load_run_secrets(inventory_dir: Path | str, identity: Path | str | None = None) -> RunSecrets:
    store = SecretStore(inventory_dir, identity)
    names = store.names()
    if not names:
        return RunSecrets(Redactor())
    values = dict(store.items())  # SecretError (clear message) without a usable identity
    digest = hashlib.sha256()
    for name in sorted(values):
        digest.update(name.encode() + b"\0" + values[name].encode() + b"\0")
    return RunSecrets(Redactor(values), digest.digest(), tuple(names))
