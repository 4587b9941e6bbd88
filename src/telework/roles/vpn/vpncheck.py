"""`telework lab vpn-check`: one person's real OpenVPN login on every concentrator, and pings.

Through each tunnel every network of the person's department (and extra access) must answer,
and one network of another department, routed into the tunnel by force, must not: the
concentrator's firewall, not a missing route, refuses it.

pam_oath on the RADIUS server accepts one login per person per 30-second step (replay
protection shared by both concentrators), so the check waits for a fresh code before each
further login instead of failing on its own earlier one.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from telework.inventory.loading import require_inventory
from telework.lab.errors import LabError
from telework.lab.overlay import overlay_path
from telework.inventory.model import Inventory
from telework.lab.topology import lab_name, network_gateway
from telework.roles.vpn.lab_clients import OpenVpnClient, totp, wait_for_next_login
from telework.roles.vpn.people import vpn_person
from telework.roles.vpn.secret_names import totp_secret
from telework.secrets.store import SecretStore


@dataclass(frozen=True)
class Target:
    """An address to ping through the tunnel: the lab core router's leg in one inventory network."""

    network: str
    prefix: str
    address: str


@dataclass
class CheckResult:
    concentrator: str
    connected: bool
    address: str | None
    #: network -> answered (each network the person may reach must answer)
    reached: dict[str, bool] = field(default_factory=dict)
    #: network -> refused (one network of another department, routed into the tunnel, must not answer)
    refused: dict[str, bool] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.connected and all(self.reached.values()) and all(self.refused.values())


def check_targets(inv: Inventory, networks: list[str]) -> tuple[list[Target], Target | None]:
    """The networks a person reaches (all of them) and one they must not reach, for any inventory.

    The one refused is the first network another department reaches and the person does not
    (else any network outside their access; None when they reach every network). Every
    inventory network has its address in the lab (telework.lab.topology.network_gateway)."""
    by_name = {n.name: n for n in inv.networks}

    def target(name: str) -> Target:
        net = by_name[name]
        return Target(name, str(net.prefix), str(network_gateway(net)))

    mine = set(networks)
    reach = [target(name) for name in sorted(mine) if name in by_name]
    others = [name for dep in sorted(inv.departments, key=lambda d: d.id) for name in sorted(dep.access)]
    outside = [name for name in [*others, *sorted(by_name)] if name in by_name and name not in mine]
    return reach, (target(outside[0]) if outside else None)


def run_vpn_check(inventory: Path, username: str, bundle: Path, home: str, log=print) -> list[CheckResult]:
    loaded = require_inventory(inventory)
    person = vpn_person(loaded, username)
    seed = SecretStore(inventory).get(totp_secret(username))
    overlay_file = overlay_path(lab_name(loaded.model))
    if not overlay_file.exists():
        raise LabError(f"no lab runs for {inventory} (fix: telework lab up {inventory})")
    homes = (yaml.safe_load(overlay_file.read_text()) or {}).get("homes", {})
    if home not in homes:
        raise LabError(f"no lab home '{home}'; homes: {', '.join(sorted(homes))}")
    reach, refuse = check_targets(loaded.model, person.networks)
    results, last_login = [], 0.0
    with tempfile.TemporaryDirectory(prefix="telework-vpn-check-") as workdir:
        client = OpenVpnClient(homes[home]["client_netns"], Path(workdir))
        for c in loaded.model.vpn_concentrators:
            wait_for_next_login(last_login)
            log(f"{c.name}: logging in as {username} from {home} ...")
            outcome = client.connect(bundle, str(c.public_address), c.openvpn_port, username, totp(seed),
                                     device=f"twcheck{len(results)}")
            result = CheckResult(c.name, outcome.connected, outcome.address)
            if outcome.connected:
                last_login = time.time()
                result.reached = {t.network: client.ping(t.address) for t in reach}
                if refuse is not None:
                    client.route_into_tunnel(refuse.prefix)
                    result.refused = {refuse.network: not client.ping(refuse.address)}
                client.disconnect()
            results.append(result)
    return results
