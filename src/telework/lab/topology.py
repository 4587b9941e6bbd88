"""Derive the lab's layout from the inventory model: a pure function, testable without root.

Names follow one scheme so `down` and a reader can tell lab objects apart: every namespace is
`tw-<slug>-<what>`, every link lives inside a lab namespace except one management veth in the
root namespace (`tw-m-<hash>`, at most 15 characters as the kernel demands).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field

import netaddr

from telework.inventory.model import Inventory
from telework.lab.errors import LabError

#: Lab-only management ranges. A lab takes the /24 its organisation's slug hashes to, in the
#: first of these that overlaps no inventory network: labs of different organisations (the
#: sample's, a benchmark's) run side by side. The controller holds the first address.
MANAGEMENT_BASES = ("10.199.0.0/16", "172.31.0.0/16")
#: The LAN every FRITZ!Box ships with, and its router address.
HOME_LAN = netaddr.IPNetwork("192.168.178.0/24")
HOME_ROUTER = netaddr.IPAddress("192.168.178.1")
HOME_CLIENT = netaddr.IPAddress("192.168.178.20")


@dataclass(frozen=True)
class LabNetwork:
    """One inventory network that has lab hosts: a bridge plus the core router's gateway leg."""

    name: str
    bridge: str
    prefix: netaddr.IPNetwork
    gateway: netaddr.IPAddress


@dataclass(frozen=True)
class LabHost:
    name: str
    group: str
    netns: str
    management_address: netaddr.IPAddress
    address: netaddr.IPNetwork | None = None  # inventory address with mask (servers)
    network: str | None = None
    gateway: netaddr.IPAddress | None = None
    public_address: netaddr.IPAddress | None = None
    home: str | None = None  # endpoints sit behind a home router


@dataclass(frozen=True)
class Home:
    name: str
    router_netns: str
    wan_address: netaddr.IPAddress
    client_netns: str | None  # None when the LAN side is an endpoint host
    endpoint: str | None = None


@dataclass(frozen=True)
class Topology:
    slug: str
    switch_netns: str  # bridges only, no addresses: the lab's "cables"
    core_netns: str  # routes between internal networks
    management: netaddr.IPNetwork
    controller_address: netaddr.IPAddress
    root_link: str
    internet: netaddr.IPNetwork
    networks: list[LabNetwork] = field(default_factory=list)
    hosts: list[LabHost] = field(default_factory=list)
    homes: list[Home] = field(default_factory=list)
    #: networks without lab hosts: only their gateway exists (a port-less bridge in the core router),
    #: so VPN tests have a real address to reach in every network a person may access
    hostless_networks: list[LabNetwork] = field(default_factory=list)
    #: (VPN pool prefix, concentrator address) the core router routes back to the concentrator
    #: that owns the pool; tunnel traffic is never masqueraded, so replies must find their way
    vpn_routes: list[tuple[netaddr.IPNetwork, netaddr.IPAddress]] = field(default_factory=list)

    @property
    def apt_proxy_url(self) -> str:
        return f"http://{self.controller_address}:3142"

    def host(self, name: str) -> LabHost:
        for h in self.hosts:
            if h.name == name:
                return h
        raise LabError(f"no lab host named {name!r}; hosts: {', '.join(h.name for h in self.hosts)}")


#: set to run a second lab of the same organisation beside the first (another engineer's tests
#: on the same machine): `-h1` makes the lab `gruenfelden-h1`, with its own namespaces, range
#: and records
LAB_SUFFIX_ENV = "TELEWORK_LAB_SUFFIX"


def lab_name(inv: Inventory) -> str:
    """The lab's name: the organisation's slug, plus $TELEWORK_LAB_SUFFIX."""
    return inv.organisation.slug + os.environ.get(LAB_SUFFIX_ENV, "")


def _management_range(inv: Inventory) -> netaddr.IPNetwork:
    used = [netaddr.IPNetwork(str(n.prefix)) for n in inv.networks] + [
        netaddr.IPNetwork(str(p.prefix)) for p in inv.address_pools
    ]
    index = int(hashlib.sha256(lab_name(inv).encode()).hexdigest(), 16) % 256
    candidates = [list(netaddr.IPNetwork(base).subnet(24))[index] for base in MANAGEMENT_BASES]
    for candidate in candidates:
        if not any(candidate in u or u in candidate for u in used):
            return candidate
    raise LabError(f"every lab management range overlaps the inventory: {', '.join(map(str, candidates))}")


