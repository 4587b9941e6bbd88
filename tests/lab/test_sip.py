"""The SIP role end to end with real phones behind home NAT routers (issue 19's "done when").

A throwaway organisation (`sip_org`) made from the sample as an operator makes one (`telework
secret init`, `pki init`, `sip init`, git), deployed to the lab's sip-1 only. Two baresip
phones, each in its own home network behind its own NAT router (telework.roles.sip.lab_homes),
register over TLS and call each other; a Python TLS client checks the certificate; a flood from
one household is stopped while that household's registered phone still calls. Phones are
bounded (baresip's own lifetime, killed at the end); the file takes about two minutes.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from telework.inventory.loading import require_inventory
from telework.roles.sip.lab_homes import carrier, ensure_carrier, ensure_homes, set_idle_timeout
from telework.roles.sip.lab_phones import Account, Phone, rough_frequency, tls_handshake, tone
from telework.roles.sip.server import sip_view
from telework.secrets.store import SecretStore

from .conftest import SAMPLE, VENV_BIN, changed_operations, run

pytestmark = pytest.mark.lab

HOST = "sip-1"
CALLER, CALLEE = "aschmitz", "abusch"  # extensions 1042 and 1063, both in the Rathaus block
CALLER_TONE, CALLEE_TONE = 1000, 600


class SipOrg:
    def __init__(self, inventory: Path, env: dict):
        self.inventory, self.env = inventory, env
        self.applies: list[str] = []

    @property
    def store(self) -> SecretStore:
        return SecretStore(self.inventory, self.env["TELEWORK_AGE_IDENTITY"])

    def telework(self, *args: str) -> subprocess.CompletedProcess:
        return run([str(VENV_BIN / "telework"), *args], env=self.env)

    def secret_values(self) -> list[str]:
        return [v for v in self.store.values() if len(v) >= 6]

    def apply(self) -> str:
        proc = run([str(VENV_BIN / "pyinfra"), "-y", str(self.inventory / "inventory.py"), "deploy/site.py",
                    "--limit", HOST], env=self.env, timeout=900, check=False)
        output = proc.stdout + proc.stderr
        leaked = [f"secret #{i}" for i, value in enumerate(self.secret_values()) if value in output]
        assert not leaked, f"pyinfra output shows {', '.join(leaked)} in clear"
        assert proc.returncode == 0, f"pyinfra failed:\n{output[-5000:]}"
        self.applies.append(output)
        return output

    def view(self):
        return sip_view(require_inventory(self.inventory), HOST)


@pytest.fixture(scope="module")
def sip_org(lab, tmp_path_factory) -> SipOrg:
    for tool in ("baresip", "sox"):
        if shutil.which(tool) is None:
            message = f"needs {tool} on this machine (scripts/bootstrap.sh installs it)"
            if os.environ.get("CI"):
                pytest.fail(message)
            pytest.skip(message)
    base = tmp_path_factory.mktemp("sip-org")
    inventory = base / "inventory"
    shutil.copytree(SAMPLE, inventory, ignore=shutil.ignore_patterns("pki", "secrets", "access"))
    env = {**os.environ, "TELEWORK_AGE_IDENTITY": str(base / "age-identity.txt"),
           "TELEWORK_OVERLAY": str(lab.overlay_file), "PYINFRA_PROGRESS": "off"}
    org = SipOrg(inventory, env)
    # the city's carrier and barring, as a city writes them: its inventory's group_data
    trunk = carrier(lab.topology)
    caller_department = next(p.department for p in require_inventory(inventory).model.people if p.username == CALLER)
    (inventory / "group_data").mkdir(exist_ok=True)
    (inventory / "group_data" / "sip_servers.py").write_text(
        f'"""The carrier trunk and call barring of the city."""\n\n'
        f'# the carrier (IP-based trunk)\nsip_trunk = {{"address": "{trunk.address}", "port": 5060}}\n'
        f'# premium-rate and international numbers barred for one department\n'
        f'sip_barred_classes = {{"{caller_department}": ["premium", "international"]}}\n')
    run(["git", "init", "-q"], cwd=inventory)
    org.telework("secret", "init", str(inventory))
    org.telework("pki", "init", str(inventory))
    org.telework("sip", "init", str(inventory))
    run(["git", "add", "-A"], cwd=inventory)
    run(["git", "-c", "user.name=telework test", "-c", "user.email=test@invalid", "commit", "-q", "-m",
         "the sample city with SIP"], cwd=inventory)
    org.apply()
    return org


@pytest.fixture(scope="module")
def homes(lab):
    return {h.name: h for h in ensure_homes(lab.topology)}


def account(org: SipOrg, username: str) -> Account:
    view = org.view()
    sub = view.subscriber(username)
    # regint = the server's longest registration: re-registering is not what keeps a binding open
    return Account(sub.extension, view.realm, org.store.get(sub.password_secret),
                   f"{view.public_address}:{view.server.sips_port}", regint=300)


@pytest.fixture(scope="module")
def phones(sip_org, homes, tmp_path_factory):
    """Phone A (caller) in home sip-a, phone B (callee) in home sip-b, both registered."""
    work = tmp_path_factory.mktemp("phones")
    ca = sip_org.inventory / "pki" / "ca.crt"
    a = Phone(homes["sip-a"].phone_netns, work / "a", account(sip_org, CALLER), ca,
              tone(work / "a-tone.wav", CALLER_TONE), lifetime=240)
    b = Phone(homes["sip-b"].phone_netns, work / "b", account(sip_org, CALLEE), ca,
              tone(work / "b-tone.wav", CALLEE_TONE), lifetime=240)
    # home A's router forgets idle bindings after 30 s from the start: every packet of A's flow
    # sets that timer (changing it later would leave the timer of the last packet as it was)
    set_idle_timeout(homes["sip-a"], 30)
    try:
        for phone in (a, b):
            phone.start()
        for phone in (a, b):
            assert phone.wait_registered(30), f"not registered:\n{phone.log()[-3000:]}"
        yield a, b
    finally:
        a.stop()
        b.stop()
        set_idle_timeout(homes["sip-a"], 0)


def registrations(lab) -> str:
    done = lab.ssh(HOST, "kamcmd ul.dump")
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_phones_behind_two_nat_routers_register_over_tls_at_their_routers_addresses(lab, sip_org, homes, phones):
    """Done-when 1 (first half): both registered; the registrar holds each router's public address."""
    dump = registrations(lab)
    for username, home in ((CALLER, "sip-a"), (CALLEE, "sip-b")):
        ext = sip_org.view().subscriber(username).extension
        block = dump[dump.index(f"AoR: {ext}"):][:2500]
        received = re.search(r"Received: sip:([0-9.]+):\d+;transport=tls", block)
        assert received, block
        assert received.group(1) == str(homes[home].wan_address)
        assert "192.168.178.20" in block  # the phone's own (private) contact, kept beside it


