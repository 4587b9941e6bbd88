"""`up`, `down` and `status` of a lab: the orchestration over topology, image, network, hosts."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from telework.core.problems import InventoryError
from telework.inventory.loading import load_inventory
from telework.lab import aptproxy, hosts, image, network
from telework.lab.errors import LabError, LabNotRoot, LabToolMissing
from telework.lab.overlay import overlay_path, write_overlay
from telework.lab.state import LabState, lab_dir
from telework.lab.topology import Topology, build_topology

REQUIRED_TOOLS = ("debootstrap", "systemd-nspawn", "apt-cacher-ng", "nft", "ip", "ssh", "ssh-keygen", "mount")


#: kernel limits every lab host shares with the controller (one user, one kernel): each host's
#: systemd, journald and wireguard-go take inotify instances, and the default of 128 per user is
#: gone with two labs up (wireguard-go then fails: "Failed to listen on uapi socket: too many
#: open files")
SHARED_LIMITS = {"/proc/sys/fs/inotify/max_user_instances": 8192}


def preflight() -> None:
    if os.geteuid() != 0:
        raise LabNotRoot()
    missing = [t for t in REQUIRED_TOOLS if shutil.which(t) is None]
    if missing:
        raise LabToolMissing(missing)
    for path, least in SHARED_LIMITS.items():
        try:
            if int(Path(path).read_text()) < least:
                Path(path).write_text(f"{least}\n")
        except (OSError, ValueError):
            pass  # not writable here: hosts start anyway, a tight limit shows in their journals


def load_topology(inventory: str | Path, include_notebooks: bool = False) -> Topology:
    loaded = load_inventory(Path(inventory))
    if loaded.errors or loaded.model is None:
        raise InventoryError(loaded.errors)
    return build_topology(loaded.model, include_notebooks=include_notebooks)


def ssh_command(topo: Topology, host: str, command: str, timeout: int = 10) -> list[str]:
    d = lab_dir(topo.slug)
    return ["ssh", "-i", str(d / "id_ed25519"), "-o", f"UserKnownHostsFile={d / 'known_hosts'}",
            "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-o", f"ConnectTimeout={timeout}",
            "-o", "LogLevel=ERROR", f"root@{topo.host(host).management_address}", command]


def ssh(topo: Topology, host: str, command: str, timeout: int = 60) -> subprocess.CompletedProcess:
    return subprocess.run(ssh_command(topo, host, command), capture_output=True, text=True, timeout=timeout)


def is_up(topo: Topology) -> bool:
    """True when a previous `up` completed and every recorded process still runs."""
    state = LabState.load(topo.slug)
    return bool(state and state.complete and state.pids and all(map(hosts.is_lab_process, state.pids.values()))
                and {h.name for h in topo.hosts} <= {k.split(":", 1)[1] for k in state.pids if k.startswith("host:")})


def up(inventory: str | Path, include_notebooks: bool = False, log=print, boot_timeout: float = 120) -> Topology:
    """Bring the lab up; a no-op when it already runs, a clean rebuild after a crashed run."""
    preflight()
    topo = load_topology(inventory, include_notebooks)
    if is_up(topo):
        network.route_vpn_pools(topo)  # a lab started before the routes existed gets them now
        log(f"lab {topo.slug} is already up")
        return topo
    if LabState.load(topo.slug):
        log("cleaning up what a previous run left behind")
        down_slug(topo.slug, log=lambda *_: None)
    clashes = ({h.netns for h in topo.hosts} | {topo.switch_netns, topo.core_netns}) & network.existing_netns()
    if clashes:
        raise LabError(f"network namespaces {', '.join(sorted(clashes))} exist but are not the lab's records; "
                       "remove them with `ip netns del NAME` if they are stale")
    started = time.monotonic()
    base = image.base_image(log=log)
    state = LabState(slug=topo.slug, inventory=str(Path(inventory).resolve()))
    state.save()
    network.build(topo, state)
    aptproxy.start(state, str(topo.controller_address))
    hosts.lab_key(topo.slug)
    known: list[str] = []
    roots = {h.name: hosts.mount_overlay(state, base, h) for h in topo.hosts}
    for h in topo.hosts:
        hosts.prepare(topo, h, roots[h.name], known)
    (lab_dir(topo.slug) / "known_hosts").write_text("\n".join(known) + "\n")
    for h in topo.hosts:
        hosts.boot(state, h, roots[h.name])
    write_overlay(topo)
    wait_for_hosts(topo, boot_timeout)
    state.complete = True
    state.save()
    log(f"lab {topo.slug} up: {len(topo.hosts)} hosts, {len(topo.homes)} homes in {time.monotonic() - started:.0f} s")
    return topo


def reset_host(inventory: str | Path, name: str, log=print, boot_timeout: float = 120) -> None:
    """Give one host of a running lab a fresh root, as if it had never been deployed: stop it,
    replace its overlay's upper layer by an empty one and boot it again. It keeps its SSH host
    key (known_hosts stays valid) and its lab address; nothing else of what was deployed."""
    preflight()
    topo = load_topology(inventory)
    state = LabState.load(topo.slug)
    if not is_up(topo) or state is None:
        raise LabError(f"lab {topo.slug} is not up: start it with `telework lab up {inventory}`")
    host = topo.host(name)
    keys = {p.name: p.read_bytes() for p in (hosts.host_dir(topo.slug, name) / "upper/etc/ssh").glob("ssh_host_*")}
    pid = state.pids.get(f"host:{name}")
    hosts.stop_processes({name: pid} if pid else {})
    root = hosts.host_dir(topo.slug, name) / "merged"
    hosts.unmount(str(root))
    root = hosts.mount_overlay(state, image.base_image(log=log), host)
    hosts.prepare(topo, host, root, [])
    for key_name, data in keys.items():  # the old identity: known_hosts still matches
        (root / "etc/ssh" / key_name).write_bytes(data)
    hosts.boot(state, host, root)
    wait_for_hosts(topo, boot_timeout, names=[name])
    log(f"lab {topo.slug}: {name} reset to a fresh root")


def wait_for_hosts(topo: Topology, timeout: float, names: list[str] | None = None) -> None:
    """Wait until every host (or those `names`) answers SSH and systemd finished booting."""
    def one(name: str) -> str | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                proc = ssh(topo, name, "systemctl is-system-running --wait", timeout=max(5, int(deadline - time.monotonic())))
                if proc.stdout.strip() in ("running", "degraded"):
                    return None
            except subprocess.TimeoutExpired:
                pass
            time.sleep(0.5)
        return name
    with ThreadPoolExecutor(max_workers=len(topo.hosts) or 1) as pool:
        late = [n for n in pool.map(one, names or [h.name for h in topo.hosts]) if n]
    if late:
        raise LabError(f"hosts {', '.join(late)} did not finish booting within {timeout:.0f} s; "
                       f"see {lab_dir(topo.slug)}/hosts/<host>/console.log")


def down(inventory: str | Path, log=print) -> None:
    preflight()
    topo = load_topology(inventory, include_notebooks=True)
    down_slug(topo.slug, log=log)


def down_slug(slug: str, log=print) -> None:
    """Remove exactly what the state file records: processes, then mounts, then links and namespaces."""
    state = LabState.load(slug)
    if state is None:
        log(f"lab {slug} is not up (no records in {lab_dir(slug)})")
        return
    confdir = str(lab_dir(slug) / "apt-cacher-ng" / "conf")
    hosts.stop_processes({**state.pids, **hosts.processes_rooted_in([*state.mounts, confdir])})
    for mount in reversed(state.mounts):
        hosts.unmount(mount)
    for group in state.cgroups:
        hosts.remove_cgroup(group)
    network.teardown(state)
    shutil.rmtree(lab_dir(slug) / "hosts", ignore_errors=True)
    overlay_path(slug).unlink(missing_ok=True)
    state.path.unlink()
    log(f"lab {slug} down")


@dataclass
class HostStatus:
    name: str
    group: str
    management_address: str
    address: str
    public_address: str
    running: bool
    system: str


def status(inventory: str | Path) -> tuple[Topology, list[HostStatus]]:
    preflight()
    topo = load_topology(inventory, include_notebooks=True)
    state = LabState.load(topo.slug)
    pids = state.pids if state else {}

    def one(h) -> HostStatus:
        pid = pids.get(f"host:{h.name}")
        running = bool(pid and hosts.is_lab_process(pid))
        system = "-"
        if running:
            try:
                system = ssh(topo, h.name, "systemctl is-system-running", timeout=10).stdout.strip() or "unreachable"
            except subprocess.TimeoutExpired:
                system = "unreachable"
        return HostStatus(h.name, h.group, str(h.management_address), str(h.address or h.home or ""),
                          str(h.public_address or ""), running, system)
    wanted = [h for h in topo.hosts if f"host:{h.name}" in pids] or [h for h in topo.hosts if h.group != "notebooks"]
    with ThreadPoolExecutor(max_workers=8) as pool:
        return topo, list(pool.map(one, wanted))
