"""The state of files, directories and links under a few roots, in one remote command.

pyinfra's `files.File` + `files.Directory` + `files.Sha1File` cost three round trips per file;
`PathStates` answers for every path under a role's roots at once. It reports digests, mode
and owner, never content: files holding secrets are described the same way.
"""

from __future__ import annotations

import shlex

from pyinfra.api import FactBase

from telework.engine.facts.batch import covering, fact


class PathStates(FactBase):
    """Everything under some roots, in one command: {"roots": [...], "paths": {path: state}}.

    A state is {"type": "file"|"directory"|"link"|"other", "mode": 644, "user": "root",
    "group": "root", "target": <link target or None>, "sha256": <regular files, else None>}.
    A path under a root that is not in "paths" does not exist; a `shallow` path is listed
    alone (with its digest if it is a file), not what is below it. Used through `path_state()`,
    which answers from any remembered root that covers the path (telework.engine.facts.batch).
    """

    def command(self, roots: tuple[str, ...], shallow: tuple[str, ...] = ()) -> str:
        listing = "-printf 'p\\t%y\\t%m\\t%u\\t%g\\t%p\\t%l\\n'"
        command = ""
        if roots:
            quoted = " ".join(shlex.quote(r) for r in roots)
            command += (f"for r in {quoted}; do if [ -e \"$r\" ] || [ -L \"$r\" ]; then "
                        f"find \"$r\" -xdev {listing}; "
                        f"find \"$r\" -xdev -type f -exec sha256sum {{}} + | sed 's/^/s\\t/'; fi; done")
        if shallow:
            quoted = " ".join(shlex.quote(r) for r in shallow)
            command += ("; " if command else "") + (
                f"for r in {quoted}; do if [ -e \"$r\" ] || [ -L \"$r\" ]; then "
                f"find \"$r\" -maxdepth 0 {listing}; "
                f"if [ -f \"$r\" ]; then sha256sum \"$r\" | sed 's/^/s\\t/'; fi; fi; done")
        return command or "true"

    @staticmethod
    def ask(*roots: str, shallow: tuple[str, ...] = ()):
        """The prefetch request for `roots` (everything below them) and `shallow` paths (only
        the path itself: a venv or a download directory is not read file by file)."""
        return PathStates, {"roots": tuple(roots), "shallow": tuple(shallow)}

    @staticmethod
    def default():
        return {"paths": {}}  # no output at all: nothing there

    def process(self, output):
        kinds = {"f": "file", "d": "directory", "l": "link"}
        paths: dict[str, dict] = {}
        digests: dict[str, str] = {}
        for line in output:
            if line.startswith("p\t"):
                _, kind, mode, user, group, path, target = line.split("\t", 6)
                paths[path] = {"type": kinds.get(kind, "other"), "mode": int(mode), "user": user, "group": group,
                               "target": target if kind == "l" else None, "sha256": None}
            elif line.startswith("s\t"):
                digest, path = line[2:].split("  ", 1)
                digests[path] = digest
        for path, digest in digests.items():
            if path in paths:
                paths[path]["sha256"] = digest
        return {"paths": paths}


def _covers(root: str, path: str) -> bool:
    root = root.rstrip("/") or "/"
    return path == root or path.startswith(root + "/") or root == "/"


def _listing_for(path: str, recursive: bool = False) -> dict:
    """The remembered `PathStates` answer that covers `path` (with everything below it when
    `recursive`); asks for `path` alone if none does."""
    answer = covering(PathStates, lambda kwargs: any(_covers(root, path) for root in kwargs["roots"])
                      or (not recursive and path in kwargs.get("shallow", ())))
    if answer is not None:
        return answer["paths"]
    if recursive:
        return fact(PathStates, roots=(path,))["paths"]
    return fact(PathStates, roots=(), shallow=(path,))["paths"]


def path_state(path: str) -> dict | None:
    """The state of `path` on the current host before this run (None: absent)."""
    return _listing_for(path).get(path)


def directory_digests(path: str) -> dict[str, str] | None:
    """{file name: sha256} of the regular files directly in directory `path` on the current
    host before this run; None when it is not a directory."""
    return children_digests(_listing_for(path, recursive=True), path)


def children_digests(paths: dict[str, dict], directory: str) -> dict[str, str] | None:
    """{file name: sha256} of the regular files directly in `directory`, from a `PathStates`
    listing; None when `directory` is not a directory in it."""
    state = paths.get(directory)
    if state is None or state["type"] != "directory":
        return None
    prefix = directory.rstrip("/") + "/"
    return {p[len(prefix):]: s["sha256"] for p, s in paths.items()
            if p.startswith(prefix) and "/" not in p[len(prefix):] and s["type"] == "file"}


def file_contents_command(path: str) -> str:
    """The shell command of pyinfra's `FileContents` fact (a file's old text, for diffs), as the
    plan account's probe must recognise it (telework.roles.base.probe)."""
    from pyinfra.facts.files import FileContents

    return str(FileContents().command(path=path))
