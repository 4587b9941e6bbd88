"""telework as a city installs it: a wheel in a fresh venv, used outside any checkout.

The wheel is built from this tree, installed into a new virtualenv in a temporary directory
(no source tree on sys.path, not editable), and that installation alone makes an organisation
repository (`telework init`), validates it, plans, applies and plans again against a lab host,
and runs the host's Testinfra suites - so deploy files, templates, group data and suites must
all come from the package.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .test_plan import commit_all, git

pytestmark = pytest.mark.lab

REPO = Path(__file__).resolve().parents[2]
PIP_CACHE = "/var/cache/telework/pip"
HOST = "linux-001"


def _run(argv, cwd, env=None, timeout=900) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """bin/ of a fresh venv with the wheel of this tree installed."""
    base = tmp_path_factory.mktemp("wheel")
    dist, venv = base / "dist", base / "venv"
    env = {**os.environ, "PIP_CACHE_DIR": PIP_CACHE}
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", dist, REPO], cwd=base, env=env)
    assert built.returncode == 0, built.stderr[-3000:]
    [wheel] = dist.glob("telework-*.whl")
    assert _run([sys.executable, "-m", "venv", venv], cwd=base).returncode == 0
    done = _run([venv / "bin" / "pip", "install", "-q", "--disable-pip-version-check", wheel], cwd=base, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    return venv / "bin"


def test_the_wheel_carries_every_runtime_file(installed, tmp_path):
    code = ("import telework, telework.resources as r; "
            "print(telework.__file__); "
            "print(r.site_deploy(), r.templates_dir() / 'base', r.group_data_dir() / 'all.py', "
            "r.host_suites_dir() / 'test_base.py', r.sample_inventory() / 'organisation.yml', "
            "r.example_pipeline_dir() / '.gitlab-ci.yml', sep='\\n')")
    done = _run([installed / "python", "-c", code], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    module, *paths = done.stdout.split()
    assert module.startswith(str(installed.parent)) and str(REPO) not in done.stdout
    assert all(Path(p).exists() for p in paths), paths


def test_an_installed_telework_inits_validates_plans_applies_and_verifies(lab, installed, tmp_path):
    """The sample's slug, so the organisation is the lab's; only linux-001 is touched."""
    repo = tmp_path / "city"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(TELEWORK_OVERLAY=str(lab.overlay_file), PYINFRA_PROGRESS="off")
    telework = lambda *args, **kw: _run([installed / "telework", *args], cwd=tmp_path, env=env, **kw)  # noqa: E731
    made = telework("init", "gruenfelden", repo)
    assert made.returncode == 0, made.stderr
    assert (repo / ".gitlab-ci.yml").is_file() and (repo / "schema" / "inventory.schema.json").is_file()
    inventory = repo / "inventory"
    commit_all(inventory, "the city from the telework sample")
    assert telework("validate", inventory).returncode == 0
    first = telework("plan", inventory, "--limit", HOST)
    assert first.returncode in (0, 2), first.stdout + first.stderr
    applied = telework("apply", inventory, "--limit", HOST)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    again = telework("plan", inventory, "--limit", HOST)
    assert again.returncode == 0, again.stdout + again.stderr
    verified = telework("verify", inventory, "--limit", HOST, "-n", "0")
    assert verified.returncode == 0, verified.stdout[-3000:] + verified.stderr[-2000:]
    assert "passed" in verified.stdout and str(REPO) not in verified.stdout
    assert git(repo, "notes", "--ref=refs/notes/telework/runs", "list").strip()  # the run record
