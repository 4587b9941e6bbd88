"""What the SIP role adds to its host's firewall (telework.roles.base.firewall composes it).

On the public address: SIP over TLS and provisioning over HTTPS from anywhere, the media ports
of rtpengine, and plain SIP over UDP from the carrier only (when a trunk is set). On the
internal address: plain SIP (UDP and TCP) from the inventory's networks of the purposes in
`sip_internal_purposes` (voice, clients), nobody else.
"""

from __future__ import annotations

from typing import Any

import netaddr

from telework.inventory.loaded import LoadedInventory
from telework.roles.base.firewall import Opening, RoleRules
from telework.roles.sip.server import sip_view


def sip_server_firewall(loaded: LoadedInventory, host_name: str, data: Any) -> RoleRules:
    view = sip_view(loaded, host_name)
    public, internal = view.public_address, view.internal_address
    purposes = set(data.get("sip_internal_purposes") or ())
    internal_sources = tuple(sorted({netaddr.IPNetwork(str(n.prefix)) for n in loaded.model.networks
                                     if n.purpose.value in purposes}))
    media = f"{int(data.get('sip_rtp_port_min'))}-{int(data.get('sip_rtp_port_max'))}"
    openings = [
        Opening("sip-tls", "tcp", view.server.sips_port, destination=public),
        Opening("sip-provisioning", "tcp", int(data.get("sip_provisioning_port")), destination=public),
        # nft takes a range where a port goes: rtpengine's media ports
        Opening("sip-media", "udp", media, destination=public),  # type: ignore[arg-type]
        Opening("sip-internal-udp", "udp", view.server.sip_port, sources=internal_sources, destination=internal),
        Opening("sip-internal-tcp", "tcp", view.server.sip_port, sources=internal_sources, destination=internal),
    ]
    trunk = data.get("sip_trunk")
    if trunk:
        openings.append(Opening("sip-trunk", "udp", view.server.sip_port,
                                sources=(netaddr.IPNetwork(f"{trunk['address']}/32"),), destination=public))
    return RoleRules(openings=tuple(openings))
