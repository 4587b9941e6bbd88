"""The git state of an inventory: which commit a plan or apply ran from, and whether the
inventory directory holds changes that are not committed (then no commit describes it)."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class RepoState:
    toplevel: Path | None  # None: the inventory is not in a git repository
    commit: str | None
    dirty: bool
    changes: tuple[str, ...] = ()  # `git status --porcelain` lines of the inventory directory


def git(directory: Path | str, *args: str, check: bool = True) -> str:
    done = subprocess.run(["git", "-C", str(directory), *args], capture_output=True, text=True)
    if check and done.returncode != 0:
        raise subprocess.CalledProcessError(done.returncode, ["git", *args], done.stdout, done.stderr)
    return done.stdout.strip()


def repo_state(inventory_dir: Path | str) -> RepoState:
    """Commit and cleanliness of the inventory directory (only its own files count: an
    inventory inside a bigger repository is not dirty because of files elsewhere)."""
    directory = Path(inventory_dir).resolve()
    try:  # one call for both: a repository without commits prints the toplevel, then fails on HEAD
        found = subprocess.run(["git", "-C", str(directory), "rev-parse", "--show-toplevel", "HEAD"],
                               capture_output=True, text=True)
    except OSError:
        return RepoState(None, None, True)
    lines = found.stdout.split()
    if not lines:
        return RepoState(None, None, True)
    top, commit = lines[0], (lines[1] if found.returncode == 0 and len(lines) > 1 else None)
    status = git(directory, "status", "--porcelain", "--untracked-files=all", "--", ".")
    lines = tuple(line for line in status.splitlines() if line.strip())
    return RepoState(Path(top), commit, bool(lines), lines)
