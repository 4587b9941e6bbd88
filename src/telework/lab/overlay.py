"""The overlay file the pyinfra adapter reads: host -> lab address and key. Never the inventory."""

from __future__ import annotations

from pathlib import Path

import yaml

from telework.lab.state import lab_dir
from telework.lab.topology import HOME_CLIENT, HOME_LAN, UMS_HOST, Topology


def overlay_path(slug: str) -> Path:
    return lab_dir(slug) / "overlay.yml"


def overlay_data(topo: Topology) -> dict:
    d = lab_dir(topo.slug)
    ums = next((h for h in topo.hosts if h.name == UMS_HOST), None)
    extra = {"ums": {"url": f"https://{ums.management_address}:{UMS_PORT}"}} if ums else {}
    return {**_overlay_hosts(topo, d), **extra}


#: where the lab's fake UMS listens (the UMS's own port)
UMS_PORT = 8443


def _overlay_hosts(topo: Topology, d: Path) -> dict:
    return {
        "lab": topo.slug,
        "hosts": {
            h.name: {
                "ssh_hostname": str(h.management_address), "ssh_user": "root",
                "ssh_key": str(d / "id_ed25519"), "ssh_known_hosts_file": str(d / "known_hosts"),
                # the lab's apt-cacher-ng stands in for the organisation's `settings.apt_proxy`
                "apt_proxy": topo.apt_proxy_url,
                # the controller deploys over the lab's management range, which no inventory
                # names: the host firewall must accept SSH from it
                "base_extra_management_networks": [str(topo.management)],
            }
            for h in topo.hosts
        },
        "homes": {
            home.name: {
                "router_netns": home.router_netns,
                "client_netns": home.client_netns or topo.host(home.endpoint or "").netns,
                "lan": str(HOME_LAN), "client_address": str(HOME_CLIENT),
                "wan_address": str(home.wan_address),
                **({"endpoint": home.endpoint} if home.endpoint else {}),
            }
            for home in topo.homes
        },
    }


def write_overlay(topo: Topology) -> Path:
    path = overlay_path(topo.slug)
    path.write_text(yaml.safe_dump(overlay_data(topo), sort_keys=False, default_flow_style=None))
    return path
