"""Shared fixtures: paths of the repository, the sample and the minimal test inventory."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

# Tests load inventories they change, patch and throw away: the on-disk cache of loaded
# inventories (telework.inventory.cache) stays off, for them and for the commands they run;
# tests/unit/test_inventory_cache.py switches it on for itself.
os.environ.setdefault("TELEWORK_INVENTORY_CACHE", "0")

#: the session `lab` fixture (real hosts) for tests/lab and tests/hosts
pytest_plugins = ["telework.lab.pytest_plugin"]

REPO = Path(__file__).resolve().parent.parent
MINIMAL = REPO / "tests" / "fixtures" / "minimal"
SAMPLE = REPO / "inventory" / "sample"


@pytest.fixture
def minimal_copy(tmp_path: Path) -> Path:
    """A writable copy of the minimal valid inventory."""
    target = tmp_path / "inv"
    shutil.copytree(MINIMAL, target)
    return target


def edit(path: Path, old: str, new: str) -> None:
    """Replace one exact occurrence of `old` in a file (fails loudly if it is not there once)."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")
