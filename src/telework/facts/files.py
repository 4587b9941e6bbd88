"""Facts about files that may hold secrets: digests, mode and owner, never the content.

pyinfra's `files.File` + `files.Sha256File` cost two round trips per file; `FileState` answers
both in one, and `DirectoryDigests` answers for every file of a directory in one.
"""

from __future__ import annotations

import shlex

from pyinfra.api import FactBase


class FileState(FactBase):
    """The state of one regular file, or None when absent::

        {"sha256": "9f86d0…", "mode": 600, "user": "root", "group": "root"}

    `mode` is an int of the octal digits as `stat -c %a` prints them (600, 2755).
    """

    def command(self, path: str) -> str:
        p = shlex.quote(path)
        return f"if [ -f {p} ]; then stat -c '%a %U %G' {p} && sha256sum {p}; fi"

    def process(self, output):
        if len(output) < 2:
            return None
        mode, user, group = output[0].split()
        return {"sha256": output[1].split()[0], "mode": int(mode), "user": user, "group": group}


class DirectoryDigests(FactBase):
    """sha256 of every regular file directly in a directory: {file name: sha256}; None when the
    directory does not exist, {} when it is empty."""

    def command(self, path: str) -> str:
        p = shlex.quote(path)
        return (f"if [ -d {p} ]; then echo present; "
                f"find {p} -mindepth 1 -maxdepth 1 -type f -exec sha256sum {{}} +; fi")

    def process(self, output):
        if not output or output[0] != "present":
            return None
        digests = {}
        for line in output[1:]:
            digest, path = line.split(None, 1)
            digests[path.rsplit("/", 1)[-1]] = digest
        return digests
