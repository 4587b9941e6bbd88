"""Reading an inventory's git history without a checkout: commits, changed files, blobs.

The audit reads past states straight from git's object store, never by checking commits out
(the work tree belongs to the operator, and a checkout per commit would be far too slow).
Three kinds of git process, each started once per question:

* `git log --raw` lists the commits that touched the inventory directory with the files each
  changed (for a merge: against its first parent, i.e. what the merge changed on the branch
  it landed on);
* `git ls-tree -r` gives the whole inventory of one commit (the starting state of a walk);
* one `git cat-file --batch` process reads every blob the walk needs, on demand.

The inventory may live in a sub-directory of the repository (as `inventory/sample` does in
telework's own repository): paths are handed out relative to the inventory directory.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from telework.core.problems import TeleworkError


class GitError(TeleworkError):
    """The inventory is not in a git repository, or git failed."""


@dataclass(frozen=True)
class Person:
    name: str
    email: str


@dataclass(frozen=True)
class Commit:
    """One commit as the audit shows it: who, when (Unix seconds) and the full message."""

    sha: str
    parents: tuple[str, ...]
    author: Person
    author_time: int
    committer: Person
    commit_time: int
    message: str

    @property
    def subject(self) -> str:
        return self.message.split("\n", 1)[0].strip()


@dataclass(frozen=True)
class Change:
    """A file of the inventory changed by a commit: its blob before and after (None: absent)."""

    path: str
    old: str | None
    new: str | None


@dataclass
class LoggedCommit:
    commit: Commit
    changes: list[Change] = field(default_factory=list)


_NULL_OID = "0" * 40
# Fields of `git log --format`: \x1e starts a commit, \x1f ends each field.
_FORMAT = "%x1e" + "%x1f".join(["%H", "%P", "%an", "%ae", "%at", "%cn", "%ce", "%ct", "%B"]) + "%x1f"


def git(cwd: Path | str, *args: str, input: str | None = None) -> str:
    """Run git, return stdout; a failure is a GitError quoting git's own message."""
    try:
        done = subprocess.run(["git", "-C", str(cwd), *args], capture_output=True, text=True,
                              input=input, encoding="utf-8", errors="replace")
    except OSError as exc:
        raise GitError(f"cannot run git: {exc}") from None
    if done.returncode != 0:
        raise GitError(f"git {' '.join(args[:3])} failed: {done.stderr.strip() or done.returncode}")
    return done.stdout


