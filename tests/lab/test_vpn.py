"""The VPN roles end to end, with real clients in a lab home network (issue 4's "done when").

One organisation (`org`, tests/lab/conftest.py) is deployed once to vpn-a, vpn-b and radius-1;
the tests run in file order, as the story goes: people log in, a replayed or wrong code is
refused, a department without access hits the firewall, a WireGuard device passes traffic, the
second apply changes nothing, and revocation takes every access away.

pam_oath accepts a person's next code only 30 s after their last login, so logins of the same
person wait (`next_login_time`); the whole file takes about three minutes.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from telework.inventory.loading import require_inventory
from telework.roles.vpn.concentrator import concentrator_view

from .conftest import (
    DEVICE,
    WITH_FINANZEN,
    WITHOUT_FINANZEN,
    changed_operations,
    next_login_time,
    totp,
)

pytestmark = pytest.mark.lab

FILESERVER = "10.20.1.1"  # gateway of `fileserver`: every department reaches it
FINANZEN = "10.20.10.1"  # gateway of `fv-finanzen`: Kämmerei yes, Hauptamt no
LAST_LOGIN: dict[str, float] = {}


def concentrator(org, name: str):
    return next(c for c in require_inventory(org.inventory).model.vpn_concentrators if c.name == name)


def address_of(org, person: str, on: str) -> str:
    view = concentrator_view(require_inventory(org.inventory), on)
    return str(next(c.address for c in view.openvpn_clients if c.username == person))


def login(org, openvpn, person: str, on: str, device: str, code: str | None = None, username: str | None = None,
          bundle_of: str | None = None, seed: str | None = None):
    """Log `person` in on concentrator `on` with a fresh valid code (or `code`)."""
    seed = seed or org.store.get(f"totp/{person}")
    if code is None:
        next_login_time(LAST_LOGIN.get(person, 0))
        code = totp(seed)
    c = concentrator(org, on)
    result = openvpn.connect(org.bundles / f"{bundle_of or person}.ovpn", str(c.public_address), c.openvpn_port,
                             username or person, code, device)
    if result.connected:
        LAST_LOGIN[bundle_of or person] = time.time()
    return result, code


def radius_log(lab) -> str:
    return lab.ssh("radius-1", "tail -n 50 /var/log/freeradius/radius.log").stdout


def forward_drops(lab, host: str) -> int:
    out = lab.ssh(host, "nft list chain inet telework forward").stdout
    m = re.search(r'counter packets (\d+) bytes \d+ drop comment "vpn-forward-drop"', out)
    assert m, out
    return int(m.group(1))


def test_valid_code_connects_and_reaches_its_networks(org, openvpn, lab):
    """NET.3.3.A12, ORP.4.A21: certificate + valid TOTP code -> tunnel with the person's fixed
    address; the person's networks (fileserver, fv-finanzen for Kämmerei) answer."""
    result, _ = login(org, openvpn, WITH_FINANZEN, "vpn-a", "tw-ova")
    assert result.connected, result.log[-2000:]
    assert result.address == address_of(org, WITH_FINANZEN, "vpn-a")  # fixed: logs point at one person
    assert openvpn.ping(FILESERVER)
    assert openvpn.ping(FINANZEN)
    assert f"Login OK: [{WITH_FINANZEN}]" in radius_log(lab)


def test_replayed_code_refused_on_both_concentrators(org, openvpn, lab):
    """NET.3.3.A12: a code used once is refused again, also on the other concentrator (one
    central replay state on the auth server)."""
    next_login_time(LAST_LOGIN.get(WITH_FINANZEN, 0))
    seed = org.store.get(f"totp/{WITH_FINANZEN}")
    code = totp(seed)
    first, _ = login(org, openvpn, WITH_FINANZEN, "vpn-a", "tw-ovb", code=code)
    assert first.connected, first.log[-2000:]
    openvpn.disconnect()
    for name in ("vpn-b", "vpn-a"):
        again, _ = login(org, openvpn, WITH_FINANZEN, name, "tw-ovc", code=code)
        # still within the code's validity: refused because it was used, not because it expired
        assert code in {totp(seed, time.time() + d) for d in (-30, 0, 30)}
        assert not again.connected, f"replayed code accepted on {name}"
        assert "AUTH_FAILED" in again.log


def test_wrong_code_refused_and_logged(org, openvpn, lab):
    """NET.3.3.A12, DER.1.A5: a wrong code is refused, and the auth server logs the failed login
    with the person and the concentrator (fail2ban's and auditors' input)."""
    seed = org.store.get(f"totp/{WITHOUT_FINANZEN}")
    valid = {totp(seed, time.time() + d) for d in (-30, 0, 30)}
    wrong = next(f"{n:06d}" for n in range(123456, 999999, 7919) if f"{n:06d}" not in valid)
    result, _ = login(org, openvpn, WITHOUT_FINANZEN, "vpn-b", "tw-ovd", code=wrong)
    assert not result.connected
    assert "AUTH_FAILED" in result.log
    assert re.search(rf"Login incorrect .*\[{WITHOUT_FINANZEN}\] \(from client vpn-b", radius_log(lab))
    assert wrong not in radius_log(lab)


