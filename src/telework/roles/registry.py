"""The roles telework has built: which inventory groups each serves, and with what.

A role's name is its name everywhere: `deploy/<name>.py`, `templates/<name>/`,
`tests/hosts/test_<name>.py`, and `group_data/<group>.py` for the group it serves (a role
serving several groups keeps its defaults in `group_data/all.py`, in a section of its own).
Every default it reads starts with its `data_prefix`, so two roles never share a name by
accident. Its code (view of the inventory, rendering, CLI commands, secret names, audit
events) lives in its package, `telework.roles.<package>`.

`deploy/site.py`, `telework plan|apply|verify`, pull mode and the CLI read this registry; a
host in a group that no role here serves is *unmanaged*: nothing connects to it, and every
plan format says so (`--strict` makes it an error). The `base` role serves every managed SSH
host and does not make a host managed on its own.

Roles reached over SSH have a deploy file; roles managing devices through an API (IGEL's UMS)
have a reconciler instead (`telework.plan.targets.Reconciler`), named as "module:factory".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True)
class Role:
    name: str
    #: the role's code: telework.roles.<package> (or another telework package for pull_agent)
    package: str
    #: inventory groups it serves (empty and `universal`: every managed SSH host)
    groups: tuple[str, ...] = ()
    kind: Literal["ssh", "api"] = "ssh"
    universal: bool = False
    #: every group_data default of the role starts with it: `vpn_openvpn_instance`, `radius_...`
    data_prefix: str = ""
    #: top-level CLI commands it adds: name -> "module:attribute" (a click command or group)
    cli: dict[str, str] = field(default_factory=dict)
    #: subcommands of `telework person` it adds: name -> "module:attribute"
    person_commands: dict[str, str] = field(default_factory=dict)
    #: subcommands of `telework lab` it adds (checks with real clients): name -> "module:attribute"
    lab_commands: dict[str, str] = field(default_factory=dict)
    #: what it adds to `telework person show`: "module:function" (loaded, username) -> PersonFacts
    person_view: str | None = None
    #: what it adds to `telework person status` (read from its hosts): "module:function"
    #: (loaded, username, hosts) -> LiveFacts
    person_status: str | None = None
    #: files of the inventory it writes and the audit reads: "module:attribute" of RoleFiles
    audit: str | None = None
    #: API roles: "module:factory" of its reconciler (or the factory itself, for tests)
    reconciler: object = None
    #: SSH roles: "module:function" giving the ports it opens (and sets, forward rules) in its
    #: host's firewall, (loaded, host_name, host_data) -> telework.roles.base.firewall.RoleRules;
    #: None: it opens nothing (the base role's ruleset drops everything but SSH from management)
    firewall: str | None = None
    description: str = ""

    @property
    def deploy_file(self) -> str | None:
        """deploy/<name>.py (SSH roles)."""
        return f"{self.name}.py" if self.kind == "ssh" else None

    @property
    def suite(self) -> str:
        """tests/hosts/test_<name>.py: the role's Testinfra suite."""
        return f"test_{self.name}.py"


@dataclass
class PersonFacts:
    """What one role adds to `person show`: top-level JSON fields, text lines, and per device
    (by name) extra JSON fields and a text for the devices table's details column."""

    json: dict = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)
    devices: dict[str, dict] = field(default_factory=dict)
    device_details: dict[str, str] = field(default_factory=dict)
    #: lines printed after the devices table
    trailer: list[str] = field(default_factory=list)


@dataclass
class LiveFacts:
    """What one role's hosts say of a person now (`person status`): JSON fields, text lines,
    and the hosts that did not answer (name -> why)."""

    json: dict = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)
    unreachable: dict[str, str] = field(default_factory=dict)


ROLES: tuple[Role, ...] = (
    Role("base", "telework.roles.base", universal=True, data_prefix="base_",
         description="every managed host: apt proxy, time zone, SSH hardening, the host firewall"),
    Role("vpn_concentrator", "telework.roles.vpn", groups=("vpn_concentrators",), data_prefix="vpn_",
         cli={"pki": "telework.roles.vpn.cli:pki_group"},
         person_commands={"enroll": "telework.roles.vpn.cli:enroll", "revoke": "telework.roles.vpn.cli:revoke"},
         person_view="telework.roles.vpn.person:person_facts",
         person_status="telework.roles.vpn.status:person_status",
         lab_commands={"vpn-check": "telework.roles.vpn.lab_cli:vpn_check"},
         audit="telework.roles.vpn.audit:AUDIT_FILES",
         firewall="telework.roles.vpn.firewall:concentrator_firewall",
         description="OpenVPN (certificate + TOTP) and WireGuard, the access policy in nftables"),
    Role("auth_server", "telework.roles.vpn", groups=("auth_servers",), data_prefix="radius_",
         firewall="telework.roles.vpn.firewall:auth_server_firewall",
         description="FreeRADIUS checking the TOTP second factor"),
    Role("sip_server", "telework.roles.sip", groups=("sip_servers",), data_prefix="sip_",
         cli={"sip": "telework.roles.sip.cli:sip_group"},
         person_view="telework.roles.sip.person:person_facts",
         person_status="telework.roles.sip.status:person_status",
         firewall="telework.roles.sip.firewall:sip_server_firewall",
         description="Kamailio registrar and edge proxy over TLS, rtpengine media relay with SRTP"),
    Role("igel", "telework.roles.igel", groups=("igel_devices",), kind="api", data_prefix="igel_",
         reconciler="telework.roles.igel.ums_targets:reconciler",
         cli={"igel": "telework.roles.igel.cli:igel_group"},
         person_view="telework.roles.igel.person:person_facts",
         person_status="telework.roles.igel.status:person_status",
         lab_commands={"fake-ums": "telework.roles.igel.lab_cli:fake_ums"},
         description="IGEL thin clients placed in the UMS (IMI v3): records, ring/site directories, "
                     "profile assignments, firmware rollout by ring"),
    Role("pull_agent", "telework.pull", groups=("linux_endpoints", "notebooks"), data_prefix="pull_",
         cli={"pull": "telework.cli.pull:pull_group"},
         description="the pull agent of endpoints that are offline when CI runs"),
)


def roles(registry: Iterable[Role] | None = None) -> tuple[Role, ...]:
    return tuple(ROLES if registry is None else registry)


def role(name: str, registry: Iterable[Role] | None = None) -> Role:
    for r in roles(registry):
        if r.name == name:
            return r
    raise KeyError(f"no role {name!r}; roles: {', '.join(r.name for r in roles(registry))}")


def roles_serving(groups: Iterable[str], registry: Iterable[Role] | None = None, *,
                  kind: str = "ssh") -> list[Role]:
    """The roles a host in `groups` gets, base first; [] when no non-universal role serves it
    (the host is unmanaged)."""
    groups = set(groups)
    specific = [r for r in roles(registry) if r.kind == kind and not r.universal and groups & set(r.groups)]
    if not specific:
        return []
    return [r for r in roles(registry) if r.kind == kind and r.universal] + specific


def served_groups(registry: Iterable[Role] | None = None) -> set[str]:
    return {g for r in roles(registry) for g in r.groups}


def unserved_reason(groups: Iterable[str], registry: Iterable[Role] | None = None) -> str:
    """Why a host in `groups` is unmanaged, for plans and errors."""
    role_groups = [g for g in groups if not g.startswith(("site_", "ring_"))]
    built = ", ".join(sorted(served_groups(registry)))
    return (f"no role is built for {', '.join(role_groups) or 'its groups'} yet; telework does not "
            f"touch it (roles serve: {built})")