class Repository:
    """The git repository holding an inventory directory, and that directory's place in it."""

    def __init__(self, inventory_dir: Path | str):
        directory = Path(inventory_dir)
        if not directory.is_dir():
            raise GitError(f"inventory directory {directory} does not exist")
        try:
            out = git(directory, "rev-parse", "--path-format=absolute", "--show-toplevel",
                      "--git-common-dir", "--show-prefix").splitlines()
        except GitError:
            raise GitError(f"{directory} is not in a git repository: the audit reads the "
                           "inventory's history from git (clone the inventory repository)") from None
        self.inventory_dir = directory
        self.toplevel = Path(out[0])
        self.git_dir = Path(out[1])
        #: the inventory directory relative to the top level, with a trailing slash ("" at the top)
        self.prefix = out[2] if len(out) > 2 else ""
        self._blobs: _CatFile | None = None

    # ---------------------------------------------------------------- revisions

    def resolve(self, rev: str = "HEAD") -> str:
        try:
            return git(self.toplevel, "rev-parse", "--verify", "-q", f"{rev}^{{commit}}").strip()
        except GitError:
            raise GitError(f"no commit {rev!r} in {self.toplevel}") from None

    def first_parent_chain(self, head: str, *, limited: bool = True) -> list[str]:
        """Commits on `head`'s first-parent line, oldest first; `limited`: only those that
        changed the inventory directory (a merge counts when it changed it against its
        first parent)."""
        args = ["rev-list", "--first-parent", "--reverse", head]
        if limited:
            args += ["--", self.pathspec]
        return git(self.toplevel, *args).split()

    def ancestors(self, head: str) -> set[str]:
        """Every commit reachable from `head` (for "is this run's commit in the history?")."""
        return set(git(self.toplevel, "rev-list", head).split())

    def commit_times(self, head: str) -> list[tuple[str, int]]:
        """(sha, committer time) of the inventory commits on `head`'s first-parent line, oldest first."""
        out = git(self.toplevel, "log", "--first-parent", "--reverse", "--format=%H %ct", head,
                  "--", self.pathspec)
        return [(sha, int(t)) for sha, t in (line.split() for line in out.splitlines() if line)]

    @property
    def pathspec(self) -> str:
        return self.prefix or "."

    # ---------------------------------------------------------------- history with changes

    def log(self, revisions: list[str], *, first_parent: bool = True) -> list[LoggedCommit]:
        """Commits of `revisions` (git revision arguments) that changed the inventory, oldest
        first, each with its changed files relative to the inventory directory."""
        args = ["log", "--reverse", "--raw", "-z", "--no-renames", "--no-abbrev", "--root",
                "--diff-merges=first-parent", f"--format={_FORMAT}"]
        if first_parent:
            args.append("--first-parent")
        else:
            args.append("--topo-order")
        out = git(self.toplevel, *args, *revisions, "--", self.pathspec)
        return [self._parse_logged(chunk) for chunk in out.split("\x1e")[1:]]

    def _parse_logged(self, chunk: str) -> LoggedCommit:
        head, _, raw = chunk.rpartition("\x1f")
        sha, parents, an, ae, at, cn, ce, ct, message = head.split("\x1f")
        commit = Commit(sha, tuple(parents.split()), Person(an, ae), int(at), Person(cn, ce), int(ct),
                        message.strip("\n"))
        logged = LoggedCommit(commit)
        tokens = raw.lstrip("\0\n").split("\0")
        for meta, path in zip(tokens[0::2], tokens[1::2]):
            if not meta.startswith(":"):
                continue
            _old_mode, _new_mode, old, new, _status = meta[1:].split(" ")
            rel = self.relative(path)
            if rel is not None:
                logged.changes.append(Change(rel, None if old == _NULL_OID else old,
                                             None if new == _NULL_OID else new))
        return logged

    def relative(self, path: str) -> str | None:
        if not path.startswith(self.prefix):
            return None
        return path[len(self.prefix):]

    def tree(self, commit: str | None) -> dict[str, str]:
        """Every file of the inventory directory at `commit`: relative path -> blob id."""
        if commit is None:
            return {}
        out = git(self.toplevel, "ls-tree", "-r", "-z", "--full-tree", commit, "--", self.pathspec)
        files = {}
        for entry in out.split("\0"):
            if not entry:
                continue
            meta, _, path = entry.partition("\t")
            _mode, kind, oid = meta.split(" ")
            rel = self.relative(path)
            if kind == "blob" and rel is not None:
                files[rel] = oid
        return files

    def read_commit(self, sha: str) -> Commit:
        logged = git(self.toplevel, "log", "-1", "--no-walk", f"--format={_FORMAT}", sha)
        return self._parse_logged(logged.split("\x1e", 1)[1]).commit

    # ---------------------------------------------------------------- blobs

    def blob(self, oid: str) -> bytes:
        """The content of blob `oid`, through the one `git cat-file --batch` of this object."""
        if self._blobs is None:
            self._blobs = _CatFile(self.toplevel)
        return self._blobs.read(oid)

    def text(self, oid: str) -> str:
        return self.blob(oid).decode("utf-8", errors="replace")

    def close(self) -> None:
        if self._blobs is not None:
            self._blobs.close()
            self._blobs = None

    def __enter__(self) -> Repository:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()


class _CatFile:
    """A long-running `git cat-file --batch`: one process for every blob of a run."""

    def __init__(self, cwd: Path):
        self.proc = subprocess.Popen(["git", "-C", str(cwd), "cat-file", "--batch"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def read(self, oid: str) -> bytes:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(oid.encode() + b"\n")
        self.proc.stdin.flush()
        header = self.proc.stdout.readline().decode()
        parts = header.split()
        if len(parts) != 3:
            raise GitError(f"git cat-file: object {oid} is missing ({header.strip()})")
        size = int(parts[2])
        data = self.proc.stdout.read(size)
        self.proc.stdout.read(1)  # the newline after the content
        return data

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait(timeout=10)
        if self.proc.stdout:
            self.proc.stdout.close()
