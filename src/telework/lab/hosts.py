"""Lab hosts: an overlayfs over the base image per host, prepared before boot (host keys, lab
key, apt proxy), then `systemd-nspawn --boot` inside the host's network namespace."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from telework.lab.errors import LabError
from telework.lab.network import run
from telework.lab.state import LabState, lab_dir
from telework.lab.topology import LabHost, Topology


def host_dir(slug: str, name: str) -> Path:
    return lab_dir(slug) / "hosts" / name


def lab_key(slug: str) -> Path:
    """The lab's SSH key (made once per lab directory)."""
    key = lab_dir(slug) / "id_ed25519"
    if not key.exists():
        key.parent.mkdir(parents=True, exist_ok=True)
        run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"telework-lab-{slug}", "-f", str(key))
    return key


def mount_overlay(state: LabState, base: Path, host: LabHost) -> Path:
    d = host_dir(state.slug, host.name)
    shutil.rmtree(d, ignore_errors=True)  # a fresh host every `up`, like a new VM
    for sub in ("upper", "work", "merged"):
        (d / sub).mkdir(parents=True)
    merged = d / "merged"
    state.record("mounts", str(merged))
    run("mount", "-t", "overlay", f"tw-{state.slug}-{host.name}", "-o",
        f"lowerdir={base},upperdir={d / 'upper'},workdir={d / 'work'}", str(merged))
    return merged


def prepare(topo: Topology, host: LabHost, root: Path, known_hosts: list[str]) -> None:
    """Identity and access of one host, written before boot so known_hosts is exact."""
    (root / "etc/hostname").write_text(host.name + "\n")
    (root / "etc/hosts").write_text(f"127.0.0.1 localhost\n127.0.1.1 {host.name}\n")
    key = root / "etc/ssh/ssh_host_ed25519_key"
    run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"root@{host.name}", "-f", str(key))
    (root / "etc/ssh/sshd_config.d/telework-lab.conf").write_text(
        "# managed by telework lab\nHostKey /etc/ssh/ssh_host_ed25519_key\nUseDNS no\n")
    key_type, key_b64 = key.with_suffix(".pub").read_text().split()[:2]
    known_hosts.append(f"{host.management_address} {key_type} {key_b64}")
    ssh = root / "root/.ssh"
    ssh.mkdir(mode=0o700, parents=True, exist_ok=True)
    (ssh / "authorized_keys").write_text((lab_dir(topo.slug) / "id_ed25519.pub").read_text())
    os.chmod(ssh / "authorized_keys", 0o600)
    (root / "etc/apt/apt.conf.d/01telework-lab-proxy").write_text(
        f'# managed by telework lab: the lab\'s own apt-cacher-ng\nAcquire::http::Proxy "{topo.apt_proxy_url}";\n')


#: Hierarchies systemd inside a container writes to (cgroup v1 hybrid here: name=systemd + unified).
CGROUP_HIERARCHIES = (Path("/sys/fs/cgroup/systemd"), Path("/sys/fs/cgroup/unified"), Path("/sys/fs/cgroup"))


def own_cgroups(state: LabState, host: LabHost) -> list[Path]:
    """A cgroup per host: without one, every container's systemd shares the controller's cgroup
    and they race building init.scope/system.slice there (units failing with 219/CGROUP)."""
    made = []
    for hierarchy in CGROUP_HIERARCHIES:
        if not (hierarchy / "cgroup.procs").exists():
            continue
        group = hierarchy / host.netns
        state.record("cgroups", str(group))
        group.mkdir(exist_ok=True)
        made.append(group)
    return made


def remove_cgroup(path: str) -> None:
    """Remove a recorded cgroup and the sub-groups the container's systemd made in it."""
    if not os.path.isdir(path):
        return
    for dirpath, _dirs, _files in sorted(os.walk(path), key=lambda w: -w[0].count("/")):
        try:
            os.rmdir(dirpath)
        except OSError:
            pass


def boot(state: LabState, host: LabHost, root: Path) -> int:
    log = open(host_dir(state.slug, host.name) / "console.log", "ab")
    groups = own_cgroups(state, host)

    def enter_own_cgroups() -> None:
        for group in groups:
            (group / "cgroup.procs").write_text("0")

    # A host owns its network namespace as a VM owns its kernel's network stack: VPN
    # concentrators create tun/WireGuard links, load nftables and switch on forwarding. nspawn
    # grants neither CAP_NET_ADMIN nor a writable /proc/sys/net for a namespace it is only
    # handed (--network-namespace-path), so ask for both.
    proc = subprocess.Popen(
        ["systemd-nspawn", "-q", "-D", str(root), "--boot", "--register=no", "--keep-unit",
         f"--network-namespace-path=/run/netns/{host.netns}", f"--machine={host.name}",
         "--capability=CAP_NET_ADMIN",
         "--resolv-conf=off", "--timezone=off", "--link-journal=no"],
        stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        preexec_fn=enter_own_cgroups, env={**os.environ, "SYSTEMD_NSPAWN_API_VFS_WRITABLE": "network"},
    )
    state.record_pid(f"host:{host.name}", proc.pid)
    return proc.pid


#: Only processes running one of these are ever signalled, so a reused pid is never hit.
LAB_PROGRAMS = ("systemd-nspawn", "apt-cacher-ng")


def is_lab_process(pid: int) -> bool:
    """True when `pid` runs, is no zombie and is a program the lab starts."""
    if not process_alive(pid):
        return False
    try:
        argv0 = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0", 1)[0].decode()
    except OSError:
        return False
    return Path(argv0).name in LAB_PROGRAMS


def processes_rooted_in(paths: list[str]) -> dict[str, int]:
    """Lab programs started on one of the recorded paths (`-D <mount>`, `-c <confdir>`): finds
    a process whose pid a killed `up` had no time to record."""
    found: dict[str, int] = {}
    for proc_dir in Path("/proc").iterdir():
        if not proc_dir.name.isdigit():
            continue
        try:
            argv = proc_dir.joinpath("cmdline").read_bytes().decode().split("\0")
        except OSError:
            continue
        if Path(argv[0]).name in LAB_PROGRAMS and any(p in argv for p in paths):
            found[f"found:{proc_dir.name}"] = int(proc_dir.name)
    return {k: v for k, v in found.items() if is_lab_process(v)}


def stop_processes(pids: dict[str, int], timeout: float = 8.0) -> None:
    """SIGTERM (nspawn powers its container off), then SIGKILL what is left."""
    alive = []
    for pid in pids.values():
        if not is_lab_process(pid):
            continue
        try:
            os.kill(pid, signal.SIGTERM)
            alive.append(pid)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout
    while alive and time.monotonic() < deadline:
        for pid in list(alive):
            try:
                if os.waitpid(pid, os.WNOHANG)[0] == pid:
                    alive.remove(pid)
                    continue
            except ChildProcessError:
                pass
            if not process_alive(pid):
                alive.remove(pid)
        time.sleep(0.2)
    for pid in alive:
        try:
            os.killpg(pid, signal.SIGKILL)  # its own session: the container's processes too
        except ProcessLookupError:
            pass


def process_alive(pid: int) -> bool:
    """Running and not a zombie (this machine's PID 1 may never reap orphans)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def unmount(path: str) -> None:
    if os.path.ismount(path):
        proc = subprocess.run(["umount", path], capture_output=True, text=True)
        if proc.returncode != 0:
            subprocess.run(["umount", "-l", path], capture_output=True)
    if os.path.ismount(path):
        raise LabError(f"could not unmount {path}")
