"""The cached base rootfs every lab host boots from (read-only lower layer of its overlay).

Built once with debootstrap from the machine's own apt mirror and keyed by suite, mirror and
package list, so a changed list builds a new image and an unchanged one is reused in seconds.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from pathlib import Path

from telework.lab.errors import LabError

CACHE_DIR = Path("/var/cache/telework/lab")
SUITE = "bookworm"

#: What a lab host needs to boot with systemd and be bootstrapped by pyinfra over SSH.
PACKAGES: tuple[str, ...] = (
    "systemd", "systemd-sysv", "dbus", "openssh-server", "python3", "iproute2",
    "python3-apt", "sudo", "ca-certificates", "iputils-ping", "procps",
)

#: Units that only add noise or load in a container (timers firing apt/man-db work, getty on no tty).
MASKED_UNITS: tuple[str, ...] = (
    "apt-daily.timer", "apt-daily-upgrade.timer", "man-db.timer", "e2scrub_all.timer",
    "fstrim.timer", "systemd-tmpfiles-clean.timer", "getty@tty1.service", "console-getty.service",
    "systemd-networkd-wait-online.service", "systemd-timesyncd.service", "systemd-resolved.service",
)


def apt_mirror(sources_dir: Path = Path("/etc/apt")) -> str:
    """The first Debian (non-security) URI this machine's apt uses: the only registry we may reach."""
    texts = [p.read_text() for p in sorted((sources_dir / "sources.list.d").glob("*.sources"))]
    for text in texts:
        for uri in re.findall(r"^URIs:\s*(\S+)", text, re.M):
            if "security" not in uri:
                return uri
    legacy = sources_dir / "sources.list"
    if legacy.exists():
        for uri in re.findall(r"^deb\s+(?:\[[^]]*\]\s+)?(\S+)", legacy.read_text(), re.M):
            if "security" not in uri:
                return uri
    return "http://deb.debian.org/debian"


#: Bump when `_prepare` changes, so cached images get rebuilt.
PREPARE_VERSION = "2"


def image_key(mirror: str, packages: tuple[str, ...] = PACKAGES, masked: tuple[str, ...] = MASKED_UNITS) -> str:
    """Short hash of everything that shapes the image content."""
    text = "\n".join([SUITE, mirror, *sorted(packages), "mask:", *sorted(masked), PREPARE_VERSION])
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def base_image(log=print) -> Path:
    """Return the cached base rootfs, building it first if needed (about a minute)."""
    mirror = apt_mirror()
    root = CACHE_DIR / f"base-{SUITE}-{image_key(mirror)}"
    if (root / ".telework-complete").exists():
        return root
    building = root.with_name(root.name + ".building")
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir(parents=True)
    log(f"building base image {root.name} from {mirror} (once; cached afterwards)")
    proc = subprocess.run(
        ["debootstrap", "--variant=minbase", f"--include={','.join(PACKAGES)}", SUITE, str(building), mirror],
        capture_output=True, text=True,
    )
    if proc.returncode != 0:
        raise LabError(f"debootstrap failed ({proc.returncode}): {proc.stdout[-1500:]}{proc.stderr[-1500:]}")
    _prepare(building)
    shutil.rmtree(root, ignore_errors=True)
    building.rename(root)
    (root / ".telework-complete").write_text(image_key(mirror) + "\n")
    return root


def _prepare(rootfs: Path) -> None:
    """Make the image boot quietly: ssh enabled, noisy units masked, no host keys baked in."""
    for unit in MASKED_UNITS:
        (rootfs / "etc/systemd/system" / unit).unlink(missing_ok=True)
        (rootfs / "etc/systemd/system" / unit).symlink_to("/dev/null")
    wants = rootfs / "etc/systemd/system/multi-user.target.wants"
    wants.mkdir(parents=True, exist_ok=True)
    (wants / "ssh.service").unlink(missing_ok=True)
    (wants / "ssh.service").symlink_to("/lib/systemd/system/ssh.service")
    for key in (rootfs / "etc/ssh").glob("ssh_host_*"):
        key.unlink()  # each host gets its own keys in its overlay
    (rootfs / "etc/machine-id").write_text("")  # systemd generates one per boot
    # Every package is installed and configured already: mark /etc and /var up to date, so the
    # ConditionNeedsUpdate units (systemd-sysusers, ldconfig, …) do not run at each boot (they
    # raced and failed now and then, leaving the host "degraded").
    usr_mtime_ns = (rootfs / "usr").stat().st_mtime_ns
    for stamp in (rootfs / "etc/.updated", rootfs / "var/.updated"):
        stamp.write_text(f"# managed by telework lab\nTIMESTAMP_NSEC={usr_mtime_ns}\n")
        os.utime(stamp, ns=(usr_mtime_ns, usr_mtime_ns))
    # apt's cleanup inside the image, not needed at runtime
    shutil.rmtree(rootfs / "var/cache/apt/archives", ignore_errors=True)
    (rootfs / "var/cache/apt/archives/partial").mkdir(parents=True, exist_ok=True)
