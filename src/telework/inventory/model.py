"""The inventory model: what an organisation's home-office estate consists of.

One pydantic model per inventory object, closed sets as enums, netaddr objects for
addresses (never strings once loaded). Unknown keys are errors, so a typo such as
`departmnet:` is reported instead of silently ignored. The same models produce the
JSON Schema that editors use to complete and check the YAML files (`telework schema`).

Cross-references (a person's department exists, a DID lies in a number block, ...) are
checked in `telework.inventory.validation`, which sees the whole inventory.
"""

from __future__ import annotations

import re
from enum import Enum
from typing import Annotated, Any, Literal

import netaddr
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PrivateAttr,
    StrictBool,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

# ---------------------------------------------------------------- value types


def _to_network(value: Any) -> netaddr.IPNetwork:
    if isinstance(value, netaddr.IPNetwork):
        return value
    if not isinstance(value, str) or "/" not in value:
        raise ValueError("expected a prefix with its length such as 10.20.0.0/24")
    try:
        net = netaddr.IPNetwork(value)
    except (netaddr.AddrFormatError, ValueError, TypeError) as exc:
        raise ValueError(f"not an IP prefix: {value!r}") from exc
    if net.network != net.ip:
        raise ValueError(f"host bits set in {value}: the prefix is {net.cidr}")
    return net


def _to_interface(value: Any) -> netaddr.IPNetwork:
    """An address with its mask (NetBox style): 10.20.0.5/24."""
    if isinstance(value, netaddr.IPNetwork):
        return value
    if not isinstance(value, str) or "/" not in value:
        raise ValueError("expected an address with its mask such as 10.20.0.5/24")
    try:
        return netaddr.IPNetwork(value)
    except (netaddr.AddrFormatError, ValueError, TypeError) as exc:
        raise ValueError(f"not an address with mask: {value!r}") from exc


def _to_address(value: Any) -> netaddr.IPAddress:
    if isinstance(value, netaddr.IPAddress):
        return value
    if not isinstance(value, str):
        raise ValueError("expected an IP address such as 198.51.100.10")
    try:
        return netaddr.IPAddress(value)
    except (netaddr.AddrFormatError, ValueError, TypeError) as exc:
        raise ValueError(f"not an IP address: {value!r}") from exc


_MAC_RE = re.compile(r"^[0-9A-Fa-f]{2}([:-][0-9A-Fa-f]{2}){5}$")


def _to_mac(value: Any) -> str:
    if not isinstance(value, str) or not _MAC_RE.match(value):
        raise ValueError("expected a MAC address such as 00:E0:C5:12:34:56")
    return value.replace("-", ":").upper()


def _to_e164(value: Any) -> str:
    """Phone numbers are written readably (+49 9999 12-345) and kept as E.164 digits."""
    if not isinstance(value, str):
        raise ValueError("expected a phone number in quotes such as '+49 9999 123-4567'")
    digits = re.sub(r"[\s\-/()]", "", value)
    if not re.fullmatch(r"\+[1-9][0-9]{4,14}", digits):
        raise ValueError(f"not an international number: {value!r} (write it as +49 ...)")
    return digits


def _str_schema(fmt: str, pattern: str | None = None, example: str | None = None):
    schema: dict[str, Any] = {"type": "string", "format": fmt}
    if pattern:
        schema["pattern"] = pattern
    if example:
        schema["examples"] = [example]
    return WithJsonSchema(schema)