def test_person_status_shows_where_each_phone_is_registered_from(lab, sip_org, homes, phones):
    """`telework person status` (the helpdesk) asks the registrar itself: registered, from the
    home router's public address, over TLS; a person without a registered phone is not."""
    for username, home in ((CALLER, "sip-a"), (CALLEE, "sip-b")):
        out = sip_org.telework("person", "status", username, str(sip_org.inventory), "--format", "json")
        data = json.loads(out.stdout)
        assert HOST not in data["unreachable"], data["unreachable"]
        [reg] = data["phone_registrations"]
        assert reg["server"] == HOST and reg["registered"], reg
        assert {c["public_address"] for c in reg["contacts"]} == {str(homes[home].wan_address)}, reg
        assert {c["transport"] for c in reg["contacts"]} == {"tls"}, reg
        assert all(0 < c["expires_in_s"] <= 3600 for c in reg["contacts"]), reg
    view = sip_org.view()
    idle = next(s.username for s in view.subscribers if s.username not in (CALLER, CALLEE))
    out = sip_org.telework("person", "status", idle, str(sip_org.inventory), "--format", "json")
    [reg] = json.loads(out.stdout)["phone_registrations"]
    assert reg["registered"] is False and reg["contacts"] == [], reg


def test_call_with_srtp_through_rtpengine_carries_the_callers_tone(sip_org, phones):
    """Done-when 1: A calls B, B answers, both use SRTP, media comes from rtpengine's address,
    and what B heard is A's tone (frequency measured with sox), and the other way round."""
    a, b = phones
    view = sip_org.view()
    callee = view.subscriber(CALLEE)
    a.dial(f"sip:{callee.extension}@{view.realm}")
    assert a.wait_for(r"Call established", 20), a.log()[-3000:]
    assert b.wait_for(r"Call established", 10), b.log()[-3000:]
    time.sleep(6)
    a.hangup()
    assert b.wait_for(r"terminated", 10), b.log()[-2000:]
    for phone in (a, b):
        log = phone.log()
        assert re.search(r"SRTP is Enabled \(cryptosuite=AES_CM_128_HMAC_SHA1_80\)", log), log[-2000:]
        media = re.search(r"incoming rtp for 'audio' established, receiving from ([0-9.]+):", log)
        assert media and media.group(1) == str(view.public_address), f"media not from rtpengine:\n{log[-2000:]}"
    for phone, expected in ((b, CALLER_TONE), (a, CALLEE_TONE)):
        seconds, frequency = rough_frequency(phone.recordings("dec")[-1])
        assert seconds >= 4, seconds
        assert abs(frequency - expected) < 0.05 * expected, (frequency, expected)


