"""The lab itself: real systemd hosts reachable over SSH, the home NAT, the apt proxy, and
`up`/`down`/`status` that make and remove exactly what the lab records."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from telework.lab import lab as lab_impl
from telework.lab.network import disable_masquerade, enable_masquerade, existing_netns
from telework.lab.state import LabState

pytestmark = pytest.mark.lab

TELEWORK = [sys.executable, "-m", "telework.cli"]


def test_every_host_boots_systemd_and_answers_ssh(lab):
    """Each host is a real systemd system, reached with the lab key and its exact host key."""
    for host in lab.hosts:
        proc = lab.ssh(host, "systemctl is-system-running; hostname; python3 --version")
        lines = proc.stdout.split()
        assert proc.returncode == 0, (host, proc.stderr)
        assert lines[0] == "running", (host, lab.ssh(host, "systemctl --failed --no-legend").stdout)
        assert lines[1] == host


def test_internal_network_reachable_through_core_router(lab):
    """A server reaches its network's gateway in the core router and another server beside it."""
    servers = [h for h in lab.topology.hosts if h.address is not None]
    first, other = servers[0], servers[-1]
    proc = lab.ssh(first.name, f"ping -c1 -W2 {first.gateway} && ping -c1 -W2 {other.address.ip}")
    assert proc.returncode == 0, proc.stdout + proc.stderr


LISTEN = """
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 7777)); s.listen(1); s.settimeout(20)
conn, peer = s.accept(); conn.sendall(peer[0].encode()); conn.close()
"""
CONNECT = """
import socket, sys
c = socket.create_connection((sys.argv[1], 7777), timeout=3); print(c.recv(100).decode())
"""


def _connect_from_home(lab, target: str) -> subprocess.CompletedProcess:
    return lab.home_exec("home-1", ["python3", "-c", CONNECT, target])


def _listen_on_the_internet(lab, address: str) -> subprocess.Popen:
    """A TCP listener on the lab's "internet" segment, in another home router's namespace: no
    deploy ever firewalls it (a concentrator's nftables policy would drop port 7777)."""
    other = next(h for name, h in lab.overlay["homes"].items() if name != "home-1")
    return subprocess.Popen(["ip", "netns", "exec", other["router_netns"], "python3", "-c", LISTEN, address],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_home_client_reaches_public_address_only_through_nat(lab):
    """A server on the internet sees the home router's WAN address; without the masquerade the
    client fails (its FRITZ!Box LAN is not routed)."""
    home = lab.overlay["homes"]["home-1"]
    target = next(h["wan_address"] for name, h in lab.overlay["homes"].items() if name != "home-1")
    server = _listen_on_the_internet(lab, target)
    try:
        for _ in range(40):  # until the listener is up
            proc = _connect_from_home(lab, target)
            if proc.returncode == 0:
                break
            time.sleep(0.25)
        assert proc.stdout.strip() == home["wan_address"], proc.stderr
    finally:
        server.kill()
        server.wait(timeout=10)
    disable_masquerade(home["router_netns"])
    try:
        server = _listen_on_the_internet(lab, target)
        time.sleep(1.5)
        proc = _connect_from_home(lab, target)
        assert proc.returncode != 0, "reached the server without NAT: the LAN must not be routed"
        server.kill()
        server.wait(timeout=10)
    finally:
        enable_masquerade(home["router_netns"])
    vpn = next(h for h in lab.topology.hosts if h.public_address is not None)
    route = lab.home_exec("home-1", ["ip", "route", "get", str(vpn.public_address)])
    assert "via 192.168.178.1" in route.stdout  # the client's only way out is its router


def test_apt_installs_through_the_lab_proxy(lab):
    """Hosts have no route to the internet: apt works only through the lab's apt-cacher-ng."""
    host = lab.hosts[0]
    proc = lab.ssh(host, "apt-config dump Acquire::http::Proxy; ip route get 203.0.113.80 || true; "
                         "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hello "
                         ">/dev/null && hello", timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f'"{lab.topology.apt_proxy_url}"' in proc.stdout
    assert "Hello, world!" in proc.stdout


def test_status_json_reports_every_host_running(lab):
    proc = subprocess.run([*TELEWORK, "lab", "status", str(lab.inventory), "--format", "json"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert {h["name"]: (h["running"], h["system"]) for h in data["hosts"]} == {
        name: (True, "running") for name in lab.hosts}


def test_up_twice_keeps_the_running_lab(lab):
    """A second `up` finds the lab running and changes nothing."""
    before = LabState.load(lab.topology.slug).pids
    proc = subprocess.run([*TELEWORK, "lab", "up", str(lab.inventory)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "already up" in proc.stdout
    assert LabState.load(lab.topology.slug).pids == before


def _lab_objects(topo) -> dict:
    """What exists of this lab's own objects: named from its topology, so another lab of the
    organisation on the machine ($TELEWORK_LAB_SUFFIX, `tw-gruenfelden-x-*`) is not counted."""
    slug = topo.slug
    names = {topo.switch_netns, topo.core_netns, *(h.netns for h in topo.hosts)}
    names |= {n for home in topo.homes for n in (home.router_netns, home.client_netns) if n}
    machines = {h.name for h in topo.hosts}
    mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()
              if f"/var/lib/telework/lab/{slug}/" in line.split()[1]]
    links = subprocess.run(["ip", "-o", "link", "show", topo.root_link], capture_output=True, text=True)
    return {
        "netns": sorted(n for n in existing_netns() if n in names),
        "mounts": mounts,
        "root_link": links.returncode == 0,
        "cgroups": sorted(str(p) for p in Path("/sys/fs/cgroup").glob(f"*/tw-{slug}-*")
                          if p.name.removeprefix(f"tw-{slug}-") in machines),
    }


@pytest.mark.restarts_lab
def test_down_after_killed_up_cleans_everything_and_up_works_again(lab):
    """`up` killed midway leaves records; `down` removes exactly those; a new `up` works.
    (Runs last: it restarts the session's lab.)"""
    slug, topo = lab.topology.slug, lab.topology
    subprocess.run([*TELEWORK, "lab", "down", str(lab.inventory)], check=True, capture_output=True)
    assert _lab_objects(topo) == {"netns": [], "mounts": [], "root_link": False, "cgroups": []}

    up = subprocess.Popen([*TELEWORK, "lab", "up", str(lab.inventory)], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # kill it once hosts are booting
        state = LabState.load(slug)
        if state and any(k.startswith("host:") for k in state.pids):
            break
        time.sleep(0.05)
    os.kill(up.pid, signal.SIGKILL)
    up.wait()
    state = LabState.load(slug)
    assert state is not None and not state.complete
    assert _lab_objects(topo)["netns"]

    proc = subprocess.run([*TELEWORK, "lab", "down", str(lab.inventory)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert _lab_objects(topo) == {"netns": [], "mounts": [], "root_link": False, "cgroups": []}
    assert not any(lab_impl.hosts.is_lab_process(pid) for pid in state.pids.values())

    proc = subprocess.run([*TELEWORK, "lab", "up", str(lab.inventory)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert lab.ssh(lab.hosts[0], "systemctl is-system-running").stdout.strip() == "running"
