"""One apply at a time per inventory repository.

The lock is a file created with O_EXCL in the repository's git directory
(`.git/telework/apply.lock`, so it never shows up as an uncommitted change), holding who
took it (pid, host, user, time, commit) as JSON. The holder also keeps an `flock` on it for
as long as it runs, so a lock whose process died is recognised even when the pid was reused.

A lock is *stale* when its process is gone (same host: pid not running, or nobody holds the
flock) or when it is older than `max_age` (another host: its pid cannot be checked). A stale
lock is reported, not silently taken: `--break-lock` removes it, after a person has checked
that no apply runs. In CI, GitLab's `resource_group` serialises the apply jobs across
runners; this lock protects against a person applying by hand next to CI on one machine.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import socket
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from telework.core.problems import TeleworkError
from telework.core.repo import git

LOCK_NAME = "apply.lock"
MAX_AGE = timedelta(hours=6)


class LockHeld(TeleworkError):
    """Another apply holds the lock (or left a stale one behind)."""

    def __init__(self, path: Path, holder: Holder | None, stale_reason: str | None):
        self.path, self.holder, self.stale_reason = path, holder, stale_reason
        who = holder.describe() if holder else "an unreadable lock file"
        if stale_reason:
            message = (f"a stale apply lock is in the way ({stale_reason}): {who}; make sure no "
                       f"apply runs, then rerun with --break-lock (lock file {path})")
        else:
            message = f"another apply is running: {who} (lock file {path})"
        super().__init__(message)


@dataclass(frozen=True)
class Holder:
    pid: int
    host: str
    user: str
    started: str
    commit: str | None = None

    def describe(self) -> str:
        return (f"pid {self.pid} on {self.host}, by {self.user}, since {self.started}"
                + (f", commit {self.commit[:12]}" if self.commit else ""))

    @property
    def started_at(self) -> datetime:
        return datetime.strptime(self.started, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def lock_path(inventory_dir: Path | str) -> Path:
    """`<git dir>/telework/apply.lock` of the inventory's repository (shared by worktrees),
    or `<inventory>/.telework/apply.lock` outside git."""
    directory = Path(inventory_dir).resolve()
    try:
        common = git(directory, "rev-parse", "--git-common-dir")
    except Exception:  # noqa: BLE001 - not a repository, no git
        return directory / ".telework" / LOCK_NAME
    return (directory / common).resolve() / "telework" / LOCK_NAME


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError as exc:
        return exc.errno == errno.EPERM
    return True


def _flock_free(path: Path) -> bool:
    """True when no process holds the lock file's flock (its holder is gone)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return True
    finally:
        os.close(fd)


def stale_reason(holder: Holder | None, path: Path, *, now: datetime | None = None,
                 hostname: str | None = None, max_age: timedelta = MAX_AGE) -> str | None:
    """Why the lock of `holder` is stale, or None when it may still be held."""
    now = now or datetime.now(UTC)
    hostname = hostname or socket.gethostname()
    if holder is None:
        return "the lock file is unreadable" if _flock_free(path) else None
    if holder.host == hostname:
        if not _pid_alive(holder.pid):
            return f"process {holder.pid} on {holder.host} is gone"
        if _flock_free(path):
            return f"process {holder.pid} does not hold the lock any more"
        return None
    try:
        age = now - holder.started_at
    except ValueError:
        return "the lock file has no valid start time"
    if age > max_age:
        return f"it is {int(age.total_seconds() // 3600)} h old (limit {int(max_age.total_seconds() // 3600)} h)"
    return None


def read_holder(path: Path) -> Holder | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Holder(**{k: data[k] for k in Holder.__dataclass_fields__ if k in data})
    except (OSError, ValueError, TypeError):
        return None


class ApplyLock:
    """`with ApplyLock(path, user=…, commit=…):` - raises LockHeld when taken."""

    def __init__(self, path: Path, *, user: str, commit: str | None = None,
                 break_lock: bool = False, max_age: timedelta = MAX_AGE):
        self.path, self.user, self.commit = Path(path), user, commit
        self.break_lock, self.max_age = break_lock, max_age
        self._fd: int | None = None
        self.broken: Holder | None = None  # the holder whose lock --break-lock removed

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                holder = read_holder(self.path)
                reason = stale_reason(holder, self.path, max_age=self.max_age)
                if self.break_lock:
                    self.broken = holder
                    self.path.unlink(missing_ok=True)
                    continue
                raise LockHeld(self.path, holder, reason) from None
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            holder = Holder(pid=os.getpid(), host=socket.gethostname(), user=self.user,
                            started=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                            commit=self.commit)
            os.write(fd, (json.dumps(asdict(holder)) + "\n").encode())
            os.fsync(fd)
            self._fd = fd
            return
        raise LockHeld(self.path, read_holder(self.path), None)

    def release(self) -> None:
        if self._fd is not None:
            try:
                self.path.unlink(missing_ok=True)
            finally:
                os.close(self._fd)  # closing drops the flock
                self._fd = None

    def __enter__(self) -> ApplyLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()
