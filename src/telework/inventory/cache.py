"""A loaded inventory kept on disk, keyed by everything it was made from.

Loading and validating the sample city (750 people) costs about 0.15 s of CPU on every
command, most of it pydantic building and running its validators. The result is pickled into
the user's cache directory, under a key that covers every input: the content of every file
in the inventory directory (only the names of the age-encrypted secrets: loading reads no
secret), and the code that turns them into a model (telework's inventory and IPAM modules,
pydantic's version). Any change to any of them is a cache miss, so a cached load can never
differ from a fresh one.

The cache holds pickles, which run code when loaded: it is used only when its directory
belongs to the user and nobody else may write it. `TELEWORK_INVENTORY_CACHE=0` switches it
off; a CI job of a fresh clone never finds one anyway.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import stat
from collections.abc import Callable
from pathlib import Path

from telework import __version__
from telework.core.atomicfile import write_atomic

CACHE_ENV = "TELEWORK_INVENTORY_CACHE"
#: bump when the pickled objects change shape in a way the code digest does not show
FORMAT = 1
#: entries kept (one per inventory directory), the least recently written go first
KEEP = 32
#: the packages whose code decides what a loaded inventory holds
_CODE_PACKAGES = ("telework.inventory", "telework.ipam")
_SKIP_DIRS = {".git", "__pycache__"}


def cache_dir() -> Path:
    """$TELEWORK_INVENTORY_CACHE (a directory), else $XDG_CACHE_HOME/telework/inventories."""
    configured = os.environ.get(CACHE_ENV)
    if configured and configured not in ("0", "1"):
        return Path(configured)
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "telework" / "inventories"


def enabled() -> bool:
    return os.environ.get(CACHE_ENV) != "0"


def _code_digest() -> str:
    import importlib

    import pydantic

    digest = hashlib.sha256(f"{FORMAT} {__version__} {pydantic.VERSION}".encode())
    for package in _CODE_PACKAGES:
        directory = Path(importlib.import_module(package).__file__).parent
        for path in sorted(directory.glob("*.py")):
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def inputs_digest(root: Path) -> str:
    """sha256 over what a load of `root` can depend on (see the module docstring); the paths in
    the result are as `root` was given (relative ones to the working directory)."""
    digest = hashlib.sha256(f"{_code_digest()}\0{root}\0{root.resolve()}\0{os.getcwd()}".encode())
    root = root.resolve()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS)
        rel_dir = os.path.relpath(dirpath, root)
        secrets = rel_dir.split(os.sep)[0] == "secrets"
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            digest.update(os.path.join(rel_dir, name).encode() + b"\0")
            if os.path.islink(path):
                # a link is keyed by where it points, never opened: one leading out of the
                # inventory is refused by the loader without being read (inventory.source)
                digest.update(b"link\0" + os.readlink(path).encode(errors="surrogateescape"))
            elif not secrets:
                try:
                    with open(path, "rb") as f:
                        digest.update(hashlib.sha256(f.read()).digest())
                except OSError:
                    digest.update(b"unreadable")
    return digest.hexdigest()


def _trusted(directory: Path) -> bool:
    """Only a directory of this user that no one else can write holds pickles worth loading."""
    try:
        info = directory.stat()
    except OSError:
        return False
    return info.st_uid == os.getuid() and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def load(root: Path, build: Callable[[], object]):
    """The loaded inventory of `root`: from the cache when its inputs are unchanged, else
    `build()`, stored for the next time. Never fails because of the cache."""
    if not enabled():
        return build()
    directory = cache_dir()
    key = inputs_digest(root)
    entry = directory / f"{hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:20]}.pickle"
    if _trusted(directory):
        try:
            with open(entry, "rb") as f:
                stored_key, loaded = pickle.load(f)
            if stored_key == key:
                return loaded
        except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError, ValueError, TypeError):
            pass
    loaded = build()
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        if _trusted(directory):
            write_atomic(entry, pickle.dumps((key, loaded), protocol=pickle.HIGHEST_PROTOCOL), mode=0o600)
            _prune(directory)
    except (OSError, pickle.PicklingError, TypeError, AttributeError):
        pass  # a cache that cannot be written is no cache, not an error
    return loaded


def _prune(directory: Path) -> None:
    entries = sorted(directory.glob("*.pickle"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in entries[KEEP:]:
        old.unlink(missing_ok=True)