Prefix = Annotated[
    netaddr.IPNetwork,
    BeforeValidator(_to_network),
    PlainSerializer(str, return_type=str),
    _str_schema("ip-prefix", r"^[0-9a-fA-F:.]+/[0-9]{1,3}$", "10.20.0.0/24"),
]
Interface = Annotated[
    netaddr.IPNetwork,
    BeforeValidator(_to_interface),
    PlainSerializer(str, return_type=str),
    _str_schema("ip-interface", r"^[0-9a-fA-F:.]+/[0-9]{1,3}$", "10.20.0.5/24"),
]
Address = Annotated[
    netaddr.IPAddress,
    BeforeValidator(_to_address),
    PlainSerializer(str, return_type=str),
    _str_schema("ip-address", None, "198.51.100.10"),
]
Mac = Annotated[str, BeforeValidator(_to_mac), _str_schema("mac", _MAC_RE.pattern, "00:E0:C5:12:34:56")]
PhoneNumber = Annotated[str, BeforeValidator(_to_e164), _str_schema("phone", None, "+49 9999 123-4567")]
Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=63)]
Username = Annotated[str, Field(pattern=r"^[a-z][a-z0-9._-]{0,31}$")]
Hostname = Annotated[str, Field(pattern=r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")]
Extension = Annotated[str, Field(pattern=r"^[0-9]{2,6}$", description="internal extension, quoted: '2345'")]
WireguardKey = Annotated[str, Field(pattern=r"^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$")]


class Model(BaseModel):
    """Base of every inventory object: unknown keys are errors, values are validated on assignment."""

    # defer_build: see Inventory
    model_config = ConfigDict(extra="forbid", frozen=False, arbitrary_types_allowed=True, defer_build=True)


# ---------------------------------------------------------------- closed sets


class PersonStatus(str, Enum):
    active = "active"
    suspended = "suspended"  # keeps numbers and addresses, no access


class DeviceStatus(str, Enum):
    """A device's life: ordered -> spare (in stock) -> active (deployed) -> retired."""

    ordered = "ordered"  # bought, not delivered: MAC, serial and model may still be unknown
    active = "active"  # deployed
    spare = "spare"  # in stock, no access
    retired = "retired"  # kept for the audit trail until removed


class NetworkPurpose(str, Enum):
    servers = "servers"
    clients = "clients"
    management = "management"
    voice = "voice"
    dmz = "dmz"


class PoolKind(str, Enum):
    openvpn = "openvpn"
    wireguard = "wireguard"


# ---------------------------------------------------------------- organisation


class Settings(Model):
    """Organisation-wide defaults that deploys and tools read."""

    apt_proxy: str | None = Field(None, description="HTTP proxy for apt on managed hosts, e.g. http://10.20.0.1:3142")
    timezone: str = "Europe/Berlin"
    address_quarantine_days: int = Field(
        180, ge=0, description="days a released VPN address stays unused so log lines keep pointing at one person"
    )
    ntp_servers: list[str] = Field(default_factory=list)
    dns_servers: list[Address] = Field(default_factory=list)
    search_domain: str | None = None


class Helpdesk(Model):
    """Who people call when their access does not work: printed in handover letters."""

    phone: str | None = Field(None, description="the helpdesk's number as people dial it, e.g. +49 9999 12-1000")
    email: str | None = Field(None, description="the helpdesk's mailbox; default: the organisation's contact")
    hours: str | None = Field(None, description="when it answers, e.g. Mo-Fr 7:30-16:00")


class Organisation(Model):
    name: str = Field(description="official name, e.g. Stadt Grünfelden")
    slug: Slug
    domain: str = Field(description="DNS domain of the organisation")
    contact: str | None = Field(None, description="mailbox of the IT department")
    helpdesk: Helpdesk | None = Field(None, description="the helpdesk named in handover letters")
    settings: Settings = Field(default_factory=Settings)


class Site(Model):
    id: Slug
    name: str
    address: str | None = Field(None, description="postal address")


class RolloutRing(Model):
    """Changes reach endpoints ring by ring: pilot users first, everyone last."""

    name: Slug
    order: int = Field(ge=0, description="lower rings are applied first")
    failure_threshold: float = Field(
        0.1, ge=0, le=1, description="share of failed hosts in this ring that stops the rollout"
    )
    description: str | None = None


class Department(Model):
    id: Slug
    name: str
    access: list[Slug] | Literal["all"] = Field(
        default_factory=list,
        description="internal networks its people reach over the VPN, e.g. [fileserver, intranet]; `all`: every "
                    "network of the inventory, including networks added later (IT)",
        examples=[["fileserver", "intranet"], "all"])
    #: `access: all` as written (access then holds every network's name, see Inventory)
    _access_all: bool = PrivateAttr(False)

    @property
    def reaches_all(self) -> bool:
        return self._access_all


# ---------------------------------------------------------------- addressing


class Network(Model):
    name: Slug
    site: Slug | None = Field(None, description="the site it belongs to; none for an organisation-wide network "
                              "(a county's data centre, a hosted service)")
    prefix: Prefix
    purpose: NetworkPurpose
    gateway: Address | None = None
    description: str | None = None


class AddressPool(Model):
    """VPN tunnel addresses; each concentrator has its own pool per tunnel kind."""

    name: Slug
    prefix: Prefix
    kind: PoolKind
    concentrator: Hostname
    description: str | None = None


class NumberBlock(Model):
    """A block of city numbers (DIDs): `prefix` followed by an extension in [first, last].

    Every extension of a block has as many digits as `last` (1000-1499: four digits)."""

    name: Slug
    site: Slug | None = Field(None, description="the site whose numbers these are; none for organisation-wide numbers")
    prefix: PhoneNumber = Field(description="number before the extension, e.g. '+49 9999 123'")
    first: int = Field(ge=0, description="lowest extension, e.g. 1000")
    last: int = Field(ge=0, description="highest extension; its number of digits is every extension's, e.g. 1499")
    description: str | None = None
    #: the prefix as written ('+49 9999 12'): people read numbers in that grouping (DIN 5008)
    _written_prefix: str | None = PrivateAttr(None)

    @model_validator(mode="wrap")
    @classmethod
    def _keep_written_prefix(cls, data: Any, handler):
        block = handler(data)
        if isinstance(data, dict) and isinstance(data.get("prefix"), str):
            block._written_prefix = " ".join(data["prefix"].replace("-", " ").replace("/", " ").split())
        return block

    @property
    def written_prefix(self) -> str:
        return self._written_prefix or self.prefix


# ---------------------------------------------------------------- servers


class Server(Model):
    name: Hostname
    site: Slug
    address: Interface = Field(description="address with mask in one of the site's networks")
    ring: Slug | None = None
    description: str | None = None


class VpnConcentrator(Server):
    public_address: Address = Field(description="where home-office clients connect")
    auth_server: Hostname = Field(description="RADIUS server checking the second factor")
    openvpn_port: int = Field(1194, ge=1, le=65535)
    wireguard_port: int = Field(51820, ge=1, le=65535)


class AuthServer(Server):
    pass


class SipServer(Server):
    public_address: Address
    number_blocks: list[Slug] = Field(description="blocks whose numbers this server registers")
    sip_port: int = Field(5060, ge=1, le=65535)
    sips_port: int = Field(5061, ge=1, le=65535)


# ---------------------------------------------------------------- people


class Phone(Model):
    extension: Extension
    did: PhoneNumber = Field(description="the city number, inside one of the number blocks")


class Person(Model):
    username: Username
    name: str
    department: Slug
    site: Slug
    status: PersonStatus = PersonStatus.active
    vpn: StrictBool = Field(False, description="remote-access account with a second factor (TOTP)")
    extra_access: list[Slug] = Field(default_factory=list, description="networks beyond the department's")
    phone: Phone | None = None
    vpn_address: Address | None = Field(None, description="pinned tunnel address (inside the OpenVPN pools)")
    email: str | None = None
    home_office: StrictBool | None = Field(
        None, description="works from home: true or false; left out, it follows from the person's access "
                          "(a VPN account, a WireGuard device or a desk phone at home)")


# ---------------------------------------------------------------- endpoints


class Endpoint(Model):
    name: Hostname
    site: Slug
    owner: Username | None = None
    ring: Slug
    status: DeviceStatus = DeviceStatus.active
    serial: str | None = None
    mac: Mac | None = None
    description: str | None = None


class IgelDevice(Endpoint):
    """An IGEL device; serial, MAC, model and firmware are required once it is delivered (any
    status but `ordered`)."""

    serial: str | None = Field(None, description="serial number, quoted: '11A1B2C3D'")
    mac: Mac | None = None
    model: str | None = Field(None, description="hardware model, e.g. UD3-M340C")
    firmware: str | None = Field(None, description="IGEL OS version, quoted: '12.5.1'")
    ums_directory: str | None = Field(
        None, description="UMS directory below the device's ring directory (a/b); defaults to its site")

    @model_validator(mode="after")
    def _delivered_devices_are_known(self) -> IgelDevice:
        if self.status is not DeviceStatus.ordered:
            missing = [key for key in ("serial", "mac", "model", "firmware") if getattr(self, key) is None]
            if missing:
                raise PydanticCustomError(
                    "device_incomplete", "{missing} required for a device with status {status}",
                    {"missing": ", ".join(missing), "status": self.status.value})
        return self


class Ums(Model):
    """The organisation's IGEL UMS and how telework places IGEL devices in it (IMI REST API v3).

    Devices sit in `<root>/<ring>/<site>`: a ring directory is where an administrator assigns
    the ring's firmware in the UMS, so moving a device between rings is its firmware rollout.
    """

    url: str = Field(pattern=r"^https://[^/\s]+/?$", description="the UMS, e.g. https://ums.example.org:8443")
    address: Interface | None = Field(None, description="the UMS server's address with mask in a site network "
                                      "(the lab runs its stand-in there)")
    ca_file: str = Field(description="PEM file (relative to the inventory) of the CA that issued the UMS certificate")
    user: str = Field(min_length=1, description="IMI account telework logs in with")
    password_secret: str = Field("ums/imi-password", description="age secret holding that account's password")
    root: str = Field(pattern=r"^[^/]{1,64}$", description="managed directory at the top of the UMS tree; "
                                                           "nothing outside it is changed")
    os12_profiles: list[str] = Field(default_factory=list, description="IGEL OS 12 profiles assigned to every "
                                     "ring directory, in order (IGEL OS 11 devices ignore them)")
    os11_profiles: list[str] = Field(default_factory=list, description="IGEL OS 11 profiles assigned to every "
                                     "ring directory after them (IGEL OS 12 devices ignore them)")
    ring_firmware: dict[Slug, list[str]] = Field(
        default_factory=dict, description="per ring, the IGEL OS versions (one per major) its devices get")
    command_rate: float = Field(2.0, gt=0, le=100, description="devices per second that commands reach")
    command_batch: int = Field(25, ge=1, le=1000, description="devices per command request")
    delete_unlisted: StrictBool = Field(False, description="delete devices below root that the inventory "
                                        "does not list (default: report them)")
    adopt_from: list[str] = Field(default_factory=list, description="UMS directories outside root from "
                                  "which listed devices are moved in (e.g. /Unassigned)")


class LinuxEndpoint(Endpoint):
    """A Linux PC or notebook managed with pyinfra over its WireGuard tunnel."""

    wireguard_public_key: WireguardKey | None = Field(
        None, description="collected from the device; its private key never leaves it"
    )
    vpn_address: Address | None = Field(None, description="pinned tunnel address (inside the WireGuard pools)")


class Notebook(LinuxEndpoint):
    pass


class Workstation(Model):
    """An office PC or thin client that never leaves the building: recorded (owner, MAC, serial for
    the asset list and the audit), not reached over the VPN and not configured by telework."""

    name: Hostname = Field(description="host name, e.g. ws-rathaus-0042")
    site: Slug
    owner: Username | None = Field(None, description="the person at this desk; none for a shared or counter PC")
    status: DeviceStatus = DeviceStatus.active
    serial: str | None = None
    mac: Mac | None = None
    description: str | None = Field(None, description="model or place, e.g. 'Fujitsu Esprimo, Bürgerbüro counter 3'")


class DeskPhone(Model):
    mac: Mac
    model: str
    owner: Username
    site: Slug
    status: DeviceStatus = DeviceStatus.active


# ---------------------------------------------------------------- the whole inventory


class Inventory(Model):
    """All sections of an inventory, merged from its files (see `telework.inventory.source`)."""

    model_config = ConfigDict(
        extra="forbid",
        arbitrary_types_allowed=True,
        json_schema_extra={"title": "telework inventory file"},
        # validators are built on first use: a cached inventory (telework.inventory.cache)
        # is unpickled without them
        defer_build=True,
    )

    _indexes: dict = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _expand_access_all(self) -> Inventory:
        """`access: all` follows the networks: it is every network's name, also of one added later."""
        names = [n.name for n in self.networks]
        for dep in self.departments:
            if dep.access == "all" or dep._access_all:
                dep._access_all = True
                dep.access = list(names)
        return self

    organisation: Organisation
    sites: list[Site] = Field(default_factory=list)
    rollout_rings: list[RolloutRing] = Field(default_factory=list)
    departments: list[Department] = Field(default_factory=list)
    networks: list[Network] = Field(default_factory=list)
    address_pools: list[AddressPool] = Field(default_factory=list)
    number_blocks: list[NumberBlock] = Field(default_factory=list)
    vpn_concentrators: list[VpnConcentrator] = Field(default_factory=list)
    auth_servers: list[AuthServer] = Field(default_factory=list)
    sip_servers: list[SipServer] = Field(default_factory=list)
    people: list[Person] = Field(default_factory=list)
    igel_devices: list[IgelDevice] = Field(default_factory=list)
    ums: Ums | None = Field(None, description="the IGEL UMS the igel_devices are managed in")
    linux_endpoints: list[LinuxEndpoint] = Field(default_factory=list)
    notebooks: list[Notebook] = Field(default_factory=list)
    desk_phones: list[DeskPhone] = Field(default_factory=list)
    workstations: list[Workstation] = Field(default_factory=list)

    # ---- lookups used by validation, IPAM, rendering and the pyinfra adapter

    def person(self, username: str) -> Person | None:
        return self._index("people", "username").get(username)

    def site(self, site_id: str) -> Site | None:
        return self._index("sites", "id").get(site_id)

    def network(self, name: str) -> Network | None:
        return self._index("networks", "name").get(name)

    def department(self, dep_id: str) -> Department | None:
        return self._index("departments", "id").get(dep_id)

    def servers(self) -> list[tuple[str, Server]]:
        """Every managed server as (role group, server)."""
        return (
            [("vpn_concentrators", s) for s in self.vpn_concentrators]
            + [("auth_servers", s) for s in self.auth_servers]
            + [("sip_servers", s) for s in self.sip_servers]
        )

    def managed_endpoints(self) -> list[tuple[str, LinuxEndpoint]]:
        """Endpoints telework configures over SSH (IGEL devices go through UMS instead)."""
        return [("linux_endpoints", e) for e in self.linux_endpoints] + [("notebooks", e) for e in self.notebooks]

    def wireguard_devices(self) -> list[LinuxEndpoint]:
        return [e for _, e in self.managed_endpoints() if e.status is DeviceStatus.active]

    def vpn_people(self) -> list[Person]:
        return [p for p in self.people if p.vpn and p.status is PersonStatus.active]

    def reachable_networks(self, person: Person) -> list[str]:
        """Networks a person reaches through the VPN: the department's plus their own extras."""
        dep = self.department(person.department)
        names = list(dep.access if dep else []) + [n for n in person.extra_access]
        return sorted(set(names))

    def _index(self, section: str, key: str) -> dict:
        cache = self._indexes
        if section not in cache:
            cache[section] = {getattr(item, key): item for item in getattr(self, section)}
        return cache[section]


#: The sections that are lists of objects, with the key that names each item.
LIST_SECTIONS: dict[str, str] = {
    "sites": "id",
    "rollout_rings": "name",
    "departments": "id",
    "networks": "name",
    "address_pools": "name",
    "number_blocks": "name",
    "vpn_concentrators": "name",
    "auth_servers": "name",
    "sip_servers": "name",
    "people": "username",
    "igel_devices": "name",
    "linux_endpoints": "name",
    "notebooks": "name",
    "desk_phones": "mac",
    "workstations": "name",
}
