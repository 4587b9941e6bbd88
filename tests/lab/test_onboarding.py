"""Onboarding end to end (issue 24): a department enrolled in one run and deployed, people
logging in with a real OpenVPN client, a code computed from a letter's scanned QR code, and
`telework person status` reporting what the hosts see (connected, a wrong code, revoked).

Uses the session's `org` (tests/lab/conftest.py). Only people of one department who are not
enrolled yet are enrolled here (`--pending`), so the people the other lab tests use keep
their bundles; the person revoked at the end is one of them.
"""

from __future__ import annotations

import json
import subprocess
import time
from urllib.parse import parse_qs, urlsplit

import pytest

from telework.inventory.loading import require_inventory
from telework.ipam.allocations import Allocations, allocations_path, person_key
from telework.roles.vpn.people import vpn_people

from .conftest import HOSTS, VENV_BIN, next_login_time, run, totp

pytestmark = pytest.mark.lab

DEPARTMENT = "rechtsamt"
STATE: dict = {}


def people(org) -> list[str]:
    loaded = require_inventory(org.inventory)
    return [p.username for p in vpn_people(loaded) if p.has_access and p.department == DEPARTMENT]


def concentrator(org, name: str):
    return next(c for c in require_inventory(org.inventory).model.vpn_concentrators if c.name == name)


def tunnel_address(org, username: str, on: str) -> str:
    loaded = require_inventory(org.inventory)
    pool = next(p for p in loaded.model.address_pools if p.concentrator == on and p.kind.value == "openvpn")
    return str(Allocations.load(allocations_path(org.inventory)).address_of(pool.name, person_key(username)))


def status(org, username: str) -> dict:
    out = run([str(VENV_BIN / "telework"), "person", "status", username, str(org.inventory), "--format", "json"],
              env=org.env, timeout=120)
    data = json.loads(out.stdout)
    # the hosts this organisation deploys answered (its SIP server and UMS are not deployed here)
    assert {h: why for h, why in data["unreachable"].items() if h in HOSTS} == {}, data["unreachable"]
    return data


def wait_for_status(org, username: str, ok, timeout: float = 40) -> dict:
    """The status once `ok(status)` holds (OpenVPN rewrites its client list every 10 s)."""
    deadline = time.monotonic() + timeout
    while True:
        data = status(org, username)
        if ok(data) or time.monotonic() > deadline:
            return data
        time.sleep(3)


def test_a_department_enrolled_in_one_run_and_deployed_logs_in(org, openvpn, tmp_path_factory):
    """After bulk enrolment and one apply, a sample of the department logs in with a real client."""
    bundles = tmp_path_factory.mktemp("bulk-bundles")
    expected = people(org)
    done = org.telework("person", "enroll", "--department", DEPARTMENT, "--pending", str(org.inventory),
                        "--out", str(bundles))
    assert f"enrolled {len(expected)} people" in done.stdout
    org.commit(f"enrol {DEPARTMENT}")
    org.apply()
    STATE["bundles"] = bundles
    sample = [expected[0], expected[-1]]
    for number, username in enumerate(sample):
        seed = org.store.get(f"totp/{username}")
        c = concentrator(org, "vpn-a")
        result = openvpn.connect(bundles / f"{username}.ovpn", str(c.public_address), c.openvpn_port, username,
                                 totp(seed), f"tw-bulk{number}")
        assert result.connected, result.log[-2000:]
        assert result.address == tunnel_address(org, username, "vpn-a")
        openvpn.disconnect()
        STATE.setdefault("last_login", {})[username] = time.time()


