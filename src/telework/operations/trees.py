"""A directory whose files are all telework's: one fact, one upload, whatever the number of files.

OpenVPN's client-config-dir holds a file per person (750 in the sample city). A `files.put` per
file costs three round trips each, so an unchanged concentrator would take minutes to plan;
here one listing (the role's prefetched `PathStates`) compares every file, and the changed ones travel as one tar.
"""

from __future__ import annotations

import tarfile
import time
from io import BytesIO

from pyinfra import host
from pyinfra.api import FileUploadCommand, QuoteString, StringCommand, operation

from ..facts.files import directory_digests
from .digests import digest


def _tar(files: dict[str, str], mode: int) -> BytesIO:
    out = BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for name, text in sorted(files.items()):
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), mode, int(time.time())
            info.uname = info.gname = "root"
            tar.addfile(info, BytesIO(data))
    out.seek(0)
    return out


@operation()
def synced_directory(path: str, files: dict[str, str], mode: str = "644", dir_mode: str = "755"):
    """Make `path` hold exactly `files` ({file name: text}): changed and new files written,
    files not in `files` removed.

    + path: the directory (created with `dir_mode`, root-owned)
    + files: file name (no `/`) -> content
    + mode: octal mode of every file

    No command when every digest matches and nothing is extra. Names and counts are logged,
    never contents (they may be personal data).
    """
    current = directory_digests(path)
    wanted = {name: digest(text) for name, text in files.items()}
    have = current or {}
    changed = sorted(n for n, d in wanted.items() if have.get(n) != d)
    extra = sorted(n for n in have if n not in wanted)
    if current is not None and not changed and not extra:
        host.noop(f"directory {path} holds its {len(files)} files")
        return
    host.log(f"{path}: {len([n for n in changed if n in have])} changed, "
             f"{len([n for n in changed if n not in have])} new, {len(extra)} removed"
             + (f" ({', '.join((changed + extra)[:10])}{' …' if len(changed) + len(extra) > 10 else ''})"))
    p = QuoteString(path)
    if current is None:
        yield StringCommand("install", "-d", "-m", dir_mode, "-o", "root", "-g", "root", p)
    if changed:
        archive = f"{path.rstrip('/')}.telework-upload.tar"
        yield FileUploadCommand(_tar({n: files[n] for n in changed}, int(mode, 8)), archive)
        yield StringCommand("tar", "--no-same-owner", "--no-overwrite-dir", "-xf", QuoteString(archive),
                            "-C", p, "&&", "rm", "-f", QuoteString(archive))
    if extra:
        yield StringCommand("cd", p, "&&", "rm", "-f", "--", *[QuoteString(n) for n in extra])
