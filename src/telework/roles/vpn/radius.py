"""What one RADIUS (auth) server serves: the concentrators that ask it and the people who may
log in (see telework.roles.vpn.people for the rules). Secrets are named, never included."""

from __future__ import annotations

from dataclasses import dataclass

import netaddr

from telework.core.gcpause import without_gc_pauses
from telework.inventory.loaded import LoadedInventory
from telework.inventory.lookup import unknown_name
from telework.inventory.model import AuthServer
from telework.roles.vpn.people import facts_of
from telework.roles.vpn.secret_names import radius_secret, totp_secret


@dataclass(frozen=True)
class RadiusClient:
    """A concentrator that asks this RADIUS server, from its internal address."""

    name: str
    address: netaddr.IPAddress
    secret: str


@dataclass(frozen=True, slots=True)
class RadiusUser:
    """A person who may log in: username and the name of their TOTP seed secret."""

    username: str
    totp_secret: str


@dataclass(frozen=True)
class RadiusView:
    auth_server: AuthServer
    clients: list[RadiusClient]
    users: list[RadiusUser]


@without_gc_pauses
def radius_view(loaded: LoadedInventory, auth_server_name: str) -> RadiusView:
    """The concentrators that use `auth_server_name` and every person who may log in (has
    access and is enrolled). Secrets are named, never included."""
    facts = facts_of(loaded)
    inv = facts.inv
    server = next((a for a in inv.auth_servers if a.name == auth_server_name), None)
    if server is None:
        raise unknown_name(loaded, "auth server", auth_server_name, (a.name for a in inv.auth_servers))
    clients = [RadiusClient(c.name, c.address.ip, radius_secret(c.name))
               for c in sorted(inv.vpn_concentrators, key=lambda c: c.name) if c.auth_server == server.name]
    users = []
    for person in sorted(inv.people, key=lambda p: p.username):
        if not person.vpn:
            continue
        vp = facts.person(person)
        if vp.has_access and vp.enrolled:
            users.append(RadiusUser(vp.username, totp_secret(vp.username)))
    return RadiusView(server, clients, users)