def _other_ca(tmp: Path) -> Path:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "not the city's CA")])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    path = tmp / "other-ca.crt"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


def test_tls_client_checks_the_certificate(sip_org, homes, tmp_path):
    """Done-when 2: a TLS client trusting another CA fails the handshake; with the city's CA it
    completes (TLS 1.2 or later), for the SIP domain phones dial."""
    view = sip_org.view()
    ns, address, port = homes["sip-a"].phone_netns, str(view.public_address), view.server.sips_port
    ok, text = tls_handshake(ns, address, port, _other_ca(tmp_path), view.realm)
    assert not ok and "CERTIFICATE_VERIFY_FAILED" in text, text
    ok, text = tls_handshake(ns, address, port, sip_org.inventory / "pki" / "ca.crt", view.realm)
    assert ok and text.split()[1] in ("TLSv1.2", "TLSv1.3"), text


def test_second_apply_changes_nothing_and_no_clear_password_on_the_server(lab, sip_org):
    """Done-when 7: a second apply changes nothing; no clear SIP password in the server's
    configuration (the subscriber table holds HA1 digests); no secret in pyinfra's output
    (checked by every `apply`)."""
    output = sip_org.apply()
    assert changed_operations(output) == [], changed_operations(output)
    view = sip_org.view()
    text = lab.ssh(HOST, "find /etc/kamailio /etc/rtpengine /etc/fail2ban /etc/default -type f "
                         "-exec cat {} + 2>/dev/null").stdout
    assert text, "nothing read from the host"
    passwords = [sip_org.store.get(s.password_secret) for s in view.subscribers]
    assert not [p for p in passwords if p in text]
    table = lab.ssh(HOST, "cat /etc/kamailio/telework-db/telework_sub").stdout.splitlines()
    assert len(table) - 1 == len(view.subscribers)
    assert all(re.fullmatch(r"\d+:\d+:0:0:[0-9a-f]{32}:0", row) for row in table[1:])


