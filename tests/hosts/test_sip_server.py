"""SIP servers as deployed by deploy/sip_server.py, checked on the host itself.

Expected values come from the same inventory and group_data the deploy used (`host_data`,
telework.roles.sip.server.sip_view). Checks are bounds (only these sockets, at most this mode,
only the inventory's subscribers), not a copy of what the deploy rendered. Each docstring starts
with the BSI IT-Grundschutz requirement (Kompendium 2022) it evidences.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from telework.inventory.loading import require_inventory
from telework.roles.sip.server import sip_view
from telework.secrets.store import SecretStore

pytestmark = pytest.mark.role("sip_servers")


@pytest.fixture(scope="module")
def inventory_dir(host_data) -> Path:
    return Path(host_data["telework_inventory"])


@pytest.fixture(scope="module")
def view(inventory_dir, host_name):
    return sip_view(require_inventory(inventory_dir), host_name)


@pytest.fixture(scope="module")
def listening(host) -> list[tuple[str, str, str, str]]:
    """(proto, local address, port, process) of every listening socket, from `ss`."""
    sockets = []
    for line in host.check_output("ss -H -lntup").splitlines():
        fields = line.split()
        address, _, port = fields[4].rpartition(":")
        process = re.search(r'\(\("([^"]+)"', line)
        sockets.append((fields[0], address.strip("[]"), port, process.group(1) if process else ""))
    return sockets


def test_services_running_and_enabled(host):
    """NET.4.2.A5, SYS.1.1.A6: Kamailio, rtpengine and fail2ban run and start at boot."""
    for unit in ("kamailio", "rtpengine-daemon", "fail2ban"):
        service = host.service(unit)
        assert service.is_running, unit
        assert service.is_enabled, unit


def test_sip_reachable_from_outside_only_over_tls(host, listening, view, host_data):
    """NET.4.2.A4, NET.4.2.A14: Kamailio listens on the public address with TLS, and with plain
    UDP only for a configured carrier trunk (whose address alone the script accepts there);
    plain SIP otherwise only on the internal address, never on every address."""
    sip = [s for s in listening if s[3] == "kamailio"]
    assert sip, "kamailio listens nowhere"
    public = {(p, port) for p, a, port, _ in sip if a == str(view.public_address)}
    allowed = {("tcp", str(view.server.sips_port))}
    trunk = host_data.get("sip_trunk")
    if trunk:
        allowed.add(("udp", str(view.server.sip_port)))
        cfg = host.file("/etc/kamailio/kamailio.cfg").content_string
        assert f'$Ri == "{view.public_address}" && $si != "{trunk["address"]}"' in cfg, \
            "plain SIP on the public address is not limited to the carrier"
    assert public <= allowed, f"on the public address: {public}"
    assert ("tcp", str(view.server.sips_port)) in public
    for proto, address, port, _ in sip:
        assert address not in ("0.0.0.0", "*", "::"), f"kamailio on every address: {proto} {port}"
        assert address in (str(view.internal_address), str(view.public_address), "127.0.0.1"), address


def test_rtpengine_controlled_only_from_this_host(listening, host_data):
    """NET.4.2.A5: rtpengine's control port is on loopback only (nobody else may steer media)."""
    control_port = host_data["sip_rtpengine_control"].rpartition(":")[2]
    control = [s for s in listening if s[3] == "rtpengine" and s[2] == control_port]
    assert control and all(a == "127.0.0.1" for _, a, _, _ in control), control


def test_key_and_subscriber_files_are_not_world_readable(host, host_data):
    """NET.4.2.A5, ORP.4.A23: the TLS key and the HA1 table are readable by root and kamailio only."""
    for path in ("/etc/kamailio/telework-tls.key", f"{host_data['sip_db_dir']}/telework_sub"):
        f = host.file(path)
        assert f.exists, path
        assert f.user == "root" and f.group == "kamailio", path
        assert f.mode & 0o137 == 0, f"{path} mode {oct(f.mode)}: at most 0640"


def test_only_inventory_subscribers_and_only_ha1(host, host_data, view):
    """ORP.4.A23, NET.4.2.A5: the subscriber table holds only extensions of the inventory's active
    people with a phone, each with a 32-digit MD5 HA1 and nothing else."""
    rows = host.check_output(f"cat {host_data['sip_db_dir']}/telework_sub").splitlines()[1:]
    extensions = {s.extension for s in view.subscribers}
    for row in rows:
        _id, key, _kt, _vt, value, _exp = row.split(":")
        assert key in extensions, f"extension {key} is no active subscriber of the inventory"
        assert re.fullmatch(r"[0-9a-f]{32}", value), f"extension {key}: not an HA1 digest"


def test_no_clear_sip_password_on_the_server(host, inventory_dir, view):
    """ORP.4.A23, NET.4.2.A5: no subscriber's clear SIP password is in Kamailio's, rtpengine's or
    fail2ban's configuration (provisioning files are the only place allowed to hold one)."""
    store = SecretStore(inventory_dir)
    passwords = {s.extension: store.get(s.password_secret) for s in view.subscribers
                 if store.exists(s.password_secret)}
    assert passwords, "no SIP password in the inventory's secrets: nothing deployed?"
    text = host.check_output("find /etc/kamailio /etc/rtpengine /etc/fail2ban /etc/default /var/lib/kamailio "
                             "-type f -size -20M -exec cat {} + 2>/dev/null || true")
    found = [ext for ext, pw in passwords.items() if pw in text]
    assert found == [], f"clear SIP passwords of extension(s) {', '.join(found[:5])} on the host"


def test_tls_policy(host, host_data):
    """NET.4.2.A14, CON.1.A1: Kamailio's TLS offers TLS 1.2 at least with AEAD suites only."""
    cfg = host.file("/etc/kamailio/tls.cfg").content_string
    methods = re.findall(r"^method\s*=\s*(\S+)", cfg, re.M)
    assert methods and all(m in ("TLSv1.2+", "TLSv1.3+", "TLSv1.3") for m in methods), methods
    for ciphers in re.findall(r"^cipher_list\s*=\s*(\S+)", cfg, re.M):
        assert all(("GCM" in c or "CHACHA20" in c) and c.startswith("ECDHE") for c in ciphers.split(":")), ciphers


def test_failed_logins_reach_fail2ban(host):
    """DER.1.A5, NET.4.1.A5: the role's jail is active in fail2ban and bans through nftables."""
    status = host.run("fail2ban-client status telework-sip")
    assert status.rc == 0, status.stderr
    jail = host.file("/etc/fail2ban/jail.d/telework-sip.conf").content_string
    assert re.search(r"^banaction\s*=\s*nftables", jail, re.M)