def test_someone_elses_code_does_not_work_with_my_certificate(org, openvpn):
    """ORP.4.A21: the RADIUS user is the certificate's CN: awalter's certificate with anowak's
    name and anowak's valid code is refused."""
    next_login_time(LAST_LOGIN.get(WITH_FINANZEN, 0))  # a code anowak herself could use now
    code = totp(org.store.get(f"totp/{WITH_FINANZEN}"))
    result, _ = login(org, openvpn, WITH_FINANZEN, "vpn-a", "tw-ove", code=code, bundle_of=WITHOUT_FINANZEN)
    assert not result.connected


def test_department_without_access_is_dropped_and_counted(org, openvpn, lab):
    """NET.3.3.A13, NET.3.2.A2: Hauptamt reaches the fileserver but not fv-finanzen: even with a
    route forced into the tunnel, the concentrator drops (and counts) the packets."""
    result, _ = login(org, openvpn, WITHOUT_FINANZEN, "vpn-b", "tw-ovf")
    assert result.connected, result.log[-2000:]
    assert openvpn.ping(FILESERVER)
    routes = lab.home_exec("home-1", ["ip", "route", "show", "10.20.10.0/24"]).stdout
    assert not routes.strip(), "fv-finanzen must not be pushed to Hauptamt"
    lab.home_exec("home-1", ["ip", "route", "add", "10.20.10.0/24", "dev", "tw-ovf"])
    before = forward_drops(lab, "vpn-b")
    assert not openvpn.ping(FINANZEN)
    assert forward_drops(lab, "vpn-b") >= before + 2


def test_wireguard_device_passes_traffic(org, lab, tmp_path):
    """NET.3.3.A11, CON.1.A1: a WireGuard device (key made on the device, public key in the
    inventory) reaches its owner's networks through wg-quick, wireguard-go where no kernel module."""
    with wireguard(org, lab, tmp_path, "vpn-a") as up:
        assert up.returncode == 0, up.stderr
        assert lab.home_exec("home-1", ["ping", "-n", "-c", "2", "-W", "2", FILESERVER], timeout=15).returncode == 0
        assert lab.home_exec("home-1", ["ping", "-n", "-c", "2", "-W", "2", FINANZEN], timeout=15).returncode == 0


def test_second_apply_changes_nothing(org):
    """NET.3.3.A4, OPS.1.1.3.A1: the deploys are idempotent: logins (pam_oath's replay state)
    and running tunnels do not make the next apply change anything."""
    output = org.apply()
    assert changed_operations(output) == [], changed_operations(output)


def test_revoked_person_loses_openvpn_and_wireguard(org, openvpn, lab, tmp_path):
    """NET.3.3.A5, ORP.4.A3: after `telework person revoke` and an apply, the person's OpenVPN
    login (valid code) and their device's WireGuard tunnel are refused."""
    seed = org.store.get(f"totp/{WITH_FINANZEN}")  # revoke deletes it; her phone still has it
    org.telework("person", "revoke", WITH_FINANZEN, str(org.inventory), "--reason", "left the city")
    org.commit(f"revoke {WITH_FINANZEN}")
    output = org.apply()
    assert changed_operations(output), "the revocation changed nothing"
    result, _ = login(org, openvpn, WITH_FINANZEN, "vpn-a", "tw-ovg", seed=seed)
    assert not result.connected
    with wireguard(org, lab, tmp_path, "vpn-a") as up:
        assert up.returncode == 0, up.stderr
        assert lab.home_exec("home-1", ["ping", "-n", "-c", "2", "-W", "2", FILESERVER], timeout=15).returncode != 0
    peers = lab.ssh("vpn-a", "wg show wg-telework peers").stdout
    assert peers.strip() and org.device_public_key not in peers


class wireguard:
    """wg-quick up/down in home-1's client namespace with the device's enrolled config and its
    own private key. wireguard-go's sockets live in this machine's /var/run/wireguard, shared by
    all namespaces: the interface name is unique to the test and always taken down."""

    def __init__(self, org, lab, tmp_path: Path, on: str):
        self.lab, self.netns = lab, lab.overlay["homes"]["home-1"]["client_netns"]
        text = (org.bundles / f"{DEVICE}-{on}.conf").read_text()
        text = re.sub(r"(?m)^PrivateKey = .*$", f"PrivateKey = {org.device_private_key}", text)
        self.config = tmp_path / "tw-wgt.conf"
        self.config.write_text(text)
        self.config.chmod(0o600)

    def __enter__(self) -> subprocess.CompletedProcess:
        return subprocess.run(["ip", "netns", "exec", self.netns, "wg-quick", "up", str(self.config)],
                              capture_output=True, text=True, timeout=30)

    def __exit__(self, *exc) -> None:
        subprocess.run(["ip", "netns", "exec", self.netns, "wg-quick", "down", str(self.config)],
                       capture_output=True, text=True, timeout=30)


def test_host_suites_pass_on_this_deploy(org):
    """NET.3.3.A3: the Testinfra acceptance suites of both roles pass on the deployed hosts
    (tests/hosts/test_vpn_concentrator.py and test_auth_server.py, as `telework verify` runs them)."""
    env = {**org.env, "TELEWORK_VERIFY": "1", "TELEWORK_INVENTORY": str(org.inventory),
           "TELEWORK_VERIFY_LIMIT": ",".join(("vpn-a", "vpn-b", "radius-1"))}
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "tests/hosts/test_vpn_concentrator.py", "tests/hosts/test_auth_server.py"],
                          capture_output=True, text=True, env=env, timeout=300, cwd=Path(__file__).resolve().parents[2])
    assert proc.returncode == 0, proc.stdout[-4000:]
