"""Fixtures of the VPN identity tests (pki, enrolment): the sample city with a throwaway identity."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from telework.secrets.store import SecretStore

from ..conftest import SAMPLE


@pytest.fixture
def sample(tmp_path: Path, monkeypatch) -> Path:
    """A writable copy of the sample city with a throwaway age identity (never the tester's)."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("TELEWORK_AGE_IDENTITY", str(tmp_path / "ops-identity.txt"))
    target = tmp_path / "gruenfelden"
    shutil.copytree(SAMPLE, target)
    SecretStore(target).init_identity(comment="Ops test")
    return target


@pytest.fixture
def store(sample: Path) -> SecretStore:
    return SecretStore(sample)
