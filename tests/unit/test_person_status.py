"""`person status` parsers, on text as the lab's Debian hosts print it (OpenVPN 2.6 status file
version 2, FreeRADIUS 3.2 radius.log with `auth = yes`, `wg show IF latest-handshakes|endpoints`).
The lab test (tests/lab/test_onboarding.py) reads the same from running hosts."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from telework.roles.vpn.status import (
    OpenVpnSession,
    established,
    parse_openvpn_status,
    parse_radius_log,
    parse_wireguard,
    refused_session,
)

STATUS = """\
TITLE,OpenVPN 2.6.14 x86_64-pc-linux-gnu [SSL (OpenSSL)] [LZO] [LZ4] [EPOLL] [PKCS11] [MH/PKTINFO] [AEAD] [DCO]
TIME,2026-12-06 22:21:09,1796592069
HEADER,CLIENT_LIST,Common Name,Real Address,Virtual Address,Virtual IPv6 Address,Bytes Received,Bytes Sent,\
Connected Since,Connected Since (time_t),Username,Client ID,Peer ID,Data Channel Cipher
CLIENT_LIST,bschmid,198.51.100.254:43936,10.128.0.59,,2475,2996,2026-12-06 22:20:07,1796592007,bschmid,0,0,AES-256-GCM
CLIENT_LIST,ubraun,198.51.100.254:50535,10.128.2.113,,2554,3218,2026-12-06 22:20:10,1796592010,ubraun,1,1,AES-256-GCM
HEADER,ROUTING_TABLE,Virtual Address,Common Name,Real Address,Last Ref,Last Ref (time_t)
ROUTING_TABLE,10.128.0.59,bschmid,198.51.100.254:43936,2026-12-06 22:21:08,1796592068
GLOBAL_STATS,Max bcast/mcast queue length,0
END
"""

RADIUS = """\
Sun Dec  6 22:20:00 2026 : Info: Ready to process requests
Sun Dec  6 22:20:07 2026 : Auth: (0) Login OK: [bschmid] (from client vpn-a port 3396 cli 198.51.100.254)
Sun Dec  6 22:20:14 2026 : Auth: (2) Login OK: [jgroesser] (from client vpn-b port 3394 cli 198.51.100.254)
Sun Dec  6 22:20:30 2026 : ERROR: (3) telework_totp: ERROR: pam_authenticate failed: Authentication failure
Sun Dec  6 22:20:30 2026 : Auth: (3) Login incorrect (telework_totp: pam_authenticate failed: Authentication \
failure): [jgroesser] (from client vpn-a port 3432 cli 198.51.100.254)
Sun Dec  6 22:20:31 2026 : Auth: (4) Login incorrect: [jgroesser2] (from client vpn-a port 3433 cli 198.51.100.254)
"""
BERLIN = ZoneInfo("Europe/Berlin")


def test_openvpn_client_list_gives_who_since_when_from_where():
    sessions = parse_openvpn_status(STATUS)
    assert [(s.common_name, s.real_address, s.virtual_address) for s in sessions] == [
        ("bschmid", "198.51.100.254", "10.128.0.59"), ("ubraun", "198.51.100.254", "10.128.2.113")]
    assert sessions[0].since == datetime.fromtimestamp(1796592007, UTC)
    assert parse_openvpn_status("") == []


def test_the_radius_results_of_exactly_this_person_in_utc():
    ok, refused = parse_radius_log(RADIUS, "jgroesser", BERLIN)
    assert ok.accepted and ok.client == "vpn-b"
    assert not refused.accepted and refused.client == "vpn-a"
    assert refused.when == datetime(2026, 12, 6, 21, 20, 30, tzinfo=UTC)  # CET = UTC+1
    assert [r.when.second for r in parse_radius_log(RADIUS, "jgroesser2", BERLIN)] == [31]  # not the prefix's
    assert parse_radius_log(RADIUS, "nobody", BERLIN) == []


def test_a_listed_session_whose_login_was_refused_is_not_connected():
    """OpenVPN lists a client from its TLS handshake and for 5 s after AUTH_FAILED."""
    logins = parse_radius_log(RADIUS, "jgroesser", BERLIN)
    since = datetime(2026, 12, 6, 21, 20, 29, tzinfo=UTC)
    failing = OpenVpnSession("jgroesser", "198.51.100.254", "10.128.0.9", since)
    assert refused_session(failing, "vpn-a", logins)
    assert not refused_session(OpenVpnSession("jgroesser", "198.51.100.254", "10.128.4.9",
                                              datetime(2026, 12, 6, 21, 20, 13, tzinfo=UTC)), "vpn-b", logins)
    assert not refused_session(failing, "vpn-b", logins)  # no answer for it yet: listed as it is


def test_wireguard_handshakes_and_endpoints_never_a_handshake_is_none():
    peers = parse_wireguard("KEYA=\t1796592000\nKEYB=\t0\n", "KEYA=\t198.51.100.254:51820\nKEYB=\t(none)\n")
    assert peers == {"KEYA=": (datetime.fromtimestamp(1796592000, UTC), "198.51.100.254:51820"),
                     "KEYB=": (None, None)}


def test_an_unknown_username_names_the_closest_before_any_host_is_asked(sample):
    from click.testing import CliRunner

    from telework.cli.main import cli

    result = CliRunner().invoke(cli, ["person", "status", "asomer", str(sample)])
    assert result.exit_code == 1 and "no person 'asomer'" in result.output and "asommer" in result.output


def test_a_client_listed_without_a_tunnel_address_is_logging_in_not_connected():
    """OpenVPN writes a client into its list before RADIUS has accepted the code: no tunnel
    address yet. The helpdesk must not read that as connected."""
    checking = STATUS.replace("CLIENT_LIST,ubraun,198.51.100.254:50535,10.128.2.113,",
                              "CLIENT_LIST,ubraun,198.51.100.254:50535,,")
    by_name = {s.common_name: s for s in parse_openvpn_status(checking)}
    assert established(by_name["bschmid"]) and not established(by_name["ubraun"])
