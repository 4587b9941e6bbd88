"""Replace a file in one step: readers see the old content or the new, never half of it.

Every file telework writes into an inventory or hands to a person (allocations, PKI records,
revocations, secrets, enrolment bundles) goes through `write_atomic`, so a crash or a full
disk never leaves a truncated record in git, and a private file is never readable by others,
not even for a moment: the temporary file has its final mode before a byte is written.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomic(path: str | Path, data: str | bytes, mode: int | None = None, *, sync: bool = True) -> None:
    """Write `data` (str: UTF-8) to `path` through a temporary file beside it and a rename.

    `mode` is the new file's permission bits; None keeps an existing file's mode (else 0644).
    Parent directories are created. The rename is made durable with an fsync of the directory.
    `sync=False` skips both fsyncs (a file is still whole or absent after a killed process):
    for writers of hundreds of files that call `os.sync()` once at the end (bulk enrolment).
    """
    path = Path(path)
    if mode is None:
        mode = path.stat().st_mode & 0o7777 if path.exists() else 0o644
    payload = data.encode("utf-8") if isinstance(data, str) else data
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            if sync:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if not sync:
        return
    try:
        dir_fd = os.open(path.parent, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory handles
        return
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
