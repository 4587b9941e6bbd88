"""The IMI client against the fake UMS over real HTTPS: TLS, sessions, errors, limits, throttle.

These use the fake's controls (its clock, injected failures, licence mode) and so run only
against the fake; the documented request/answer pairs are replayed in test_igel_contract.py,
which also runs against a real UMS.
"""

from __future__ import annotations

import itertools
import logging
from pathlib import Path

import pytest

from telework.core.problems import TeleworkError
from telework.roles.igel import errors
from telework.roles.igel.clock import FakeClock, Throttle
from telework.roles.igel.fake_ums import FakeUms
from telework.roles.igel.imi import ApiObject, ImiClient, ImiSetupError, normalise_mac
from telework.roles.igel.testing import TlsFiles, make_tls

USER, PASSWORD = "imi-admin", "correct horse battery staple"


@pytest.fixture(scope="module")
def tls(tmp_path_factory) -> TlsFiles:
    return make_tls(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fake(clock) -> FakeUms:
    fake = FakeUms(clock)
    fake.add_user(USER, PASSWORD)
    fake.fw11 = fake.add_firmware("11.10.150.01", "IGEL OS 11")
    fake.fw12 = fake.add_firmware("12.5.1", "IGEL OS 12")
    return fake


@pytest.fixture
def ums(fake, tls):
    with fake.serve(tls.cert, tls.key) as running:
        yield running


@pytest.fixture
def client(ums, tls, clock):
    with ImiClient(ums.url, USER, PASSWORD, ca_file=tls.ca, clock=clock,
                   command_rate=5.0, command_batch=10) as c:
        yield c


# ---------------------------------------------------------------- TLS


def test_a_ums_certificate_from_another_ca_fails_the_handshake(ums, tmp_path, clock):
    other = make_tls(tmp_path, "other")
    with (ImiClient(ums.url, USER, PASSWORD, ca_file=other.ca, clock=clock) as c,
          pytest.raises(errors.UmsTlsError) as caught):
        c.list_devices()
    text = str(caught.value)
    assert "certificate" in text.lower() and "fix:" in text
    assert ums.fake.count() == 0  # no request reached the UMS


def test_verification_is_on_without_a_ca_file(ums, clock):
    """No CA file means the system trust store, which does not know the test CA."""
    with (ImiClient(ums.url, USER, PASSWORD, clock=clock) as c,
          pytest.raises(errors.UmsTlsError)):
        c.login()


def test_insecure_mode_is_explicit_and_logged_loudly(ums, clock, caplog):
    with (caplog.at_level(logging.ERROR, logger="telework.roles.igel.imi"),
          ImiClient(ums.url, USER, PASSWORD, insecure=True, clock=clock) as c):
        assert c.list_devices() == []
    assert any("TLS VERIFICATION IS OFF" in r.message for r in caplog.records)
    assert all(PASSWORD not in r.getMessage() for r in caplog.records)


def test_contradictory_or_plain_http_settings_fail_before_any_request(tls):
    with pytest.raises(ImiSetupError, match="both a CA file and insecure"):
        ImiClient("https://ums.example:8443", USER, PASSWORD, ca_file=tls.ca, insecure=True)
    with pytest.raises(ImiSetupError, match="https://"):
        ImiClient("http://ums.example:8443", USER, PASSWORD, ca_file=tls.ca)
    with pytest.raises(ImiSetupError, match="PEM"):
        ImiClient("https://ums.example:8443", USER, PASSWORD, ca_file=tls.key.parent / "nope.pem")


def test_base_url_forms():
    for url in ("https://ums:8443", "https://ums:8443/", "https://ums:8443/umsapi",
                "https://ums:8443/umsapi/v3/"):
        with ImiClient(url, USER, PASSWORD, insecure=True) as c:
            assert c.base == "https://ums:8443/umsapi/v3/"


# ---------------------------------------------------------------- session


def test_the_session_slides_with_every_successful_request(client, fake, clock):
    client.list_devices()
    for _ in range(4):
        clock.advance(20 * 60)  # 80 minutes in all, never 30 idle
        client.list_devices()
    assert client.logins == 1
    assert fake.count("POST", "/v3/login") == 1


def test_an_expired_session_is_renewed_once_without_the_caller_noticing(client, fake, clock):
    client.list_devices()
    clock.advance(31 * 60)
    assert client.list_devices() == []
    assert client.logins == 2
    statuses = [(r.path, r.status) for r in fake.requests]
    assert ("/v3/thinclients", 401) in statuses and statuses[-1] == ("/v3/thinclients", 200)


def test_a_session_lost_again_after_renewal_is_an_error_not_a_loop(client, fake, monkeypatch):
    client.list_devices()
    real_login = client.login

    def login_then_lose():
        real_login()
        fake.expire_sessions()

    monkeypatch.setattr(client, "login", login_then_lose)
    fake.expire_sessions()
    with pytest.raises(errors.SessionNotFound, match="ITG-0B004"):
        client.list_devices()
    assert fake.count("POST", "/v3/login") == 2


def test_wrong_password_names_the_user_and_the_fix(ums, tls, clock):
    with (ImiClient(ums.url, USER, "wrong", ca_file=tls.ca, clock=clock) as c,
          pytest.raises(errors.InvalidCredentials) as caught):
        c.list_devices()
    text = str(caught.value)
    assert "ITG-0B002" in text and USER in text and "fix:" in text and "wrong" not in text


def test_an_unlicensed_ums_is_a_clear_error(client, fake):
    fake.not_licensed = True
    with pytest.raises(errors.LicenceRequired) as caught:
        client.list_devices()
    assert isinstance(caught.value, TeleworkError)
    text = str(caught.value)
    assert "ITG-0C001" in text and "licen" in text.lower() and "Essential" in text
    assert "stack" not in text.lower()


# ---------------------------------------------------------------- errors name the device


def test_an_itg_error_names_the_device_and_the_fix(client, fake):
    tc = client.create_device("00:E0:C5:02:81:0E", fake.fw12, name="igel-0001")
    client.list_devices()
    fake.move_to_bin(tc)
    with pytest.raises(errors.ThinClientInBin) as caught:
        client.update_device(tc, {"site": "rathaus"})
    text = str(caught.value)
    for part in ("ITG-0A018", "igel-0001", "00E0C502810E", f"id {tc}", "recycle bin", "fix:"):
        assert part in text


def test_every_documented_code_is_a_telework_error_with_a_fix():
    assert len(errors.BY_CODE) == 39  # 24 client, 7 authentication, 2 licensing, 6 server
    for code, cls in errors.BY_CODE.items():
        err = errors.from_response("device update", 400, {"errorCode": code, "message": "m",
                                                          "stackTrace": "x" * 500},
                                   subject="device igel-0001 (MAC 00E0C502810E, id 95)")
        assert type(err) is cls and isinstance(err, TeleworkError)
        text = str(err)
        assert code in text and "igel-0001" in text and "fix: " in text and "xxxx" not in text


def test_an_unknown_code_or_a_bare_http_error_is_still_readable():
    err = errors.from_response("device list", 400, {"errorCode": "ITG-0A999", "message": "new"})
    assert isinstance(err, errors.UmsRequestError) and "ITG-0A999 new" in str(err)
    err = errors.from_response("device list", 502, None)
    assert isinstance(err, errors.UmsServerError) and "HTTP 502" in str(err)


# ---------------------------------------------------------------- devices: MAC and name limits


def test_mac_and_name_limits_are_checked_before_a_request(client, fake):
    with pytest.raises(errors.InvalidMacLength, match="ITG-0A014"):
        client.create_device("00:E0:C5:02:81", fake.fw12)
    with pytest.raises(errors.NoMacDefined, match="ITG-0A007"):
        client.create_device("", fake.fw12)
    with pytest.raises(errors.NoFirmwareDefined, match="ITG-0A009"):
        client.create_device("00E0C502810E", "")
    with pytest.raises(errors.InvalidThinClientName, match="16 characters"):
        client.create_device("00E0C502810E", fake.fw12, name="a-name-too-long!")
    assert fake.count("PUT", "/v3/thinclients") == 0


def test_the_fake_enforces_the_same_limits_itself(client, fake):
    """Raw requests, bypassing the client's own checks."""
    cases = [
        ({"mac": "00E0C50281", "firmwareID": fake.fw12}, errors.InvalidMacLength),
        ({"firmwareID": fake.fw12}, errors.NoMacDefined),
        ({"mac": "00E0C502810E"}, errors.NoFirmwareDefined),
        ({"mac": "00E0C502810E", "firmwareID": "424242"}, errors.FirmwareNotFound),
        ({"mac": "00E0C502810E", "firmwareID": fake.fw12, "name": "x" * 16},
         errors.InvalidThinClientName),
        ({"mac": "00E0C502810E", "firmwareID": fake.fw12, "parentID": "999"},
         errors.ParentNotFound),
    ]
    for body, exc in cases:
        with pytest.raises(exc):
            client.request("PUT", "thinclients", json_body=body)
    client.request("PUT", "thinclients", json_body={"mac": "00e0c502810e", "firmwareID": fake.fw12})
    with pytest.raises(errors.DuplicateKey, match="ITG-0A008"):
        client.create_device("00:E0:C5:02:81:0E", fake.fw12)


def test_mac_normalisation():
    assert normalise_mac("00:e0:c5:02:81:0e") == "00E0C502810E"
    assert normalise_mac("00-E0-C5-02-81-0E") == "00E0C502810E"
    assert normalise_mac("00E0C502810") == "" and normalise_mac("00E0C502810G") == ""


def test_ids_stay_strings(client, fake):
    tc = client.create_device("00E0C502810E", fake.fw12, name="igel-0001")
    raw = client.request("GET", f"thinclients/{tc}")
    assert all(isinstance(raw[k], str) for k in ("id", "firmwareID", "parentID"))
    key = client.create_template_key("vpn_peer")
    value = client.create_template_value(key, "vpn-a.example")
    # the template read answers numbers (as the reference shows); the client keeps text
    assert isinstance(client.request("GET", f"template/{key}/read")[0]["id"], int)
    assert client.read_template(key)[0].id == value and isinstance(value, str)


# ---------------------------------------------------------------- moves, bins, OS rules


def test_a_partial_move_failure_is_answered_200_with_per_item_results(client, fake):
    d = client.create_directory("pilot")
    a = client.create_device("00E0C5000001", fake.fw12, name="igel-a")
    b = client.create_device("00E0C5000002", fake.fw12, name="igel-b")
    fake.inject_move_failure(b)
    results = client.move(d, [ApiObject(a, "tc"), ApiObject(b, "tc"), ApiObject("999999", "tc")])
    assert [(r.id, r.ok) for r in results] == [(a, True), (b, False), ("999999", False)]
    assert results[2].result == "does_not_exist"
    assert fake.matching("PUT", f"/v3/directories/tcdirectories/{d}")[-1].status == 200
    assert fake.device(a)["parentID"] == d and fake.device(b)["parentID"] == "-1"


def test_recycle_bin_objects_are_listed_but_not_actionable(client, fake):
    d = client.create_directory("old")
    tc = client.create_device("00E0C5000003", fake.fw12)
    fake.move_to_bin(tc)
    fake.move_to_bin(d)
    assert [x.moved_to_bin for x in client.list_devices()] == [True]
    assert [x.moved_to_bin for x in client.list_directories()] == [True]
    with pytest.raises(errors.TargetDirectoryInBin):
        client.create_device("00E0C5000004", fake.fw12, parent_id=d)
    assert client.send_command("reboot", [tc])[0].state == "FAILED"


def test_a_non_empty_directory_is_not_deleted(client, fake):
    d = client.create_directory("site")
    client.create_device("00E0C5000005", fake.fw12, parent_id=d)
    with pytest.raises(errors.DirectoryNotEmpty, match="ITG-0A006"):
        client.delete_directory(d, "directory telework/site")
    assert d in {x.id for x in client.list_directories()}


def test_an_os12_profile_is_never_assigned_to_an_os11_device(client, fake):
    os12 = fake.add_profile("vpn-os12", fake.fw12)
    os11_dev = client.create_device("00E0C5000006", fake.fw11, name="igel-legacy")
    os12_dev = client.create_device("00E0C5000007", fake.fw12, name="igel-new")
    with pytest.raises(errors.InvalidAssignment) as caught:
        client.assign(ApiObject(os12, "profile"), [ApiObject(os11_dev, "tc")])
    assert "igel-legacy" in str(caught.value) and "IGEL OS" in str(caught.value)
    assert client.assign(ApiObject(os12, "profile"), [ApiObject(os12_dev, "tc")]) == 1
    # inherited through a directory, the UMS takes the assignment and the OS 11 device ignores it
    d = client.create_directory("mixed")
    client.move(d, [ApiObject(os11_dev, "tc")])
    assert client.assign(ApiObject(os12, "profile"), [ApiObject(d, "tcdirectory")]) == 1
    assert fake.effective_profiles(os11_dev) == []
    assert fake.effective_profiles(os12_dev) == [os12]


def test_assignment_positions_follow_the_order_of_assignment(client, fake):
    p1, p2 = fake.add_profile("base", fake.fw12), fake.add_profile("vpn", fake.fw12)
    m = fake.add_profile("lock", fake.fw12, master=True)
    d = client.create_directory("ring")
    for p in (ApiObject(p1, "profile"), ApiObject(m, "masterprofile"), ApiObject(p2, "profile")):
        client.assign(p, [ApiObject(d, "tcdirectory")])
    got = client.directory_assignments(d)
    assert [(a.assignee.id, a.position) for a in got] == [(p1, 0), (m, 1), (p2, 2)]
    client.unassign(ApiObject(p1, "profile"), ApiObject(d, "tcdirectory"))
    assert [a.assignee.id for a in client.directory_assignments(d)] == [m, p2]


# ---------------------------------------------------------------- commands and the throttle


def test_settings2tc_stays_under_the_configured_rate(client, fake):
    ids = [fake.add_device(f"00E0C5{i:06X}", fake.fw12) for i in range(47)]
    results = client.send_command("settings2tc", ids)
    assert [r.id for r in results] == ids and all(r.ok for r in results)
    sent = fake.matching("POST", "/v3/thinclients", {"command": "settings2tc"})
    assert [r.items for r in sent] == [10, 10, 10, 10, 7]
    rate = client.throttle.rate
    for earlier, later in itertools.pairwise(sent):
        assert later.time - earlier.time >= earlier.items / rate - 1e-9
    # the rate holds across calls too
    client.send_command("settings2tc", ids[:3])
    again = fake.matching("POST", "/v3/thinclients", {"command": "settings2tc"})
    assert again[-1].time - again[-2].time >= again[-2].items / rate - 1e-9


def test_command_results_per_device_and_unknown_commands(client, fake):
    up = fake.add_device("00E0C5000010", fake.fw12, name="igel-up")
    down = fake.add_device("00E0C5000011", fake.fw12, name="igel-down", online=False)
    res = {r.id: r for r in client.send_command("reboot", [up, down])}
    assert res[up].ok and not res[down].ok and res[down].mac == "00E0C5000011"
    with pytest.raises(errors.InvalidCommand):
        client.send_command("firmwareupdate", [up])
    with pytest.raises(errors.InvalidCommand, match="ITG-0A003"):
        client.request("POST", "thinclients", params={"command": "bogus"},
                       json_body=[{"id": up, "type": "tc"}])


def test_throttle_math_without_a_server():
    clock = FakeClock(0.0)
    t = Throttle(2.0, clock)
    assert t.wait_for(4) == 0.0  # the first batch goes at once
    assert t.wait_for(1) == pytest.approx(2.0)  # 4 devices at 2/s: 2 s later
    clock.advance(10)
    assert t.wait_for(1) == 0.0
    with pytest.raises(ValueError):
        Throttle(0, clock)


# ---------------------------------------------------------------- the standalone program


def test_the_fake_runs_as_a_program_and_keeps_its_state(tmp_path, tls):
    import socket
    import subprocess
    import sys
    import time

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    secret = tmp_path / "password"
    secret.write_text(PASSWORD + "\n")
    seed = tmp_path / "seed.json"
    seed.write_text('{"firmwares": ["12.5.1"], "profiles": [{"name": "vpn", "firmware": "12.5.1"}]}')
    state = tmp_path / "state"
    cmd = [sys.executable, "-m", "telework.roles.igel.fake_ums", "--listen", f"127.0.0.1:{port}",
           "--cert", str(tls.cert), "--key", str(tls.key), "--state", str(state),
           "--user", USER, "--password-file", str(secret), "--seed", str(seed)]

    def run_once(check):
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert "FAKE" in proc.stdout.readline()
            with ImiClient(f"https://127.0.0.1:{port}", USER, PASSWORD, ca_file=tls.ca) as c:
                return check(c)
        finally:
            proc.terminate()
            proc.wait(timeout=10)

    def first(c):
        fw = c.list_firmwares()[0].id
        return c.create_device("00E0C5ABCDEF", fw, name="igel-lab")

    tc = run_once(first)
    assert (state / "state.json").stat().st_mode & 0o777 == 0o600
    assert PASSWORD not in (state / "state.json").read_text()
    time.sleep(0.05)
    assert run_once(lambda c: [(d.id, d.name) for d in c.list_devices()]) == [(tc, "igel-lab")]
    assert Path(state / "state.json").exists()
