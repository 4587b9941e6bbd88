"""Rendering for the VPN roles that is more than filling in a template.

deploy/vpn_concentrator.py and deploy/auth_server.py call these with values from
`telework.roles.vpn.concentrator` and `.radius` (the concentrator's and the RADIUS server's views of the inventory); nothing
here reads host data or secrets, so it is tested without a host (tests/unit/test_vpn_roles.py).
"""

from __future__ import annotations

import netaddr

from telework.roles.vpn.concentrator import ConcentratorView, OpenVpnClient


def netmask(network: netaddr.IPNetwork) -> str:
    return str(network.netmask)


def ccd_file(client: OpenVpnClient, network: netaddr.IPNetwork, _memo: dict | None = None) -> str:
    """The client-config-dir file of one person: their fixed address and their routes only.

    A fixed address per person makes every log line and firewall counter point at one person;
    pushing only the networks they may reach keeps everything else on their home line.
    """
    # people share the netmask and, with the same networks (hence prefixes), the routes
    memo = {} if _memo is None else _memo
    netmask = memo.get("netmask")
    if netmask is None:
        netmask = memo["netmask"] = str(network.netmask)
    key = tuple(client.networks)
    routes = memo.get(key)
    if routes is None:
        routes = memo[key] = "".join(f'push "route {p.network} {p.netmask}"\n' for p in client.prefixes)
    return (f"# {client.username}: department {client.department}, access group {client.group}\n"
            "# managed by telework: written from allocations.yml and the department's access\n"
            f"ifconfig-push {client.address} {netmask}\n{routes}")


def ccd_files(view: ConcentratorView) -> dict[str, str]:
    """{username: ccd text} for every client of this concentrator's OpenVPN pool."""
    if view.openvpn_pool is None:
        return {}
    memo: dict = {}
    return {c.username: ccd_file(c, view.openvpn_pool.network, memo) for c in view.openvpn_clients}


def nft_elements(items) -> str:
    """`a, b, c` for an nftables set literal, sorted so the ruleset text is stable."""
    return ", ".join(str(i) for i in sorted(items))
