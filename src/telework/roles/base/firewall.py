"""The host firewall: one nftables ruleset per host, default drop, composed from its roles.

The base role owns `/etc/nftables.conf` on every managed host. It accepts SSH only from the
management networks (inventory networks of purpose `management`, plus what an environment
overlay adds: the lab's controller range); every other role of the host adds only its own
service ports (`Opening`) and, for a router like the VPN concentrator, its sets and forward
rules (`RoleRules`). A role declares them through its registry entry's `firewall` hook
("module:function", called as `hook(loaded, host_name, data)`; `data` is the host's data,
read with `data.get(name)`: pyinfra's HostData or a dict), so one
host never has two rulesets that overwrite each other.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

import netaddr

from telework.engine.deploy_support import render_template
from telework.inventory.loaded import LoadedInventory
from telework.inventory.model import NetworkPurpose
from telework.roles.registry import Role


@dataclass(frozen=True)
class Opening:
    """One service port a role opens in the input chain, with a counter named like it."""

    #: names the rule (nft comment) and its counter, e.g. "radius"
    name: str
    protocol: Literal["tcp", "udp"]
    port: int
    #: accepted only from these (None: from anywhere; empty: from nobody, no rule at all)
    sources: tuple[netaddr.IPNetwork, ...] | None = None
    #: accepted only on this local address (None: every address of the host)
    destination: netaddr.IPAddress | None = None

    def rule(self) -> str | None:
        """The nft rule, or None when no source may reach it."""
        if self.sources is not None and not self.sources:
            return None
        match = []
        if self.sources is not None:
            match.append("ip saddr { " + ", ".join(str(s) for s in sorted(self.sources)) + " }")
        if self.destination is not None:
            match.append(f"ip daddr {self.destination}")
        match.append(f"{self.protocol} dport {self.port}")
        return " ".join(match) + f' counter accept comment "{self.name}"'


@dataclass(frozen=True)
class RoleRules:
    """What one role adds to its host's ruleset."""

    openings: tuple[Opening, ...] = ()
    #: nft declarations inside `table inet <table>` (sets)
    declarations: str = ""
    #: rules of the forward chain, before its final counted drop
    forward: str = ""


@dataclass(frozen=True)
class FirewallSettings:
    """The base role's own settings (group_data/all.py, base_firewall_*)."""

    table: str
    ssh_port: int
    log_rate: str
    input_log_prefix: str


@dataclass(frozen=True)
class HostFirewall:
    """The ruleset of one host and who may reach it over SSH (the deploy connection among them)."""

    text: str
    ssh_sources: tuple[netaddr.IPNetwork, ...]
    openings: tuple[Opening, ...] = field(default=())


def management_networks(loaded: LoadedInventory, extra: Iterable[str] = ()) -> tuple[netaddr.IPNetwork, ...]:
    """The inventory's management networks, and the ones an environment overlay adds."""
    nets = {netaddr.IPNetwork(str(n.prefix)) for n in loaded.model.networks
            if n.purpose == NetworkPurpose.management}
    nets |= {netaddr.IPNetwork(str(e)) for e in extra or ()}
    return tuple(sorted(nets))


def _hook(role: Role):
    module, attribute = str(role.firewall).split(":")
    return getattr(importlib.import_module(module), attribute)


def role_rules(roles: Iterable[Role], loaded: LoadedInventory, host_name: str,
               data: Any) -> list[tuple[Role, RoleRules]]:
    """Each role's contribution, in the order the roles deploy."""
    return [(r, _hook(r)(loaded, host_name, data)) for r in roles if r.firewall]


def host_firewall(loaded: LoadedInventory, host_name: str, roles: Iterable[Role], data: Any,
                  settings: FirewallSettings, header: str, extra_management: Iterable[str] = ()) -> HostFirewall:
    """The whole ruleset of `host_name` (templates/base/etc/nftables.conf.j2)."""
    ssh_sources = management_networks(loaded, extra_management)
    parts = role_rules(roles, loaded, host_name, data)
    openings = (Opening("ssh", "tcp", settings.ssh_port, ssh_sources),
                *(o for _, rules in parts for o in rules.openings))
    text = render_template(
        "base", "/etc/nftables.conf", header=header, name=host_name, table=settings.table,
        roles=[r.name for r in roles], openings=openings,
        declarations=[rules.declarations for _, rules in parts if rules.declarations],
        forward=[rules.forward for _, rules in parts if rules.forward],
        log_rate=settings.log_rate, input_log_prefix=settings.input_log_prefix,
    )
    return HostFirewall(text, ssh_sources, openings)