def test_a_code_from_the_letters_qr_code_logs_in_and_status_shows_the_session(org, openvpn, lab, tmp_path):
    """The letter's QR code, scanned, gives the code that logs in; `person status` then says
    connected, on which concentrator, from the home's public address, with the tunnel address."""
    username = people(org)[1]
    letters = tmp_path / "letters"
    org.telework("person", "letter", username, str(org.inventory), "--out", str(letters))
    subprocess.run(["pdftoppm", "-gray", "-r", "150", "-f", "1", "-l", "1", "-singlefile",
                    str(letters / f"{username}.pdf"), str(tmp_path / "page")], check=True, timeout=60)
    scan = subprocess.run(["zbarimg", "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", str(tmp_path / "page.pgm")],
                          capture_output=True, text=True, timeout=60)
    (uri,) = scan.stdout.split()
    seed = parse_qs(urlsplit(uri).query)["secret"][0]
    c = concentrator(org, "vpn-b")
    result = openvpn.connect(STATE["bundles"] / f"{username}.ovpn", str(c.public_address), c.openvpn_port,
                             username, totp(seed), "tw-letter")
    assert result.connected, result.log[-2000:]
    STATE.setdefault("last_login", {})[username] = time.time()
    data = wait_for_status(org, username, lambda d: d["openvpn"]["connected"])
    (session,) = data["openvpn"]["sessions"]
    assert session["concentrator"] == "vpn-b"
    assert session["tunnel_address"] == tunnel_address(org, username, "vpn-b") == result.address
    assert session["public_address"] == lab.overlay["homes"]["home-1"]["wan_address"]
    assert data["last_login"]["result"] == "accepted" and data["last_login"]["concentrator"] == "vpn-b"
    assert data["certificate"]["state"] == "valid"
    openvpn.disconnect()  # the bundle's explicit-exit-notify ends the session on the server at once
    gone = wait_for_status(org, username, lambda d: not d["openvpn"]["connected"], timeout=30)
    assert not gone["openvpn"]["connected"], "still listed as connected 30 s after the client stopped"


def test_status_shows_a_wrong_code_as_that_failure(org, openvpn):
    username = people(org)[2]
    seed = org.store.get(f"totp/{username}")
    valid = {totp(seed, time.time() + d) for d in (-60, -30, 0, 30, 60)}
    wrong = next(f"{n:06d}" for n in range(123456, 999999, 7919) if f"{n:06d}" not in valid)
    c = concentrator(org, "vpn-a")
    result = openvpn.connect(STATE["bundles"] / f"{username}.ovpn", str(c.public_address), c.openvpn_port,
                             username, wrong, "tw-wrong")
    assert not result.connected
    data = status(org, username)
    login = data["last_login"]
    assert login["result"] == "refused" and login["reason"] == "wrong or already used code"
    assert login["concentrator"] == "vpn-a" and not data["openvpn"]["connected"]
    text = org.telework("person", "status", username, str(org.inventory)).stdout
    assert "last login: refused (wrong or already used code)" in text and wrong not in text


def test_status_shows_a_revoked_person_as_revoked(org, openvpn):
    username = people(org)[0]
    seed = org.store.get(f"totp/{username}")  # revocation deletes it: keep it to try a valid code
    org.telework("person", "revoke", username, str(org.inventory), "--reason", "left the administration")
    org.commit(f"revoke {username}")
    org.apply()
    data = status(org, username)
    assert data["vpn_access"] is False
    assert data["certificate"]["state"] == "revoked"
    assert data["certificate"]["revoked_on"] == ["vpn-a", "vpn-b"]
    next_login_time(STATE.get("last_login", {}).get(username, 0))
    c = concentrator(org, "vpn-a")
    result = openvpn.connect(STATE["bundles"] / f"{username}.ovpn", str(c.public_address), c.openvpn_port,
                             username, totp(seed), "tw-revoked")
    assert not result.connected, "a revoked certificate still logs in"


def test_status_shows_a_wireguard_devices_latest_handshake(org, lab, tmp_path):
    """The person's notebook/endpoint with a live WireGuard tunnel: connected, from the home."""
    from .conftest import DEVICE, WITH_FINANZEN
    from .test_vpn import FILESERVER, wireguard

    with wireguard(org, lab, tmp_path, "vpn-a") as up:
        assert up.returncode == 0, up.stderr
        assert lab.home_exec("home-1", ["ping", "-n", "-c", "2", "-W", "2", FILESERVER], timeout=15).returncode == 0
        data = status(org, WITH_FINANZEN)
    tunnels = {(t["device"], t["concentrator"]): t for t in data["wireguard"]}
    live = tunnels[(DEVICE, "vpn-a")]
    assert live["connected"] and live["endpoint"].split(":")[0] == lab.overlay["homes"]["home-1"]["wan_address"]
    assert not tunnels[(DEVICE, "vpn-b")]["connected"]  # the standby tunnel
