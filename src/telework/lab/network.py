"""Namespaces, bridges, veths, routes and the home routers' NAT, with `ip` and `nft`.

All bridges live in the switch namespace; the root namespace gets only the management veth.
"""

from __future__ import annotations

import subprocess

from telework.lab.errors import LabError
from telework.lab.state import LabState
from telework.lab.topology import HOME_CLIENT, HOME_LAN, HOME_ROUTER, Topology


def run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(list(args), capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise LabError(f"{' '.join(args)} failed: {proc.stderr.strip() or proc.stdout.strip()}")
    return proc


def ipn(ns: str, *args: str) -> None:
    run("ip", "-n", ns, *args)


def add_netns(state: LabState, ns: str) -> None:
    state.record("netns", ns)
    run("ip", "netns", "add", ns)
    ipn(ns, "link", "set", "lo", "up")


def sysctl(ns: str, key: str, value: str) -> None:
    run("ip", "netns", "exec", ns, "sysctl", "-qw", f"{key}={value}")


def cable(sw: str, bridge: str, port: str, ns: str, ifname: str, address: str) -> None:
    """A veth from a switch bridge port into `ns` as `ifname`, with an address, up."""
    ipn(sw, "link", "add", port, "type", "veth", "peer", "name", ifname, "netns", ns)
    ipn(sw, "link", "set", port, "master", bridge, "up")
    ipn(ns, "addr", "add", address, "dev", ifname)
    ipn(ns, "link", "set", ifname, "up")


def build(topo: Topology, state: LabState) -> None:
    """Create every namespace and link of the lab (the hosts' namespaces included, empty of processes)."""
    sw, core = topo.switch_netns, topo.core_netns
    add_netns(state, sw)
    mgmt_len = topo.management.prefixlen
    for bridge in ["br-mgmt", "br-inet", *(n.bridge for n in topo.networks)]:
        ipn(sw, "link", "add", bridge, "type", "bridge")
        ipn(sw, "link", "set", bridge, "up")
    # management: the controller (root namespace) on br-mgmt
    state.record("root_links", topo.root_link)
    ipn(sw, "link", "add", "p-ctl", "type", "veth", "peer", "name", topo.root_link, "netns", "1")
    ipn(sw, "link", "set", "p-ctl", "master", "br-mgmt", "up")
    run("ip", "addr", "add", f"{topo.controller_address}/{mgmt_len}", "dev", topo.root_link)
    run("ip", "link", "set", topo.root_link, "up")
    # core router: the gateway address of each internal network
    add_netns(state, core)
    sysctl(core, "net.ipv4.ip_forward", "1")
    for i, net in enumerate(topo.networks):
        cable(sw, net.bridge, f"p-core{i}", core, f"n{i}", f"{net.gateway}/{net.prefix.prefixlen}")
    for net in topo.hostless_networks:
        ipn(core, "link", "add", net.bridge, "type", "bridge")  # no dummy module here
        ipn(core, "addr", "add", f"{net.gateway}/{net.prefix.prefixlen}", "dev", net.bridge)
        ipn(core, "link", "set", net.bridge, "up")
    route_vpn_pools(topo)
    for i, host in enumerate(topo.hosts):
        add_netns(state, host.netns)
        cable(sw, "br-mgmt", f"p{i}m", host.netns, "mgmt0", f"{host.management_address}/{mgmt_len}")
        if host.address is not None:
            net = next(n for n in topo.networks if n.name == host.network)
            cable(sw, net.bridge, f"p{i}n", host.netns, "eth0", str(host.address))
            ipn(host.netns, "route", "add", "default", "via", str(host.gateway))
        if host.public_address is not None:
            cable(sw, "br-inet", f"p{i}p", host.netns, "pub0", f"{host.public_address}/{topo.internet.prefixlen}")
    for j, home in enumerate(topo.homes):
        add_netns(state, home.router_netns)
        cable(sw, "br-inet", f"p-h{j}", home.router_netns, "wan0", f"{home.wan_address}/{topo.internet.prefixlen}")
        lan_ns = home.client_netns or topo.host(home.endpoint or "").netns
        if home.client_netns:
            add_netns(state, home.client_netns)
        ipn(home.router_netns, "link", "add", "lan0", "type", "veth", "peer", "name", "lan0", "netns", lan_ns)
        ipn(home.router_netns, "addr", "add", f"{HOME_ROUTER}/{HOME_LAN.prefixlen}", "dev", "lan0")
        ipn(home.router_netns, "link", "set", "lan0", "up")
        ipn(lan_ns, "addr", "add", f"{HOME_CLIENT}/{HOME_LAN.prefixlen}", "dev", "lan0")
        ipn(lan_ns, "link", "set", "lan0", "up")
        ipn(lan_ns, "route", "add", "default", "via", str(HOME_ROUTER))
        sysctl(home.router_netns, "net.ipv4.ip_forward", "1")
        enable_masquerade(home.router_netns)


def route_vpn_pools(topo: Topology) -> None:
    """Each VPN pool via the concentrator owning it (idempotent: `ip route replace`)."""
    for prefix, via in topo.vpn_routes:
        ipn(topo.core_netns, "route", "replace", str(prefix), "via", str(via))


NAT_RULES = """\
table ip tw_home_nat {
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "wan0" masquerade
  }
}
"""


def enable_masquerade(router_ns: str) -> None:
    """What a FRITZ!Box does: the LAN leaves through the WAN address."""
    proc = subprocess.run(["ip", "netns", "exec", router_ns, "nft", "-f", "-"], input=NAT_RULES,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise LabError(f"nft in {router_ns} failed: {proc.stderr.strip()}")


def disable_masquerade(router_ns: str) -> None:
    run("ip", "netns", "exec", router_ns, "nft", "delete", "table", "ip", "tw_home_nat", check=False)


def teardown(state: LabState) -> None:
    """Delete the recorded links and namespaces (missing ones are fine: a crashed run)."""
    for link in state.root_links:
        run("ip", "link", "del", link, check=False)
    for ns in reversed(state.netns):
        run("ip", "netns", "del", ns, check=False)


def existing_netns() -> set[str]:
    out = run("ip", "netns", "list", check=False).stdout
    return {line.split()[0] for line in out.splitlines() if line.strip()}
