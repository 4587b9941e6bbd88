"""sha256 as the facts report it, for comparing local content with remote files."""

from __future__ import annotations

from hashlib import sha256


def digest(value: str | bytes) -> str:
    data = value.encode() if isinstance(value, str) else value
    return sha256(data).hexdigest()
