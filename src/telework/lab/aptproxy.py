"""apt-cacher-ng on the controller's management address, started by the lab itself (the
controller has no systemd), caching under /var/cache/telework so reruns are fast."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

from telework.lab.errors import LabError
from telework.lab.image import apt_mirror
from telework.lab.state import LabState, lab_dir

CACHE = Path("/var/cache/telework/apt-cacher-ng")
PORT = 3142


def write_config(confdir: Path, logdir: Path, bind_address: str, mirror: str) -> None:
    """The lab's own config: Debian requests go to this machine's mirror (the package's default
    backend, ftp.debian.org, is not reachable here)."""
    confdir.mkdir(parents=True, exist_ok=True)
    (confdir / "backends_debian").write_text(mirror.rstrip("/") + "/\n")
    (confdir / "acng.conf").write_text(
        "# managed by telework lab\n"
        f"CacheDir: {CACHE}\nLogDir: {logdir}\nSupportDir: /usr/lib/apt-cacher-ng\n"
        f"Port: {PORT}\nBindAddress: {bind_address}\n"
        f"PidFile: {logdir}/pid\nSocketPath: {logdir}/socket\n"
        "Remap-debrep: file:deb_mirror*.gz /debian ; file:backends_debian\n"
        "Remap-secdeb: security.debian.org deb.debian.org/debian-security /debian-security ; "
        "deb.debian.org/debian-security\n"
        "ExThreshold: 30\nForeGround: 1\n"
    )


def _answers(address: str) -> bool:
    try:
        socket.create_connection((address, PORT), timeout=1).close()
        return True
    except OSError:
        return False


def start(state: LabState, bind_address: str) -> int:
    """Start the lab's apt-cacher-ng on the controller's management address; return its pid."""
    if _answers(bind_address):
        raise LabError(f"port {PORT} on {bind_address} is taken by another program, e.g. the package's own "
                       "apt-cacher-ng daemon (stop it: `service apt-cacher-ng stop`); the lab runs its own")
    CACHE.mkdir(parents=True, exist_ok=True)
    logdir = lab_dir(state.slug) / "apt-cacher-ng"
    confdir = logdir / "conf"
    write_config(confdir, logdir, bind_address, apt_mirror())
    proc = subprocess.Popen(
        ["apt-cacher-ng", "-c", str(confdir)],
        stdout=open(logdir / "stdout.log", "ab"), stderr=subprocess.STDOUT, start_new_session=True,
    )
    state.record_pid("apt-cacher-ng", proc.pid)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if _answers(bind_address):
            return proc.pid
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    raise LabError(f"apt-cacher-ng did not listen on {bind_address}:{PORT}; see {logdir}/stdout.log")
