"""What the VPN role adds to `telework person show`: access, networks, tunnel addresses,
enrolment, certificates, and each device's WireGuard addresses. Read from the inventory and
the files beside it; nothing is decrypted."""

from __future__ import annotations

from telework.inventory.loaded import LoadedInventory
from telework.inventory.model import PoolKind
from telework.ipam.allocations import Allocations, allocations_path, device_key
from telework.roles.registry import PersonFacts
from telework.roles.vpn import pki
from telework.roles.vpn.concentrator import network_prefixes
from telework.roles.vpn.people import vpn_person
from telework.roles.vpn.secret_names import totp_secret
from telework.secrets.store import SecretStore


def person_facts(loaded: LoadedInventory, username: str) -> PersonFacts:
    inv, inventory = loaded.model, loaded.root
    vp = vpn_person(loaded, username)
    allocations = Allocations.load(allocations_path(inventory))
    wg_pools = sorted((p for p in inv.address_pools if p.kind is PoolKind.wireguard), key=lambda p: p.concentrator)
    totp = SecretStore(inventory).info(totp_secret(username)) if vp.enrolled else None
    certs = [c for c in pki.load_issued(inventory) if c.owner == username and c.kind == "person"]
    networks = [(name, str(prefix)) for name in vp.networks for prefix in network_prefixes(loaded, [name])]
    addresses = {c: str(a) for c, a in vp.openvpn_address.items()}
    facts = PersonFacts(json={
        "vpn": vp.vpn, "has_access": vp.has_access,
        "enrolled": vp.enrolled, "totp_created": totp.created if totp else None,
        "totp_rotated": totp.rotated if totp else None,
        "revoked": None if vp.revocation is None else {"date": vp.revocation.date.isoformat(),
                                                       "reason": vp.revocation.reason, "by": vp.revocation.by},
        "networks": [{"name": name, "prefix": prefix} for name, prefix in networks],
        "openvpn_addresses": addresses,
        "certificates": [{"serial": c.serial, "not_after": c.not_after.isoformat(),
                          "revoked": None if c.revoked is None else c.revoked.reason} for c in certs],
    })
    for _section, endpoint in inv.managed_endpoints():
        if endpoint.owner != username:
            continue
        held = {p.concentrator: allocations.address_of(p.name, device_key(endpoint.name)) for p in wg_pools}
        held = {c: str(a) for c, a in held.items() if a is not None}
        facts.devices[endpoint.name] = {"addresses": held,
                                        "wireguard_public_key": bool(endpoint.wireguard_public_key)}
        facts.device_details[endpoint.name] = ("WireGuard " + ", ".join(f"{c} {a}" for c, a in held.items())
                                               if held else "")
    why_not = "revoked" if vp.revoked else "vpn: false" if not vp.vpn else vp.status.value
    enrolled = f"yes (TOTP since {totp.rotated or totp.created})" if totp else "no"
    facts.lines.append(f"VPN access: {'yes' if vp.has_access else f'no ({why_not})'}; enrolled: {enrolled}")
    if vp.revocation is not None:
        facts.lines.append(f"revoked {vp.revocation.date} by {vp.revocation.by}: {vp.revocation.reason}")
    facts.lines.append("networks: " + (", ".join(f"{name} ({prefix})" for name, prefix in networks) or "none"))
    facts.lines.append("OpenVPN addresses: " + (", ".join(f"{c} {a}" for c, a in addresses.items()) or "none"))
    for cert in certs:
        state = f"revoked: {cert.revoked.reason}" if cert.revoked else "valid"
        facts.trailer.append(f"certificate {cert.serial}, until {cert.not_after:%Y-%m-%d}, {state}")
    return facts
