"""`telework lab vpn-check` proves a person's access in the lab, for any inventory.

anowak (Kämmerei) logs in on both concentrators with a real OpenVPN client; every network of
her department answers through the tunnel, and a network of another department that she may
not reach, routed into the tunnel by force, does not (the concentrator's firewall drops it).
"""

from __future__ import annotations

import pytest

from telework.inventory.loading import load_inventory
from telework.roles.vpn.vpncheck import check_targets
from tests.lab.conftest import VENV_BIN, WITH_FINANZEN, run

pytestmark = pytest.mark.lab


def test_vpn_check_reaches_the_departments_networks_and_is_refused_another(org, lab):
    inv = load_inventory(org.inventory).model
    person = inv.person(WITH_FINANZEN)
    mine = set(inv.reachable_networks(person))
    proc = run([str(VENV_BIN / "telework"), "lab", "vpn-check", WITH_FINANZEN, str(org.inventory),
                "--bundle", str(org.bundles / f"{WITH_FINANZEN}.ovpn")],
               env={**org.env, "COLUMNS": "400"}, check=False, timeout=300)
    out = proc.stdout
    assert proc.returncode == 0, out[-3000:] + proc.stderr[-3000:]
    _, refused = check_targets(inv, sorted(mine))
    assert refused is not None and refused.network not in mine
    assert any(refused.network in d.access for d in inv.departments if d.id != person.department)
    for concentrator in inv.vpn_concentrators:
        row = next(line for line in out.splitlines() if f" {concentrator.name} " in line)
        for network in mine:
            assert f"{network} ok" in row, row
        assert f"{refused.network} ok" in row, row
    assert "FAILED" not in out and "REACHED" not in out
