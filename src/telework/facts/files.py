"""The state of files, directories and links under a few roots, in one remote command.

pyinfra's `files.File` + `files.Directory` + `files.Sha1File` cost three round trips per file;
`PathStates` answers for every path under a role's roots at once. It reports digests, mode
and owner, never content: files holding secrets are described the same way.
"""

from __future__ import annotations

import shlex

from pyinfra.api import FactBase

from .batch import fact, remembered


class PathStates(FactBase):
    """Everything under some roots, in one command: {"roots": [...], "paths": {path: state}}.

    A state is {"type": "file"|"directory"|"link"|"other", "mode": 644, "user": "root",
    "group": "root", "target": <link target or None>, "sha256": <regular files, else None>}.
    A path under a root that is not in "paths" does not exist. Used through `path_state()`,
    which answers from any remembered root that covers the path (telework.facts.batch).
    """

    def command(self, roots: tuple[str, ...]) -> str:
        quoted = " ".join(shlex.quote(r) for r in roots)
        return (f"for r in {quoted}; do if [ -e \"$r\" ] || [ -L \"$r\" ]; then "
                f"find \"$r\" -xdev -printf 'p\\t%y\\t%m\\t%u\\t%g\\t%p\\t%l\\n'; "
                f"find \"$r\" -xdev -type f -exec sha256sum {{}} + | sed 's/^/s\\t/'; fi; done")

    @staticmethod
    def ask(*roots: str):
        """The prefetch request for `roots`."""
        return PathStates, {"roots": tuple(roots)}

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


def _listing_for(path: str) -> dict:
    """The remembered `PathStates` answer whose roots cover `path`; asks for `path` alone if none."""
    for kwargs, answer in remembered(PathStates):
        if answer is not None and any(_covers(root, path) for root in kwargs["roots"]):
            return answer["paths"]
    return fact(PathStates, roots=(path,))["paths"]


def path_state(path: str) -> dict | None:
    """The state of `path` on the current host before this run (None: absent)."""
    return _listing_for(path).get(path)


def directory_digests(path: str) -> dict[str, str] | None:
    """{file name: sha256} of the regular files directly in directory `path` on the current
    host before this run; None when it is not a directory."""
    return children_digests(_listing_for(path), path)


def children_digests(paths: dict[str, dict], directory: str) -> dict[str, str] | None:
    """{file name: sha256} of the regular files directly in `directory`, from a `PathStates`
    listing; None when `directory` is not a directory in it."""
    state = paths.get(directory)
    if state is None or state["type"] != "directory":
        return None
    prefix = directory.rstrip("/") + "/"
    return {p[len(prefix):]: s["sha256"] for p, s in paths.items()
            if p.startswith(prefix) and "/" not in p[len(prefix):] and s["type"] == "file"}
