"""What one SIP server serves: the people with a phone whose number lies in its number blocks.

A subscriber is a person (active, with `phone`) whose DID is in one of the server's blocks; the
SIP user name is the extension, the domain and digest realm the organisation's domain. Secrets
are named here, never read: the deploy decrypts them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import netaddr

from telework.core.problems import TeleworkError
from telework.inventory.loaded import LoadedInventory
from telework.inventory.lookup import unknown_name
from telework.inventory.model import DeskPhone, DeviceStatus, NumberBlock, PersonStatus, SipServer
from telework.roles.sip.secret_names import sip_password_secret, tls_key_secret


class SipError(TeleworkError):
    """The SIP role cannot render a server from this inventory."""


@dataclass(frozen=True, slots=True)
class Subscriber:
    """One registrable account: `extension`@realm, reached from outside under `did`."""

    username: str
    name: str
    department: str
    extension: str
    did: str
    block: str
    password_secret: str


@dataclass(frozen=True)
class SipView:
    """Everything a SIP server's deploy renders."""

    server: SipServer
    #: SIP domain and digest realm (HA1 = md5(extension:realm:password))
    realm: str
    internal_address: netaddr.IPAddress
    internal_prefix: netaddr.IPNetwork
    public_address: netaddr.IPAddress
    blocks: list[NumberBlock]
    subscribers: list[Subscriber]
    #: desk phones of the subscribers (provisioning), by MAC
    desk_phones: list[DeskPhone]
    tls_key_secret: str

    def subscriber(self, username: str) -> Subscriber | None:
        return self._by_username.get(username)

    @cached_property
    def _by_username(self) -> dict[str, Subscriber]:
        return {s.username: s for s in self.subscribers}


def _in_block(did: str, block: NumberBlock) -> bool:
    if not did.startswith(block.prefix):
        return False
    rest = did[len(block.prefix):]
    return rest.isdigit() and block.first <= int(rest) <= block.last


def sip_view(loaded: LoadedInventory, server_name: str) -> SipView:
    """The subscribers, blocks and addresses of one SIP server.

    Raises UnknownName for a server the inventory does not have."""
    inv = loaded.model
    server = next((s for s in inv.sip_servers if s.name == server_name), None)
    if server is None:
        raise unknown_name(loaded, "SIP server", server_name, (s.name for s in inv.sip_servers))
    blocks = [b for b in inv.number_blocks if b.name in server.number_blocks]
    subscribers = []
    for person in sorted(inv.people, key=lambda p: p.username):
        if person.phone is None or person.status is not PersonStatus.active:
            continue
        block = next((b for b in blocks if _in_block(person.phone.did, b)), None)
        if block is None:
            continue
        subscribers.append(Subscriber(person.username, person.name, person.department, person.phone.extension,
                                      person.phone.did, block.name, sip_password_secret(person.username)))
    served = {s.username for s in subscribers}
    phones = sorted((p for p in inv.desk_phones if p.owner in served and p.status is DeviceStatus.active),
                    key=lambda p: p.mac)
    iface = netaddr.IPNetwork(str(server.address))
    return SipView(
        server=server,
        realm=inv.organisation.domain,
        internal_address=iface.ip,
        internal_prefix=iface.cidr,
        public_address=netaddr.IPAddress(str(server.public_address)),
        blocks=blocks,
        subscribers=subscribers,
        desk_phones=phones,
        tls_key_secret=tls_key_secret(server.name),
    )
