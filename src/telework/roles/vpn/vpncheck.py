"""`telework lab vpn-check`: one person's real OpenVPN login on every concentrator, and pings.

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
from telework.lab.topology import lab_name
from telework.roles.vpn.lab_clients import OpenVpnClient, totp, wait_for_next_login
from telework.roles.vpn.people import vpn_person
from telework.roles.vpn.secret_names import totp_secret
from telework.secrets.store import SecretStore


@dataclass
class CheckResult:
    concentrator: str
    connected: bool
    address: str | None
    reached: dict[str, bool] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.connected and all(self.reached.values())


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
    gateways = {n.name: str(n.gateway) for n in loaded.model.networks if n.name in person.networks and n.gateway}
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
                result.reached = {net: client.ping(gw) for net, gw in sorted(gateways.items())}
                client.disconnect()
            results.append(result)
    return results
