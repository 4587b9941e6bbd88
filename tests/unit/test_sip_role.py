"""The SIP role without a host: who is a subscriber, HA1 and the tables Kamailio loads, the
rendered configuration, and `telework sip init` (passwords and the TLS certificate)."""

from __future__ import annotations

import re
from hashlib import md5

import pytest
from cryptography import x509

from telework.engine.deploy_support import render_template
from telework.inventory.loading import require_inventory
from telework.roles.sip.keys import cert_path, init_sip
from telework.roles.sip.render import did_table, ha1, htable_rows, subscriber_table
from telework.roles.sip.server import sip_view
from telework.roles.vpn.pki import init_pki
from telework.secrets.store import SecretStore

from ..conftest import SAMPLE


@pytest.fixture(scope="module")
def view():
    return sip_view(require_inventory(SAMPLE), "sip-1")


def test_subscribers_are_the_active_people_with_a_number_in_the_servers_blocks(view):
    inv = require_inventory(SAMPLE).model
    expected = {p.username for p in inv.people if p.phone and p.status.value == "active"}
    assert {s.username for s in view.subscribers} == expected
    suspended = next(p for p in inv.people if p.status.value == "suspended" and p.phone)
    assert view.subscriber(suspended.username) is None
    s = view.subscriber("aschmitz")
    assert (s.extension, s.did, s.block) == ("1042", "+49999912" "1042", "rathaus")
    assert s.password_secret == "sip/password/aschmitz"
    assert view.realm == "gruenfelden.example" and str(view.public_address) == "198.51.100.20"


def test_ha1_is_rfc2617():
    assert ha1("1042", "gruenfelden.example", "pw") == md5(b"1042:gruenfelden.example:pw").hexdigest()


def test_subscriber_table_holds_ha1_only_and_leaves_out_who_has_no_password(view):
    subs = view.subscribers[:3]
    passwords = {subs[0].username: "Secret-One-1234567890abc", subs[1].username: "Secret-Two-1234567890abc"}
    table = subscriber_table(subs, view.realm, passwords)
    lines = table.splitlines()
    assert lines[0].startswith("id(int,auto) key_name(string)")
    assert len(lines) == 3
    for line in lines[1:]:
        assert re.fullmatch(r"\d+:\d+:0:0:[0-9a-f]{32}:0", line)
    assert "Secret" not in table
    assert subs[2].extension not in "".join(line.split(":")[1] for line in lines[1:])


def test_did_table_maps_e164_to_extensions(view):
    table = did_table(view.subscribers)
    assert "+499999121042:0:0:1042:0" in table


def test_htable_rows_refuse_what_db_text_cannot_store():
    with pytest.raises(ValueError, match="cannot be stored"):
        htable_rows([("a:b", "c")])


def _kamailio_cfg(view, trunk) -> str:
    return render_template(
        "sip_server", "/etc/kamailio/kamailio.cfg", header="# h", name="sip-1", realm=view.realm,
        internal_address=view.internal_address, public_address=view.public_address, sip_port=5060, sips_port=5061,
        db_dir="/etc/kamailio/telework-db", children=2, max_expires=300, default_expires=120, min_expires=60,
        natping_interval=20, tcp_keepidle=20, rtpengine_control="127.0.0.1:2223", ban_seconds=300, pike_window=2,
        pike_density=16, auth_fail_window=600, auth_fail_per_source=10, auth_fail_per_user=20,
        log_prefix="telework-sip:", srtp_refused_pattern="NULL|_32", rtpengine_flags="ICE=remove",
        trunk=trunk, country_code="49", national_prefix="0",
        international_prefix="00", emergency=["110", "112"], number_classes={"premium": "^[+]49900"})


def test_kamailio_config_renders_with_the_policy(view):
    cfg = _kamailio_cfg(view, trunk={"address": "198.51.100.99", "port": 5060})
    assert "listen=tls:198.51.100.20:5061" in cfg
    assert "listen=udp:10.20.0.31:5060" in cfg
    # plain SIP on the public address for the trunk only, and only from the carrier
    assert "listen=udp:198.51.100.20:5060" in cfg and '$si != "198.51.100.99"' in cfg
    assert '$rU =~ "^(110|112)$"' in cfg
    assert 'pv_auth_check("gruenfelden.example", "$var(ha1)", "1", "1")' in cfg
    assert "failed login for '$au' from $si" in cfg