def build_topology(inv: Inventory, include_notebooks: bool = False) -> Topology:
    """Lay out the lab for an inventory: its servers and Linux endpoints, one home network for the
    VPN/SIP client, and one home network per endpoint (home-office PCs sit behind a FRITZ!Box)."""
    slug = lab_name(inv)
    mgmt = _management_range(inv)
    mgmt_hosts = iter(list(mgmt.iter_hosts()))
    controller = next(mgmt_hosts)
    publics = [netaddr.IPAddress(str(s.public_address)) for _, s in inv.servers() if getattr(s, "public_address", None)]
    internet = netaddr.IPNetwork(f"{publics[0]}/24").cidr if publics else netaddr.IPNetwork("198.51.100.0/24")
    wan_pool = iter([a for a in reversed(list(internet.iter_hosts())) if a not in publics])

    networks: dict[str, LabNetwork] = {}
    hosts: list[LabHost] = []
    for index, (group, server) in enumerate(inv.servers()):
        iface = netaddr.IPNetwork(str(server.address))
        net = next((n for n in inv.networks if iface.ip in netaddr.IPNetwork(str(n.prefix))), None)
        if net is None:
            raise LabError(f"{group}.{server.name}: address {iface} lies in no inventory network")
        if net.name not in networks:
            prefix = netaddr.IPNetwork(str(net.prefix))
            gw = netaddr.IPAddress(str(net.gateway)) if net.gateway else netaddr.IPAddress(prefix.first + 1)
            networks[net.name] = LabNetwork(net.name, f"br-n{len(networks)}", prefix, gw)
        public = getattr(server, "public_address", None)
        hosts.append(LabHost(
            name=server.name, group=group, netns=f"tw-{slug}-{server.name}",
            management_address=next(mgmt_hosts), address=iface, network=net.name,
            gateway=networks[net.name].gateway,
            public_address=netaddr.IPAddress(str(public)) if public else None,
        ))
    # before the endpoints: every host keeps its management address with or without notebooks
    if inv.ums is not None and inv.ums.address is not None:
        hosts.append(_ums_host(inv, slug, networks, next(mgmt_hosts)))
    for group, endpoint in inv.managed_endpoints():
        if group == "notebooks" and not include_notebooks:
            continue
        hosts.append(LabHost(
            name=endpoint.name, group=group, netns=f"tw-{slug}-{endpoint.name}",
            management_address=next(mgmt_hosts), home=f"home-{endpoint.name}",
        ))
    hostless: list[LabNetwork] = []
    for net in inv.networks:
        if net.name in networks:
            continue
        prefix = netaddr.IPNetwork(str(net.prefix))
        gw = netaddr.IPAddress(str(net.gateway)) if net.gateway else netaddr.IPAddress(prefix.first + 1)
        hostless.append(LabNetwork(net.name, f"d{len(hostless)}", prefix, gw))
    homes = [Home("home-1", f"tw-{slug}-home-1-router", next(wan_pool), f"tw-{slug}-home-1-client")]
    for h in hosts:
        if h.home:
            homes.append(Home(h.home, f"tw-{slug}-{h.home}-router", next(wan_pool), None, endpoint=h.name))
    return Topology(
        slug=slug, switch_netns=f"tw-{slug}-switch", core_netns=f"tw-{slug}-core",
        management=mgmt, controller_address=controller,
        root_link="tw-m-" + hashlib.sha256(slug.encode()).hexdigest()[:8],
        internet=internet, networks=list(networks.values()), hosts=hosts, homes=homes, hostless_networks=hostless,
        vpn_routes=_vpn_routes(inv),
    )


#: the lab host standing in for the organisation's IGEL UMS (it runs the fake UMS, see
#: telework.roles.igel.lab); no role deploys it
UMS_HOST = "ums"


def _ums_host(inv: Inventory, slug: str, networks: dict[str, LabNetwork], management) -> LabHost:
    iface = netaddr.IPNetwork(str(inv.ums.address))
    net = next((n for n in inv.networks if iface.ip in netaddr.IPNetwork(str(n.prefix))), None)
    if net is None:
        raise LabError(f"ums.address {iface} lies in no inventory network")
    if net.name not in networks:
        prefix = netaddr.IPNetwork(str(net.prefix))
        gw = netaddr.IPAddress(str(net.gateway)) if net.gateway else netaddr.IPAddress(prefix.first + 1)
        networks[net.name] = LabNetwork(net.name, f"br-n{len(networks)}", prefix, gw)
    return LabHost(name=UMS_HOST, group="ums", netns=f"tw-{slug}-{UMS_HOST}", management_address=management,
                   address=iface, network=net.name, gateway=networks[net.name].gateway)


def _vpn_routes(inv: Inventory) -> list[tuple[netaddr.IPNetwork, netaddr.IPAddress]]:
    concentrators = {c.name: netaddr.IPAddress(str(c.address.ip)) for c in inv.vpn_concentrators}
    return [(netaddr.IPNetwork(str(p.prefix)), concentrators[p.concentrator])
            for p in sorted(inv.address_pools, key=lambda p: p.name) if p.concentrator in concentrators]
