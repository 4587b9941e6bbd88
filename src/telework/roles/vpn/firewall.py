"""What the VPN roles add to their host's firewall (telework.roles.base.firewall composes it).

A concentrator opens OpenVPN on its public address and WireGuard, and routes the tunnels by the
access policy (one set per access group, everything else from the tunnels dropped and logged).
An auth server opens RADIUS only to the concentrators that are its clients, on its own address.
"""

from __future__ import annotations

from typing import Any

import netaddr

from telework.engine.deploy_support import render_template
from telework.inventory.loaded import LoadedInventory
from telework.roles.base.firewall import Opening, RoleRules
from telework.roles.vpn.concentrator import concentrator_view
from telework.roles.vpn.radius import radius_view
from telework.roles.vpn.render import nft_elements


def concentrator_firewall(loaded: LoadedInventory, host_name: str, data: Any) -> RoleRules:
    """OpenVPN and WireGuard ports, the access groups' sets and forward rules."""
    view = concentrator_view(loaded, host_name)
    c = view.concentrator
    tunnels = ", ".join(f'"{i}"' for i in (data.get("vpn_openvpn_device"), data.get("vpn_wireguard_interface")))
    context = {"name": host_name, "groups": view.access_groups, "nft_elements": nft_elements, "tunnels": tunnels,
               "log_rate": data.get("base_firewall_log_rate"),
               "forward_log_prefix": data.get("vpn_nft_log_prefix_forward_drop")}
    return RoleRules(
        openings=(
            Opening("openvpn", "udp", c.openvpn_port, destination=netaddr.IPAddress(str(c.public_address))),
            # wireguard-go and the kernel both bind every address
            Opening("wireguard", "udp", c.wireguard_port),
        ),
        declarations=render_template("vpn_concentrator", "nftables/access-sets.nft", **context).rstrip("\n"),
        forward=render_template("vpn_concentrator", "nftables/access-forward.nft", **context).rstrip("\n"),
    )


def auth_server_firewall(loaded: LoadedInventory, host_name: str, data: Any) -> RoleRules:
    """RADIUS from the concentrators that ask this server, nobody else."""
    view = radius_view(loaded, host_name)
    sources = tuple(netaddr.IPNetwork(f"{c.address}/32") for c in view.clients)
    return RoleRules(openings=(
        Opening("radius", "udp", int(data.get("radius_auth_port")), sources=sources,
                destination=netaddr.IPAddress(str(view.auth_server.address.ip))),
    ))