def test_without_a_trunk_no_route_block_is_empty_and_udp_stays_internal(view):
    """Kamailio refuses an empty route block: every route has a statement without a trunk too."""
    cfg = _kamailio_cfg(view, trunk=None)
    assert "listen=udp:198.51.100.20" not in cfg
    assert re.findall(r"route\[\w+\] \{\s*\}", cfg) == []
    assert 'sl_send_reply("503", "No trunk to the carrier")' in cfg


def test_fail2ban_filter_matches_the_logged_line():
    filt = render_template("sip_server", "/etc/fail2ban/filter.d/telework-kamailio.conf", header="#",
                           name="sip-1", realm="r", log_prefix="telework-sip:")
    regex = re.search(r"^failregex = (.*)$", filt, re.M).group(1).replace("<HOST>", r"(?P<host>\S+)")
    line = "{REGISTER 2 abc} <script>: telework-sip: failed login for '1042' from 198.51.100.254"
    assert re.search(regex, line).group("host") == "198.51.100.254"


def test_sip_init_makes_passwords_and_a_certificate_once(sample, store):
    init_pki(sample, store)
    created = init_sip(sample, store)
    view = sip_view(require_inventory(sample), "sip-1")
    assert store.exists("sip/password/aschmitz") and store.exists("sip/tls-key/sip-1")
    assert sum(c.startswith("secret sip/password/") for c in created) == len(view.subscribers)
    cert = x509.load_pem_x509_certificate(cert_path(sample, "sip-1").read_bytes())
    names = {str(n.value) for n in cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value}
    assert names == {"gruenfelden.example", "sip-1.gruenfelden.example", "198.51.100.20"}
    assert not (sample / "pki" / "servers" / "sip-1.crt").exists()  # the VPN's common name stays the VPN's
    assert init_sip(sample, SecretStore(sample)) == []


def test_provisioning_files_and_credentials(view):
    import base64
    from hashlib import sha1

    from telework.roles.sip.provisioning import htpasswd_line, mac12, parse_yealink, provisioned_phones

    phones = provisioned_phones(view)
    mine = next(p for p in phones if p.subscriber.username == "aschmitz")
    assert (mine.vendor, mine.mac, mine.file_name) == ("yealink", "805ec0a8f9a5", "805ec0a8f9a5.cfg")
    assert mac12("00:04:13:22:95:A1") == "0004132295a1"
    assert {p.vendor for p in phones} == {"yealink", "snom"}
    text = render_template("sip_server", "/var/lib/telework/provisioning/MAC.cfg", header="# h", realm=view.realm,
                           port=443, sips_port=5061, public_address=view.public_address, expires=120, phone=mine.phone,
                           sub=mine.subscriber, mac=mine.mac, password="Pw-123456789012345678901")
    cfg = parse_yealink(text)
    assert (cfg["account.1.user_name"], cfg["account.1.password"]) == ("1042", "Pw-123456789012345678901")
    assert cfg["account.1.outbound_proxy.1.address"] == "198.51.100.20"
    line = htpasswd_line(mine.mac, "Pw-123456789012345678901")
    assert line == htpasswd_line(mine.mac, "Pw-123456789012345678901")  # the same file on every apply
    user, _, hashed = line.partition(":")
    raw = base64.b64decode(hashed.removeprefix("{SSHA}"))
    assert user == mine.mac and sha1(b"Pw-123456789012345678901" + raw[20:]).digest() == raw[:20]


def test_person_show_names_the_sip_account_and_the_provisioning_url():
    from telework.roles.sip.person import person_facts

    facts = person_facts(require_inventory(SAMPLE), "aschmitz")
    assert facts.json["sip"] == {"server": "sip-1", "user": "1042", "domain": "gruenfelden.example",
                                 "did": "+499999121042", "password_set": False}
    assert facts.devices["80:5E:C0:A8:F9:A5"]["provisioning_url"] == \
        "https://gruenfelden.example/p/805ec0a8f9a5/805ec0a8f9a5.cfg"
    assert person_facts(require_inventory(SAMPLE), "bziegler").json["sip"] is None  # suspended: no account
