"""The host firewall of the base role, probed from outside the hosts (issue 18).

Uses the VPN suite's `org` (tests/lab/conftest.py), deployed to vpn-a, vpn-b and radius-1. The
probes are real packets from the lab's other places: home-1's client (behind its FRITZ!Box NAT),
home-1's router on the internet segment, the core router (an internal host that is not in a
management network), the controller on the management network, and a concentrator. A probe
that is dropped must also raise the target's counted drop (`input-drop`), so "unreachable" is
the firewall's doing, not a missing route.

Also: a ruleset nft refuses never replaces the live rules, and a ruleset that would lock out
the deploy connection is refused before anything is written.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from telework.inventory.loading import require_inventory

from .conftest import REPO, VENV_BIN, run

pytestmark = pytest.mark.lab

SERVERS = ("vpn-a", "vpn-b", "radius-1")
SSH_PORT, RADIUS_PORT = 22, 1812

#: one probe from this machine's python inside a namespace: prints open|refused|timeout|unreachable
#: (TCP) or answered|silent (UDP: a RADIUS Access-Request, answered or not)
PROBE = r"""
import socket, sys
proto, address, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
if proto == "tcp":
    try:
        socket.create_connection((address, port), timeout=2).close(); print("open")
    except ConnectionRefusedError: print("refused")
    except socket.timeout: print("timeout")
    except OSError: print("unreachable")
else:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2)
    packet = bytes([1, 7, 0, 20]) + bytes(16)  # Access-Request, no attributes
    try:
        s.sendto(packet, (address, port)); s.recvfrom(4096); print("answered")
    except (socket.timeout, OSError): print("silent")
"""


def probe(netns: str | None, proto: str, address: str, port: int) -> str:
    argv = ["python3", "-c", PROBE, proto, address, str(port)]
    if netns:
        argv = ["ip", "netns", "exec", netns, *argv]
    return subprocess.run(argv, capture_output=True, text=True, timeout=20, check=True).stdout.strip()


def counters(lab, host: str) -> dict[str, int]:
    """Packets counted per commented rule of the input chain (`ssh`, `radius`, `input-drop`, ...)."""
    out = lab.ssh(host, "nft -j list chain inet telework input")
    assert out.returncode == 0, out.stderr
    found = {}
    for item in json.loads(out.stdout)["nftables"]:
        rule = item.get("rule")
        if rule and rule.get("comment"):
            found[rule["comment"]] = next(e["counter"]["packets"] for e in rule["expr"] if "counter" in e)
    return found


@pytest.fixture(scope="module")
def addresses(org) -> dict[str, list[str]]:
    """Every address of each server: its internal address, and a concentrator's public one."""
    inv = require_inventory(org.inventory).model
    out = {}
    for _group, server in inv.servers():
        if server.name in SERVERS:
            out[server.name] = [str(server.address.ip)] + ([str(server.public_address)]
                                                            if getattr(server, "public_address", None) else [])
    return out


def test_from_home_and_internet_ssh_and_radius_are_unreachable_and_counted(lab, org, addresses):
    """SYS.1.1.A19 / NET.1.1: from a home network (through its NAT) and from the internet
    segment, SSH and RADIUS of every server are unreachable; where the packets arrive (a
    concentrator's public address) they are dropped silently and counted."""
    home = lab.overlay["homes"]["home-1"]
    places = {"home-1 client": home["client_netns"], "internet (home-1 router)": home["router_netns"]}
    before = {h: counters(lab, h)["input-drop"] for h in SERVERS}
    arrived: dict[str, int] = {h: 0 for h in SERVERS}
    for place, netns in places.items():
        for host, addrs in addresses.items():
            for address in addrs:
                ssh = probe(netns, "tcp", address, SSH_PORT)
                radius = probe(netns, "udp", address, RADIUS_PORT)
                assert ssh in ("timeout", "unreachable"), (place, host, address, ssh)
                assert radius == "silent", (place, host, address, radius)
                if address != addrs[0]:  # a public address: routed to the host, dropped there, not refused
                    assert ssh == "timeout", (place, host, address, ssh)
                    arrived[host] += 2
    assert arrived["vpn-a"] and arrived["vpn-b"]
    after = {h: counters(lab, h)["input-drop"] for h in SERVERS}
    for host in SERVERS:
        # a TCP SYN is retried by the client, so at least one drop per probe that arrived
        assert after[host] - before[host] >= arrived[host], (host, before[host], after[host])


