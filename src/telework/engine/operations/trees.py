"""A directory whose files are all telework's: one fact, one upload, whatever the number of files.

OpenVPN's client-config-dir holds a file per person (750 in the sample city). A `files.put` per
file costs three round trips each, so an unchanged concentrator would take minutes to plan;
here one listing (the role's prefetched `PathStates`) compares every file, and the changed ones travel as one tar.
"""

from __future__ import annotations

import tarfile
from io import BytesIO

from pyinfra import host
from pyinfra.api import FileUploadCommand, QuoteString, StringCommand, operation

from telework.engine.facts.files import directory_digests
from telework.engine.operations.digests import digest


class ArchiveUpload(FileUploadCommand):
    """The upload of `files` as one tar to `dest`. The tar is deterministic (sorted names,
    mtime 0, root:root), and the plan fingerprints the files it holds (`telework_identity`:
    name, sha256 and mode of each), not the archive's bytes: the same files give the same
    fingerprint whenever and wherever the plan is made."""

    def __init__(self, files: dict[str, str], mode: int, dest: str):
        out = BytesIO()
        with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as tar:
            for name, text in sorted(files.items()):
                data = text.encode()
                info = tarfile.TarInfo(name)
                info.size, info.mode, info.mtime = len(data), mode, 0
                info.uid = info.gid = 0
                info.uname = info.gname = "root"
                tar.addfile(info, BytesIO(data))
        out.seek(0)
        super().__init__(out, dest)
        self.telework_identity = "archive " + " ".join(
            f"{name}:{digest(text)}:{mode:o}" for name, text in sorted(files.items()))


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
        yield ArchiveUpload({n: files[n] for n in changed}, int(mode, 8), archive)
        yield StringCommand("tar", "--no-same-owner", "--no-overwrite-dir", "-xf", QuoteString(archive),
                            "-C", p, "&&", "rm", "-f", QuoteString(archive))
    if extra:
        yield StringCommand("cd", p, "&&", "rm", "-f", "--", *[QuoteString(n) for n in extra])