def probe(netns: str, *args: str) -> dict:
    """telework.roles.sip.sipprobe inside a home's namespace (bounded: it gives up after seconds)."""
    import json
    import sys

    done = subprocess.run(["ip", "netns", "exec", netns, sys.executable, "-m", "telework.roles.sip.sipprobe", *args],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_wrong_password_gets_401_and_a_line_the_fail2ban_filter_matches(lab, sip_org):
    """Done-when 3 (first half): a wrong password is answered 401; Kamailio logs the failed login
    in a line the role's fail2ban filter matches (fail2ban-regex on the host's journal)."""
    view = sip_org.view()
    sub = view.subscriber(CALLEE)
    home = lab.overlay["homes"]["home-1"]
    since = lab.ssh(HOST, "date '+%Y-%m-%d %H:%M:%S'").stdout.strip()  # the host's time zone, as journalctl reads it
    result = probe(home["client_netns"], "register", str(view.public_address), str(view.server.sips_port),
                   sub.extension, view.realm, "not-the-password-0000")
    assert result["codes"] == [401, 401], result
    time.sleep(1)
    check = lab.ssh(HOST, f"journalctl -u kamailio -o short-iso --since '{since}' > /tmp/telework-sip.log; "
                          "fail2ban-regex --print-all-matched /tmp/telework-sip.log "
                          "/etc/fail2ban/filter.d/telework-kamailio.conf; "
                          "rm -f /tmp/telework-sip.log")
    matched = re.search(r"Lines: \d+ lines, \d+ ignored, (\d+) matched", check.stdout)
    assert matched and int(matched.group(1)) >= 1, check.stdout[-3000:]
    assert home["wan_address"] in check.stdout, check.stdout[-3000:]  # the household's address is what it bans


def test_flood_from_a_household_is_stopped_while_its_registered_phone_still_calls(lab, sip_org, homes, phones):
    """Done-when 3: 300 unauthenticated REGISTERs at 100/s from household A: most go unanswered
    and A's address is banned for unauthenticated requests; phone A, registered and
    authenticated behind the same router, still calls B; household B is unaffected. A stock
    Kamailio (pike + ipban by address) fails this: it silences phone A for the ban's minutes."""
    a, b = phones
    view = sip_org.view()
    flood = probe(homes["sip-a"].phone_netns, "flood", str(view.public_address), str(view.server.sips_port),
                  view.realm, "300", "100")
    assert flood["answered"] < 100, flood
    after = probe(homes["sip-a"].phone_netns, "register", str(view.public_address), str(view.server.sips_port),
                  view.subscriber(CALLER).extension, view.realm, sip_org.store.get(view.subscriber(CALLER).password_secret))
    assert after["codes"] == [], f"a new connection from household A is still answered: {after}"
    calls = len(re.findall(r"Call established", a.log()))
    a.dial(f"sip:{view.subscriber(CALLEE).extension}@{view.realm}")
    assert a.wait_for(r"(?s)" + r"Call established.*" * (calls + 1), 20), a.log()[-3000:]
    time.sleep(2)
    a.hangup()
    b.wait_for(r"(?s)" + r"terminated.*" * (calls + 1), 10)
    time.sleep(1)
    b.dial(f"sip:{view.subscriber(CALLER).extension}@{view.realm}")
    assert b.wait_for(r"(?s)" + r"Call established.*" * (calls + 2), 20), b.log()[-3000:]
    time.sleep(1)
    b.hangup()


def test_a_phone_stays_reachable_behind_a_router_that_forgets_idle_bindings_after_30_s(phones, sip_org):
    """Done-when 4: home A's router forgets idle UDP and TCP bindings after 30 s (set before A
    registered); after 60 s without a call or a re-registration (the phone re-registers every
    300 s), a call B -> A still rings and is answered: A's binding was kept open."""
    a, b = phones
    view = sip_org.view()
    answered = len(re.findall(r"Call established", a.log()))
    time.sleep(60)
    b.dial(f"sip:{view.subscriber(CALLER).extension}@{view.realm}")
    assert a.wait_for(r"(?s)" + r"Call established.*" * (answered + 1), 20), a.log()[-3000:]
    time.sleep(1)
    b.hangup()


def test_the_host_suite_passes_on_the_deployed_server(sip_org):
    """The Testinfra suite tests/hosts/test_sip_server.py (policy bounds) passes on sip-1."""
    done = sip_org.telework("verify", str(sip_org.inventory), "--limit", HOST)
    assert "failed" not in done.stdout.splitlines()[-1], done.stdout[-3000:]


def test_provisioning_per_device_credentials_and_the_yealink_file_registers(lab, sip_org, tmp_path):
    """Done-when 6: over HTTPS, a phone's files without credentials: 401; with another phone's:
    403; with its own: 200. The Yealink file fetched by the phone's MAC, turned into a baresip
    account, registers (the file's content is right)."""
    from telework.roles.sip.lab_phones import https_get
    from telework.roles.sip.provisioning import device_secret, parse_yealink, provisioned_phones

    view = sip_org.view()
    phones = provisioned_phones(view)
    mine = next(p for p in phones if p.subscriber.username == CALLER)
    other = next(p for p in phones if p.subscriber.username == CALLEE)
    assert mine.vendor == "yealink"
    netns = lab.overlay["homes"]["home-1"]["client_netns"]
    ca = sip_org.inventory / "pki" / "ca.crt"

    def get(path: str, creds=None) -> tuple[int, str]:
        user, password = creds or (None, None)
        return https_get(netns, view.realm, str(view.public_address), 443, path, ca, user, password)

    own = (mine.mac, sip_org.store.get(device_secret(mine.phone.mac)))
    others = (other.mac, sip_org.store.get(device_secret(other.phone.mac)))
    path = f"/p/{mine.mac}/{mine.file_name}"
    assert get(path)[0] == 401
    assert get(path, others)[0] == 403
    assert get(f"/p/{mine.mac}/{other.file_name}", own)[0] in (403, 404)
    assert get(path, (mine.mac, "not-the-password-000000"))[0] == 401
    status, text = get(path, own)
    assert status == 200
    assert get(f"/p/{mine.mac}/y000000000000.cfg", own)[0] == 200
    cfg = parse_yealink(text)
    assert cfg["account.1.sip_server.1.transport_type"] == "2" and cfg["account.1.srtp_encryption"] == "2"
    from_file = Account(cfg["account.1.user_name"], cfg["account.1.sip_server.1.address"], cfg["account.1.password"],
                        f"{cfg['account.1.outbound_proxy.1.address']}:{cfg['account.1.outbound_proxy.1.port']}")
    desk = Phone(netns, tmp_path / "desk", from_file, ca, tone(tmp_path / "t.wav", 800, 5), lifetime=40)
    try:
        desk.start()
        assert desk.wait_registered(20), desk.log()[-3000:]
    finally:
        desk.stop()



@pytest.fixture(scope="module")
def carrier_side(lab):
    return ensure_carrier(lab.topology)


def sipp(netns: str, *args: str, timeout: int = 60) -> subprocess.Popen:
    """SIPp (sip-tester) in the carrier's namespace, bounded by its own -timeout and ours."""
    return subprocess.Popen(["ip", "netns", "exec", netns, "timeout", str(timeout), "sipp", *args,
                             "-timeout", f"{timeout - 5}s", "-nostdin"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_carrier_calls_reach_the_person_and_outbound_calls_leave_with_the_did(sip_org, phones, carrier_side, tmp_path):
    """Done-when 5: an outbound call reaches the carrier as E.164 with the person's DID as
    identity; a premium number from a barred department gets 403; 112 from the same phone
    reaches the carrier; a carrier INVITE to a DID rings the right person's phone."""
    a, b = phones
    view = sip_org.view()
    caller, callee = view.subscriber(CALLER), view.subscriber(CALLEE)
    trace = tmp_path / "carrier.log"
    uas = sipp(carrier_side.netns, "-sn", "uas", "-i", str(carrier_side.address), "-p", "5060", "-m", "2",
               "-trace_msg", "-message_file", str(trace), timeout=90)
    try:
        time.sleep(1)
        for number in ("0301234567", "112"):
            calls = len(re.findall(r"Call established", a.log()))
            a.dial(f"sip:{number}@{view.realm}")
            assert a.wait_for(r"(?s)" + r"Call established.*" * (calls + 1), 20), a.log()[-3000:]
            time.sleep(1)
            a.hangup()
            time.sleep(1)
        a.dial(f"sip:0900123456@{view.realm}")
        assert a.wait_for(r"403 Call barred \(premium\)", 15), a.log()[-3000:]
        uas.wait(timeout=30)
    finally:
        if uas.poll() is None:
            uas.kill()
    text = trace.read_text(errors="replace")
    invites = re.findall(r"^INVITE sip:(\S+)@", text, re.M)
    assert invites == ["+49301234567", "112"], invites
    assert text.count(f"P-Asserted-Identity: <sip:{caller.did}@{view.realm}>") == 2
    assert "+49900123456" not in text
    # inbound: the carrier calls the callee's DID
    answered = len(re.findall(r"Call established", b.log()))
    scenario = Path(__file__).parent / "sipp" / "carrier_uac.xml"
    uac = sipp(carrier_side.netns, "-sf", str(scenario), "-s", callee.did, f"{view.public_address}:5060",
               "-i", str(carrier_side.address), "-p", "5062", "-m", "1", "-timeout_error", timeout=40)
    out, _ = uac.communicate(timeout=45)
    assert uac.returncode == 0, out[-3000:]
    assert b.wait_for(r"(?s)" + r"Call established.*" * (answered + 1), 5), b.log()[-3000:]


def test_plain_sip_on_the_public_address_is_for_the_carrier_only(lab, sip_org):
    """NET.4.2.A4: a plain-UDP OPTIONS from a home to the public address gets no answer (only
    the carrier's address is accepted there); the same from the carrier is answered."""
    import socket  # noqa: F401 (the probe below runs in the namespaces)

    view = sip_org.view()
    script = ("import socket,sys\n"
              "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);s.settimeout(3);s.bind(('0.0.0.0',5099))\n"
              "ip=s.getsockname()[0]\n"
              "m=('OPTIONS sip:%s SIP/2.0\\r\\nVia: SIP/2.0/UDP 0.0.0.0:5099;branch=z9hG4bKx1;rport\\r\\n'\n"
              "   'From: <sip:probe@invalid>;tag=1\\r\\nTo: <sip:%s>\\r\\nCall-ID: probe-1\\r\\nCSeq: 1 OPTIONS\\r\\n'\n"
              "   'Max-Forwards: 70\\r\\nContent-Length: 0\\r\\n\\r\\n')%(sys.argv[1],sys.argv[1])\n"
              "s.sendto(m.encode(),(sys.argv[1],5060))\n"
              "try:\n  print(s.recv(4096).split(b'\\r\\n')[0].decode())\nexcept OSError:\n  print('no answer')\n")
    home = lab.overlay["homes"]["home-1"]["client_netns"]
    carrier_ns = carrier(lab.topology).netns
    answers = {}
    for who, ns in (("home", home), ("carrier", carrier_ns)):
        done = subprocess.run(["ip", "netns", "exec", ns, "python3", "-c", script, str(view.public_address)],
                              capture_output=True, text=True, timeout=20)
        answers[who] = done.stdout.strip()
    assert answers["home"] == "no answer", answers
    assert answers["carrier"].startswith("SIP/2.0 "), answers


def test_a_new_sip_password_is_applied_without_restart_or_dropped_registrations(lab, sip_org, phones):
    """A subscriber change (a rotated SIP password) changes only the subscriber table and reloads
    it in place: Kamailio keeps its process (no restart), phones A and B stay registered, the new
    password registers and the old one no longer does."""
    view = sip_org.view()
    sub = view.subscriber("awalter")
    old = sip_org.store.get(sub.password_secret)
    pid_before = lab.ssh(HOST, "systemctl show -p MainPID --value kamailio").stdout.strip()
    sip_org.telework("secret", "rotate", sub.password_secret, str(sip_org.inventory))
    run(["git", "add", "-A"], cwd=sip_org.inventory)
    run(["git", "-c", "user.name=telework test", "-c", "user.email=test@invalid", "commit", "-q", "-m",
         f"new SIP password for {sub.username}"], cwd=sip_org.inventory)
    output = sip_org.apply()
    changed = changed_operations(output)
    assert any("subscriber(s), HA1 only" in c for c in changed), changed
    assert not any("restarted" in c for c in changed), changed
    assert lab.ssh(HOST, "systemctl show -p MainPID --value kamailio").stdout.strip() == pid_before
    dump = registrations(lab)
    for username in (CALLER, CALLEE):
        assert f"AoR: {view.subscriber(username).extension}" in dump
    home = lab.overlay["homes"]["home-1"]["client_netns"]
    target = (str(view.public_address), str(view.server.sips_port), sub.extension, view.realm)
    assert probe(home, "register", *target, sip_org.store.get(sub.password_secret))["codes"] == [401, 200]
    assert probe(home, "register", *target, old)["codes"] == [401, 401]


def test_a_no_change_plan_asks_the_host_at_most_one_command_per_deploy_file(lab, sip_org, tmp_path):
    """Done-when 8 (in part): an unchanged sip-1 with every subscriber of the sample is planned
    with at most one remote command per deploy file it runs (base, sip_server): the role's facts
    come in one batch."""
    log = tmp_path / "commands.jsonl"
    env = {**sip_org.env, "TELEWORK_COMMAND_LOG": str(log)}
    done = run([str(VENV_BIN / "telework"), "plan", str(sip_org.inventory), "--limit", HOST], env=env, check=False)
    assert done.returncode == 0, done.stdout[-3000:]
    import json

    commands = [json.loads(line) for line in log.read_text().splitlines()]
    mine = [c for c in commands if c["host"] in (HOST, f"@telework/{HOST}")]
    assert 1 <= len(mine) <= 2, [c["command"][:120] for c in mine]


def test_an_extension_change_plans_exactly_the_subscriber_and_provisioning_changes(lab, sip_org, tmp_path):
    """A person's new extension and DID plan exactly the subscriber table, DIDs, caller IDs,
    their reload and the provisioning files: no restart, and no SIP password (nor any other
    secret) in any plan format; applied, the server takes it without a restart."""
    import json

    inv = require_inventory(sip_org.inventory).model
    person = next(p for p in inv.people if p.username == "aziegler")
    block = next(b for b in inv.number_blocks if b.name == "rathaus")
    used = {p.phone.extension for p in inv.people if p.phone}
    new = next(str(n) for n in range(block.first, block.last + 1) if str(n) not in used)
    people = sip_org.inventory / "people" / "rathaus.yml"
    text = people.read_text()
    line = next(line for line in text.splitlines() if f"username: {person.username}," in line)
    old_ext = person.phone.extension
    people.write_text(text.replace(line, line.replace(f'extension: "{old_ext}"', f'extension: "{new}"')
                                   .replace(f'12-{old_ext}"', f'12-{new}"')))
    run(["git", "add", "-A"], cwd=sip_org.inventory)
    run(["git", "-c", "user.name=telework test", "-c", "user.email=test@invalid", "commit", "-q", "-m",
         f"{person.username}: extension {new}"], cwd=sip_org.inventory)
    out = {fmt: tmp_path / f"plan.{fmt}" for fmt in ("json", "md", "txt")}
    done = run([str(VENV_BIN / "telework"), "plan", str(sip_org.inventory), "--limit", HOST,
                *[a for p in out.values() for a in ("--out", str(p))]], env=sip_org.env, check=False)
    assert done.returncode == 2, done.stdout[-3000:] + done.stderr[-3000:]
    ops = [c["op"].split(" | ", 1)[1] for c in json.loads(out["json"].read_text())["hosts"][0]["changes"]]
    expected_prefixes = ("kamailio: ", "provisioning: files of ")
    assert all(op.startswith(expected_prefixes) for op in ops), ops
    assert any("HA1 only" in op for op in ops) and any("DID(s) to extensions" in op for op in ops)
    assert any("caller IDs" in op for op in ops) and any("reloaded in place" in op for op in ops)
    assert any(op.startswith("provisioning: files of") for op in ops)
    assert not any("restarted" in op for op in ops), ops
    everything = done.stdout + done.stderr + "".join(p.read_text() for p in out.values())
    assert not [v for v in sip_org.secret_values() if v in everything], "a secret is in the plan"
    pid = lab.ssh(HOST, "systemctl show -p MainPID --value kamailio").stdout.strip()
    sip_org.apply()
    assert lab.ssh(HOST, "systemctl show -p MainPID --value kamailio").stdout.strip() == pid
    table = lab.ssh(HOST, "cat /etc/kamailio/telework-db/telework_sub").stdout
    assert f":{new}:0:0:" in table and f":{old_ext}:0:0:" not in table
