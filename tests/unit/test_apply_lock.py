"""The apply lock: one apply at a time; stale locks are recognised and reported, not taken."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from telework.apply.lock import ApplyLock, Holder, LockHeld, lock_path, read_holder, stale_reason


def test_lock_lives_in_the_git_dir(tmp_path: Path):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "inv").mkdir()
    assert lock_path(tmp_path / "inv") == (tmp_path / ".git" / "telework" / "apply.lock").resolve()


def test_lock_outside_git(tmp_path: Path):
    assert lock_path(tmp_path) == tmp_path.resolve() / ".telework" / "apply.lock"


def test_second_apply_is_refused_and_told_who(tmp_path: Path):
    path = tmp_path / "apply.lock"
    with ApplyLock(path, user="ops-a", commit="abc" * 13 + "a"):
        holder = read_holder(path)
        assert holder.user == "ops-a" and holder.host == socket.gethostname()
        with pytest.raises(LockHeld, match=r"another apply is running: pid \d+ on .*by ops-a") as info:
            ApplyLock(path, user="ops-b").acquire()
        assert info.value.stale_reason is None
    assert not path.exists()
    with ApplyLock(path, user="ops-b"):  # free again
        pass


def test_lock_of_a_dead_process_is_stale(tmp_path: Path):
    path = tmp_path / "apply.lock"
    # a process that takes the lock and dies without releasing it
    code = ("import os; from telework.apply.lock import ApplyLock; "
            f"ApplyLock(__import__('pathlib').Path({str(path)!r}), user='gone').acquire(); os._exit(0)")
    subprocess.run([sys.executable, "-c", code], check=True)
    assert path.exists()
    with pytest.raises(LockHeld, match=r"a stale apply lock is in the way \(process \d+ on .* is gone\)"):
        ApplyLock(path, user="ops").acquire()
    lock = ApplyLock(path, user="ops", break_lock=True)
    with lock:
        assert lock.broken.user == "gone"
        assert read_holder(path).user == "ops"


def test_stale_by_age_on_another_host(tmp_path: Path):
    path = tmp_path / "apply.lock"
    now = datetime(2026, 1, 1, 12, tzinfo=UTC)
    young = Holder(1, "runner-7", "ci", (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"))
    old = Holder(1, "runner-7", "ci", (now - timedelta(hours=7)).strftime("%Y-%m-%dT%H:%M:%SZ"))
    assert stale_reason(young, path, now=now, hostname="here") is None
    assert stale_reason(old, path, now=now, hostname="here") == "it is 7 h old (limit 6 h)"


def test_unreadable_lock_file(tmp_path: Path):
    path = tmp_path / "apply.lock"
    path.write_text("garbage")
    with pytest.raises(LockHeld, match="stale .*unreadable"):
        ApplyLock(path, user="ops").acquire()


def test_lock_file_is_json(tmp_path: Path):
    path = tmp_path / "apply.lock"
    with ApplyLock(path, user="ops", commit="c" * 40):
        data = json.loads(path.read_text())
    assert set(data) == {"pid", "host", "user", "started", "commit"}
