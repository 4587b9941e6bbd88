"""Files, directories and links decided from one remembered listing (telework.engine.facts.batch).

pyinfra's `files.put` asks three facts per file (`File`, `Directory`, `Sha1File`), each a
remote command, on every plan and again on every apply. These operations read the state of
their path from a `PathStates` listing the role prefetched in one command, and write through
a temporary file that has its final mode and owner before a byte lands in it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from io import BytesIO
from pathlib import Path

from pyinfra import host
from pyinfra.api import FileUploadCommand, OperationError, QuoteString, StringCommand, operation
from pyinfra.facts.files import FileContents

from telework.engine.adapter import color_diff
from telework.engine.facts.batch import fact
from telework.engine.facts.files import path_state
from telework.engine.operations.digests import digest

logger = logging.getLogger("pyinfra")


def write_commands(path: str, data: bytes, mode: str, user: str, group: str):
    """Commands that replace `path` by `data` atomically: a temporary file created (with any
    missing parent directories) with the final mode and owner, the upload, a rename."""
    tmp = f"{path}.telework-new"
    yield StringCommand("install", "-D", "-m", mode, "-o", user, "-g", group, "/dev/null", QuoteString(tmp))
    yield FileUploadCommand(BytesIO(data), tmp)
    yield StringCommand("mv", "-f", QuoteString(tmp), QuoteString(path))


def owner_commands(path: str, state: dict, mode: str, user: str, group: str):
    """chmod/chown of `path` where `state` differs from `mode`, `user`, `group`."""
    if state["mode"] != int(mode):
        yield StringCommand("chmod", mode, QuoteString(path))
    if (state["user"], state["group"]) != (user, group):
        yield StringCommand("chown", f"{user}:{group}", QuoteString(path))


def _expect(path: str, state: dict | None, kind: str) -> None:
    if state is not None and state["type"] != kind:
        raise OperationError(f"{path} exists and is a {state['type']}, not a {kind}; "
                             f"move it away by hand, telework will not replace it")


def _file_bytes(content: str | bytes | None, src: str | Path | None) -> bytes:
    if (content is None) == (src is None):
        raise TypeError("give exactly one of content= and src=")
    if src is not None:
        return Path(src).read_bytes()
    return content.encode() if isinstance(content, str) else content


def _log_diff(path: str, old_exists: bool, data: bytes) -> None:
    """pyinfra's `--diff` output for a text file: a "Will create/modify" line, then the diff."""
    host.log(f"Will {'modify' if old_exists else 'create'} {path}", logger.info)
    if not host.state.config.DIFF:
        return
    try:
        desired = data.decode().splitlines(keepends=True)
    except UnicodeDecodeError:
        logger.info("  binary file, not shown")
        return
    current = [line + "\n" for line in (fact(FileContents, path=path) or [])] if old_exists else []
    for line in color_diff(current, desired):
        logger.info("  %s", line)


def converge_file(path: str, data: bytes, mode: str, user: str, group: str, what: str,
                  announce_write: Callable[[bool], None]):
    """The commands that make `path` hold `data` with `mode` and owner: none when all match,
    chmod/chown when only those differ, else an atomic write (`write_commands`).
    `announce_write(existed)` logs the write the way the caller may show it (a diff, or not)."""
    state = path_state(path)
    _expect(path, state, "file")
    if state is not None and state["sha256"] == digest(data):
        changes = list(owner_commands(path, state, mode, user, group))
        if not changes:
            host.noop(f"{what} {path} is up to date")
            return
        host.log(f"{path}: mode/owner {state['mode']} {state['user']}:{state['group']} -> {mode} {user}:{group}")
        yield from changes
        return
    announce_write(state is not None)
    yield from write_commands(path, data, mode, user, group)


@operation()
def put(dest: str, content: str | bytes | None = None, src: str | Path | None = None, mode: str = "644",
        user: str = "root", group: str = "root"):
    """Make `dest` a regular file holding `content` (or the bytes of the local file `src`).

    + dest: the remote path; missing parent directories are created (0755, root)
    + content / src: the text or bytes, or a local file to copy (give one)
    + mode: octal mode as a string
    + user, group: owner

    Shows a diff with `--diff`; never use it for secrets (see `secret_file`).
    """
    data = _file_bytes(content, src)
    yield from converge_file(dest, data, mode, user, group, "file",
                             lambda existed: _log_diff(dest, existed, data))


@operation()
def directory(path: str, mode: str = "755", user: str = "root", group: str = "root"):
    """Make `path` a directory with `mode`, `user` and `group` (parents created as needed)."""
    state = path_state(path)
    _expect(path, state, "directory")
    if state is None:
        yield StringCommand("install", "-d", "-m", mode, "-o", user, "-g", group, QuoteString(path))
        return
    changes = list(owner_commands(path, state, mode, user, group))
    if not changes:
        host.noop(f"directory {path} exists")
        return
    yield from changes


@operation()
def link(path: str, target: str):
    """Make `path` a symbolic link to `target` (replacing a regular file or another link)."""
    state = path_state(path)
    if state is not None and state["type"] == "directory":
        raise OperationError(f"{path} is a directory; telework will not replace it by a link")
    if state is not None and state["type"] == "link" and state["target"] == target:
        host.noop(f"link {path} -> {target} exists")
        return
    host.log(f"{path}: link to {target}" + (f" (was {state['target'] or 'a file'})" if state else ""))
    yield StringCommand("ln", "-sfn", QuoteString(target), QuoteString(path))


@operation()
def absent(path: str):
    """Remove the file or link `path` if it exists (never a directory)."""
    state = path_state(path)
    if state is None:
        host.noop(f"{path} does not exist")
        return
    if state["type"] == "directory":
        raise OperationError(f"{path} is a directory; telework removes only files and links")
    yield StringCommand("rm", "-f", QuoteString(path))
