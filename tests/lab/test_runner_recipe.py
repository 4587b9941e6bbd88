"""The runner recipe works on Debian 12: examples/gitlab-ci/runner/install.sh (what the
Containerfile beside it runs; no container engine runs here) installs the telework wheel of
this tree and the Debian packages the pipeline's jobs use into a fresh Debian 12 root - the
lab's cached minimal bookworm image under a throwaway overlay - run by systemd-nspawn.
Afterwards the root's own telework makes an organisation repository and validates it, and
every program the jobs call is there.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from telework.lab.image import base_image
from telework.resources import example_pipeline_dir

pytestmark = pytest.mark.lab

REPO = Path(__file__).resolve().parents[2]
PIP_CACHE = "/var/cache/telework/pip"
#: what the example pipeline's jobs run besides telework
JOB_PROGRAMS = ("git", "ssh-agent", "ssh-add", "install", "base64", "mktemp")


def _run(argv, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in argv], capture_output=True, text=True, **kw)


@pytest.fixture
def debian12(tmp_path: Path):
    """A fresh Debian 12 root: the lab's base image as the lower layer of an overlay."""
    if os.geteuid() != 0:
        pytest.skip("needs root (overlay mount, systemd-nspawn)")
    lower = base_image(log=lambda *_: None)
    upper, work, root = tmp_path / "upper", tmp_path / "work", tmp_path / "root"
    for d in (upper, work, root):
        d.mkdir()
    mounted = _run(["mount", "-t", "overlay", "overlay", "-o",
                    f"lowerdir={lower},upperdir={upper},workdir={work}", root])
    assert mounted.returncode == 0, mounted.stderr
    try:
        yield root
    finally:
        _run(["umount", "-l", root])


#: this machine's TLS trust (its way to the package registries may pass a proxy of its own CA),
#: handed to pip as a site behind such a proxy would (PIP_CERT)
HOST_CA = "/etc/ssl/certs/ca-certificates.crt"


def _in_root(root: Path, *argv: str, timeout: int = 900) -> subprocess.CompletedProcess:
    return _run(["systemd-nspawn", "-q", "--register=no", "--keep-unit", "-D", root, "--pipe",
                 f"--bind={PIP_CACHE}:/var/cache/pip", "--setenv=PIP_CACHE_DIR=/var/cache/pip",
                 f"--bind-ro={HOST_CA}:/etc/ssl/site-ca.crt", "--setenv=PIP_CERT=/etc/ssl/site-ca.crt",
                 "--setenv=LANG=C.UTF-8", *argv], timeout=timeout)


def test_install_sh_makes_a_working_runner_on_debian_12(debian12: Path, tmp_path: Path):
    dist = tmp_path / "dist"
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", dist, REPO],
                 env={**os.environ, "PIP_CACHE_DIR": PIP_CACHE}, timeout=600)
    assert built.returncode == 0, built.stderr[-3000:]
    [wheel] = dist.glob("telework-*.whl")
    stage = debian12 / "srv" / "telework-install"  # nspawn puts a tmpfs on /tmp
    (stage / "dist").mkdir(parents=True)
    (stage / "dist" / wheel.name).write_bytes(wheel.read_bytes())
    (stage / "install.sh").write_text((example_pipeline_dir() / "runner" / "install.sh").read_text())

    installed = _in_root(debian12, "/bin/sh", "/srv/telework-install/install.sh",
                         f"/srv/telework-install/dist/{wheel.name}")
    assert installed.returncode == 0, installed.stdout[-3000:] + installed.stderr[-3000:]
    assert "telework, version" in installed.stdout

    check = ("set -e; for p in " + " ".join(JOB_PROGRAMS) + "; do command -v $p >/dev/null || "
             "{ echo missing $p; exit 1; }; done; cd /tmp && telework init gruenfelden city >/dev/null && "
             "telework validate city/inventory && python3 -c 'import sys; print(sys.version_info[:2])'")
    used = _in_root(debian12, "/bin/sh", "-c", check)
    assert used.returncode == 0, used.stdout[-3000:] + used.stderr[-3000:]
    assert "0 error(s)" in used.stdout and "(3, 11)" in used.stdout
    assert not (debian12 / "root" / ".config" / "telework").exists()
