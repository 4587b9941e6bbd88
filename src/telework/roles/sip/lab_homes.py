"""Two more home networks for SIP phones in a running lab: each its own router doing NAT.

The lab gives one home with a client namespace (home-1); a call between two homes needs a
second. These homes are built like the lab's (a router namespace on the internet bridge,
masquerading the FRITZ!Box LAN) and also drop new inbound connections, as home routers do, so
a phone is reachable only through bindings it opened. Their namespaces are recorded in the
lab's state, so `telework lab down` removes them with the rest. A router's idle timeout for UDP
and TCP bindings can be set (connection-tracking timeouts are per network namespace).
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass

import netaddr

from telework.lab.errors import LabError
from telework.lab.network import add_netns, existing_netns, ipn, run, sysctl
from telework.lab.state import LabState
from telework.lab.topology import HOME_CLIENT, HOME_LAN, HOME_ROUTER, Topology

#: what a home router does: NAT out of wan0, nothing new in from wan0
ROUTER_RULES = """\
table ip tw_home_nat {
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "wan0" masquerade
  }
  chain forward {
    type filter hook forward priority filter; policy accept;
    iifname "wan0" ct state != { established, related } drop
  }
}
"""


@dataclass(frozen=True)
class SipHome:
    name: str
    router_netns: str
    phone_netns: str
    wan_address: netaddr.IPAddress
    phone_address: netaddr.IPAddress = HOME_CLIENT


def _free_wan_addresses(topo: Topology, count: int) -> list[netaddr.IPAddress]:
    used = {h.public_address for h in topo.hosts if h.public_address} | {h.wan_address for h in topo.homes}
    free = [a for a in topo.internet.iter_hosts() if a not in used and int(a) & 0xFF >= 100]
    if len(free) < count:
        raise LabError(f"no {count} free addresses left in {topo.internet} for SIP homes")
    return free[:count]


def sip_homes(topo: Topology, names: tuple[str, ...] = ("sip-a", "sip-b")) -> list[SipHome]:
    """The homes' layout (pure: nothing is created)."""
    return [SipHome(name, f"tw-{topo.slug}-{name}-router", f"tw-{topo.slug}-{name}-phone", wan)
            for name, wan in zip(names, _free_wan_addresses(topo, len(names)), strict=True)]


def ensure_homes(topo: Topology, names: tuple[str, ...] = ("sip-a", "sip-b")) -> list[SipHome]:
    """Build the homes in the running lab unless they exist (then they are reused as they are)."""
    state = LabState.load(topo.slug)
    if state is None:
        raise LabError(f"lab {topo.slug} is not up")
    homes = sip_homes(topo, names)
    present = existing_netns()
    for index, home in enumerate(homes):
        if home.router_netns in present and home.phone_netns in present:
            continue
        for ns in (home.router_netns, home.phone_netns):
            if ns in present:
                run("ip", "netns", "del", ns, check=False)
            add_netns(state, ns)
        port = f"p-sip{index}"
        run("ip", "-n", topo.switch_netns, "link", "del", port, check=False)
        ipn(topo.switch_netns, "link", "add", port, "type", "veth", "peer", "name", "wan0", "netns",
            home.router_netns)
        ipn(topo.switch_netns, "link", "set", port, "master", "br-inet", "up")
        ipn(home.router_netns, "addr", "add", f"{home.wan_address}/{topo.internet.prefixlen}", "dev", "wan0")
        ipn(home.router_netns, "link", "set", "wan0", "up")
        ipn(home.router_netns, "link", "add", "lan0", "type", "veth", "peer", "name", "lan0", "netns",
            home.phone_netns)
        ipn(home.router_netns, "addr", "add", f"{HOME_ROUTER}/{HOME_LAN.prefixlen}", "dev", "lan0")
        ipn(home.router_netns, "link", "set", "lan0", "up")
        ipn(home.phone_netns, "addr", "add", f"{home.phone_address}/{HOME_LAN.prefixlen}", "dev", "lan0")
        ipn(home.phone_netns, "link", "set", "lan0", "up")
        ipn(home.phone_netns, "route", "add", "default", "via", str(HOME_ROUTER))
        sysctl(home.router_netns, "net.ipv4.ip_forward", "1")
        proc = subprocess.run(["ip", "netns", "exec", home.router_netns, "nft", "-f", "-"], input=ROUTER_RULES,
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise LabError(f"nft in {home.router_netns} failed: {proc.stderr.strip()}")
    return homes


#: the kernel's connection-tracking timeouts a home router's idle timeout replaces (seconds)
KERNEL_TIMEOUTS = {"net.netfilter.nf_conntrack_udp_timeout": 30,
                   "net.netfilter.nf_conntrack_udp_timeout_stream": 120,
                   "net.netfilter.nf_conntrack_tcp_timeout_established": 432000}


def set_idle_timeout(home: SipHome, seconds: int) -> None:
    """Make the router forget idle UDP and established TCP bindings after `seconds` (0: the
    kernel's defaults again)."""
    for key, default in KERNEL_TIMEOUTS.items():
        sysctl(home.router_netns, key, str(seconds or default))


@dataclass(frozen=True)
class Carrier:
    """The carrier's side of the trunk: a namespace on the internet segment (SIPp runs there)."""

    netns: str
    address: netaddr.IPAddress


def carrier(topo: Topology) -> Carrier:
    """The carrier's layout (pure): the address after the SIP homes'."""
    return Carrier(f"tw-{topo.slug}-carrier", _free_wan_addresses(topo, 3)[2])


def ensure_carrier(topo: Topology) -> Carrier:
    """Build the carrier's namespace in the running lab unless it exists."""
    state = LabState.load(topo.slug)
    if state is None:
        raise LabError(f"lab {topo.slug} is not up")
    c = carrier(topo)
    if c.netns in existing_netns():
        return c
    add_netns(state, c.netns)
    port = "p-carrier"
    run("ip", "-n", topo.switch_netns, "link", "del", port, check=False)
    ipn(topo.switch_netns, "link", "add", port, "type", "veth", "peer", "name", "wan0", "netns", c.netns)
    ipn(topo.switch_netns, "link", "set", port, "master", "br-inet", "up")
    ipn(c.netns, "addr", "add", f"{c.address}/{topo.internet.prefixlen}", "dev", "wan0")
    ipn(c.netns, "link", "set", "wan0", "up")
    return c