def test_from_an_internal_network_ssh_and_radius_are_dropped(lab, org, addresses):
    """SYS.1.1.A19: the core router has an address in the servers' network but is no management
    host: SSH to every server and RADIUS to the auth server are dropped and counted."""
    core = lab.topology.core_netns
    before = {h: counters(lab, h)["input-drop"] for h in SERVERS}
    for host, addrs in addresses.items():
        assert probe(core, "tcp", addrs[0], SSH_PORT) == "timeout", host
    assert probe(core, "udp", addresses["radius-1"][0], RADIUS_PORT) == "silent"
    after = {h: counters(lab, h)["input-drop"] for h in SERVERS}
    for host in SERVERS:
        assert after[host] - before[host] >= (2 if host == "radius-1" else 1), (host, before[host], after[host])


def test_from_the_management_network_ssh_works_and_is_counted(lab, org, addresses):
    """SYS.1.1.A19: the controller, on the management network, reaches SSH of every server."""
    before = {h: counters(lab, h)["ssh"] for h in SERVERS}
    for host in SERVERS:
        address = lab.topology.host(host).management_address
        assert probe(None, "tcp", str(address), SSH_PORT) == "open", host
        assert lab.ssh(host, "true").returncode == 0
    after = {h: counters(lab, h)["ssh"] for h in SERVERS}
    assert all(after[h] > before[h] for h in SERVERS), (before, after)


def test_radius_answers_the_concentrators(lab, org, addresses):
    """NET.3.3: the concentrators, RADIUS's only clients, still get an answer (Access-Reject for a
    wrong code), and the auth server counts them on its `radius` rule."""
    before = counters(lab, "radius-1")["radius"]
    out = lab.ssh("vpn-a", f"radtest -t pap telework-probe 000000 {addresses['radius-1'][0]} 0 "
                           "\"$(awk '{print $2}' /etc/telework/pam_radius_auth.conf)\" 2>&1 | grep -o Access-Reject")
    assert "Access-Reject" in out.stdout, out.stdout + out.stderr
    assert counters(lab, "radius-1")["radius"] > before


BROKEN_DEPLOY = """
from pathlib import Path
from telework.engine.operations.nftables import ruleset
ruleset(name="firewall: a broken ruleset", path="/etc/nftables.conf", table=("inet", "telework"),
        content=Path({path!r}).read_text())
"""


def test_a_broken_ruleset_is_refused_and_the_live_rules_stay(lab, org, tmp_path: Path):
    """The base role's `ruleset` operation with a rule nft does not accept: the deploy fails, the
    live rules and /etc/nftables.conf are what they were, no staged copy is left."""
    host = "radius-1"
    live = lab.ssh(host, "nft -s list ruleset").stdout  # -s: without counters, which SSH logins raise
    on_disk = lab.ssh(host, "sha256sum /etc/nftables.conf").stdout
    assert "input-drop" in live
    broken = tmp_path / "broken.nft"
    broken.write_text(lab.ssh(host, "cat /etc/nftables.conf").stdout.replace(
        'counter drop comment "input-drop"', 'counter drop comment "input-drop" no-such-statement'))
    deploy = tmp_path / "broken_deploy.py"
    deploy.write_text(BROKEN_DEPLOY.format(path=str(broken)))
    proc = run([str(VENV_BIN / "pyinfra"), "-y", str(org.inventory / "inventory.py"), str(deploy), "--limit", host],
               env=org.env, timeout=300, check=False)
    assert proc.returncode != 0, proc.stdout[-2000:]
    assert "syntax error" in proc.stdout + proc.stderr
    assert lab.ssh(host, "nft -s list ruleset").stdout == live
    assert lab.ssh(host, "sha256sum /etc/nftables.conf").stdout == on_disk
    assert lab.ssh(host, "test -e /etc/nftables.conf.telework-new; echo $?").stdout.strip() == "1"


def test_a_ruleset_that_would_lock_out_the_deploy_is_refused(lab, org, tmp_path: Path):
    """An overlay without the lab's management range: the new ruleset would not accept SSH from
    the controller, so the deploy fails with the fix and changes nothing; SSH still works."""
    host = "radius-1"
    live = lab.ssh(host, "nft -s list ruleset").stdout
    overlay = yaml.safe_load(Path(org.overlay).read_text())
    for data in overlay["hosts"].values():
        data.pop("base_extra_management_networks", None)
    narrow = tmp_path / "overlay.yml"
    narrow.write_text(yaml.safe_dump(overlay))
    proc = run([str(VENV_BIN / "pyinfra"), "-y", str(org.inventory / "inventory.py"), "deploy/site.py",
                "--limit", host], env={**org.env, "TELEWORK_OVERLAY": str(narrow)}, timeout=600, check=False,
               cwd=REPO)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0, output[-3000:]
    assert "refusing to load /etc/nftables.conf" in output and "purpose: management" in output, output[-3000:]
    assert lab.ssh(host, "nft -s list ruleset").stdout == live
    assert lab.ssh(host, "true").returncode == 0
