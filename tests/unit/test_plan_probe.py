"""telework's read-only probe (the plan account's only program), run here on this machine: it
runs what a plan sends (a batch of fact commands) and refuses everything else before it runs."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from pyinfra.facts.files import FileContents

from telework.engine.deploy_support import render_template
from telework.engine.facts.batch import Batch
from telework.engine.facts.files import PathStates
from telework.engine.facts.nftables import NftTableLoaded, SshClientAddress
from telework.engine.facts.packages import PackageStates
from telework.engine.facts.systemd import UnitStates
from telework.roles.base.probe import probe_templates


@pytest.fixture(scope="module")
def probe(tmp_path_factory):
    path = tmp_path_factory.mktemp("probe") / "telework-probe"
    path.write_text(render_template("base", "/usr/local/lib/telework/telework-probe", header="# test",
                                    plan_user="telework-plan", templates=probe_templates()))
    return path


def ask(probe, script: str | None, raw: str | None = None) -> subprocess.CompletedProcess:
    command = raw if raw is not None else f"sh -c {shlex.quote(script)}"
    return subprocess.run([sys.executable, str(probe)], capture_output=True, text=True, timeout=60,
                          env={"PATH": os.environ["PATH"], "SSH_ORIGINAL_COMMAND": command})


def batch(*requests) -> str:
    return Batch().command(parts=tuple(cls().command(**kw) for cls, kw in requests), nonce="0123456789abcdef")


def test_a_plan_batch_runs(probe, tmp_path):
    (tmp_path / "f").write_text("x\n")
    script = batch(PathStates.ask(str(tmp_path), "/etc/timezone"), PackageStates.ask("tzdata", "nftables"),
                   UnitStates.ask("ssh"), (NftTableLoaded, {"family": "inet", "table": "telework"}),
                   (SshClientAddress, {}))
    done = ask(probe, script)
    assert done.returncode == 0, done.stderr
    assert "@@0123456789abcdef 4" in done.stdout and str(tmp_path / "f") in done.stdout


def test_one_fact_alone_runs(probe):
    done = ask(probe, PackageStates().command(packages=("tzdata",)))
    assert done.returncode == 0, done.stderr


def test_a_world_readable_file_is_read_a_private_one_is_not(probe):
    """The old text of a managed file (for a plan's diff) is read when anyone on the host could
    read it; a secret file (0600, or in a directory only root may enter) is refused."""
    with tempfile.TemporaryDirectory(dir="/tmp") as directory:  # pytest's tmp root is 0700
        _read_checks(probe, Path(directory))


def _read_checks(probe, tmp_path: Path) -> None:
    tmp_path.chmod(0o755)
    public, private = tmp_path / "public.conf", tmp_path / "private.key"
    public.write_text("listen 1812\n")
    private.write_text("SECRET\n")
    public.chmod(0o644)
    private.chmod(0o600)
    done = ask(probe, str(FileContents().command(path=str(public))))
    assert done.returncode == 0 and done.stdout == "listen 1812\n", done.stderr
    assert ask(probe, str(FileContents().command(path=str(tmp_path / "absent")))).returncode == 0
    refused = ask(probe, str(FileContents().command(path=str(private))))
    assert refused.returncode == 126 and "SECRET" not in refused.stdout
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o700)
    (locked / "public.conf").write_text("x\n")
    (locked / "public.conf").chmod(0o644)
    assert ask(probe, str(FileContents().command(path=str(locked / "public.conf")))).returncode == 126


@pytest.mark.parametrize(("what", "script", "raw"), [
    ("a write", "touch /tmp/telework-probe-test", None),
    ("no command (a shell)", None, ""),
    ("not sh -c", None, "touch /tmp/telework-probe-test"),
    ("sh -c with more", None, "sh -c true; touch /tmp/telework-probe-test"),
    ("a write after a fact", UnitStates().command(units=("ssh",)) + "; touch /tmp/telework-probe-test", None),
    ("a name with shell in it", UnitStates().command(units=("ssh$(touch /tmp/telework-probe-test)",)), None),
    ("a path that is an option", PathStates().command(roots=("-delete",)), None),
    ("a batch with an extra command", batch(UnitStates.ask("ssh")) + "; touch /tmp/telework-probe-test", None),
    ("a batch with a foreign part", Batch().command(parts=(UnitStates().command(units=("ssh",)),
                                                           "touch /tmp/telework-probe-test"), nonce="0123456789abcdef"),
     None),
])
def test_everything_else_is_refused_before_it_runs(probe, what, script, raw):
    done = ask(probe, script, raw)
    assert done.returncode == 126, (what, done.stdout, done.stderr)
    assert "telework-probe: refused" in done.stderr
    assert not os.path.exists("/tmp/telework-probe-test")
