"""`person status` for phones: the answer of Kamailio 5.6's `kamcmd ul.lookup location s:EXT`
read into registrations (the lab test in tests/lab/test_sip.py reads a running registrar)."""

from __future__ import annotations

from telework.roles.sip.status import parse_lookup

LOOKUP = """\
{
\tAoR: 1042
\tContacts: {
\t\tContact: {
\t\t\tAddress: sip:1042@192.168.178.20:42621;transport=tls
\t\t\tExpires: 287
\t\t\tQ: -1
\t\t\tCall-ID: 4f2a9c1d7e
\t\t\tCSeq: 3
\t\t\tUser-Agent: baresip v1.0.0 (x86_64/linux)
\t\t\tReceived: sip:198.51.100.100:42621;transport=tls
\t\t\tPath: [not set]
\t\t\tState: CS_NEW
\t\t\tSocket: tls:10.20.0.30:5061
\t\t}
\t\tContact: {
\t\t\tAddress: sip:1042@10.20.3.7:5060
\t\t\tExpires: 45
\t\t\tUser-Agent: Yealink SIP-T54W
\t\t\tReceived: [not set]
\t\t\tSocket: udp:10.20.0.30:5060
\t\t}
\t}
}
"""


def test_each_contact_with_the_routers_address_transport_phone_and_expiry():
    home, office = parse_lookup(LOOKUP)
    assert home == {"contact": "sip:1042@192.168.178.20:42621;transport=tls", "public_address": "198.51.100.100",
                    "public_port": 42621, "transport": "tls", "expires_in_s": 287,
                    "user_agent": "baresip v1.0.0 (x86_64/linux)"}
    # a phone the registrar reached without NAT has no Received address
    assert office["public_address"] is None and office["expires_in_s"] == 45


def test_no_binding_is_not_registered_and_an_error_is_no_answer():
    assert parse_lookup("error: 404 - AOR not found\n") == []
    assert parse_lookup("error: 404 - Not Found\n") == []
    assert parse_lookup("error: 500 - Not enough parameters (table and AOR to lookup)\n") is None
    assert parse_lookup("bash: line 1: kamcmd: command not found\n") is None  # not "not registered"
