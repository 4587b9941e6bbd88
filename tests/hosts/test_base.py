"""The baseline deploy/base.py gives every host, checked on the host itself.

No role marker: these run on every host of the inventory. Each docstring starts with the
BSI IT-Grundschutz requirement it is evidence for (Kompendium edition 2023 IDs), and only those
its assertion really tests. Policies are asserted as bounds (at most, only these), never as
equality with the value the deploy rendered: a default raised to 100 must fail here.
"""

from __future__ import annotations

import json

import netaddr
import pytest

from telework.inventory.loading import require_inventory
from telework.roles.base.firewall import management_networks

#: SYS.1.3.A8 hardening bounds: what the organisation's policy allows at most
MAX_AUTH_TRIES = 4
MAX_LOGIN_GRACE_SECONDS = 60


@pytest.fixture(scope="module")
def sshd(host) -> dict[str, str]:
    """The settings sshd actually uses (`sshd -T`), not what some file says."""
    out = host.check_output("sshd -T")
    return dict(line.split(" ", 1) for line in out.splitlines() if " " in line)


def test_ssh_no_password_login(sshd):
    """SYS.1.3.A8: administrators log in with keys only: no password, no keyboard-interactive."""
    assert sshd["passwordauthentication"] == "no"
    assert sshd["kbdinteractiveauthentication"] == "no"
    assert sshd["permitemptypasswords"] == "no"


def test_ssh_root_keys_only(sshd):
    """SYS.1.3.A8: root may log in with a key, never with a password."""
    assert sshd["permitrootlogin"] in ("prohibit-password", "without-password")


def test_ssh_limits_guessing(sshd):
    """SYS.1.3.A8: at most 4 authentication attempts per connection and at most 60 seconds to
    log in (0 would mean no limit)."""
    assert 1 <= int(sshd["maxauthtries"]) <= MAX_AUTH_TRIES
    assert 0 < int(sshd["logingracetime"]) <= MAX_LOGIN_GRACE_SECONDS


def test_ssh_no_x11_forwarding(sshd):
    """SYS.1.1.A6: X11 forwarding, a function no host here needs, is off."""
    assert sshd["x11forwarding"] == "no"


def test_ssh_running_and_enabled(host):
    """SYS.1.3.A8: SSH, the administration's remote access, runs and starts at boot."""
    ssh = host.service("ssh")
    assert ssh.is_running
    assert ssh.is_enabled


def test_ssh_settings_file_managed(host):
    """SYS.1.1.A16: the SSH hardening file is telework's (from the inventory, not edited on the
    host), root-owned and writable by root only."""
    f = host.file("/etc/ssh/sshd_config.d/telework.conf")
    assert f.is_file
    assert f.user == "root"
    assert f.mode & 0o022 == 0
    assert "managed by telework" in f.content_string


def test_timezone(host, inventory):
    """OPS.1.1.5.A4: one time zone on every host, so log times read alike (clock synchronisation
    is not checked here)."""
    zone = inventory.organisation.settings.timezone
    assert host.file("/etc/timezone").content_string.strip() == zone
    assert host.file("/etc/localtime").linked_to == f"/usr/share/zoneinfo/{zone}"


def test_apt_proxy(host, host_data, inventory):
    """OPS.1.1.3.A10: packages come from the organisation's proxy as its settings say, or
    directly from the mirrors (no other source is configured)."""
    proxy = host_data.get("apt_proxy") or inventory.organisation.settings.apt_proxy
    f = host.file("/etc/apt/apt.conf.d/01telework-proxy")
    if proxy:
        assert f.is_file
        assert f'Acquire::http::Proxy "{proxy}";' in f.content_string
    else:
        assert not f.exists


def test_apt_sources_signed(host):
    """OPS.1.1.3.A10: no package source is exempt from signature checks (`trusted=yes`)."""
    out = host.run("grep -rlsi 'trusted=yes\\|Trusted: yes' /etc/apt/sources.list /etc/apt/sources.list.d/")
    assert out.stdout.strip() == "", f"unsigned apt sources: {out.stdout.strip()}"


# --- the host firewall (telework.roles.base.firewall) -----------------------------------------


@pytest.fixture(scope="module")
def ruleset(host, host_data) -> dict:
    """The live ruleset as nft prints it (JSON): chains by name, rules of table telework."""
    out = json.loads(host.check_output(f"nft -j list table inet {host_data['base_firewall_table']}"))["nftables"]
    return {"chains": {i["chain"]["name"]: i["chain"] for i in out if "chain" in i},
            "rules": [i["rule"] for i in out if "rule" in i]}


def _matches(rule: dict, field: str):
    for e in rule["expr"]:
        m = e.get("match")
        if m and "payload" in m["left"] and m["left"]["payload"]["field"] == field:
            yield m["left"]["payload"].get("protocol"), m["right"]


def _addresses(value) -> netaddr.IPSet:
    items = value["set"] if isinstance(value, dict) and "set" in value else [value]
    out = netaddr.IPSet()
    for i in items:
        if isinstance(i, dict) and "prefix" in i:
            out.add(netaddr.IPNetwork(f"{i['prefix']['addr']}/{i['prefix']['len']}"))
        elif isinstance(i, dict) and "range" in i:
            out.add(netaddr.IPRange(*i["range"]))
        else:
            out.add(netaddr.IPAddress(i))
    return out


def _accepting(ruleset: dict, chain: str = "input") -> list[dict]:
    return [r for r in ruleset["rules"] if r["chain"] == chain and any("accept" in e for e in r["expr"])]


def test_firewall_drops_what_it_does_not_accept(ruleset):
    """SYS.1.1.A19: incoming and forwarded packets are dropped unless a rule accepts them, and
    the drops are counted; filtering is stateful (only established flows pass unasked)."""
    for chain in ("input", "forward"):
        assert ruleset["chains"][chain]["policy"] == "drop", chain
        last = [r for r in ruleset["rules"] if r["chain"] == chain][-1]
        assert {"counter", "drop"} <= {k for e in last["expr"] for k in e}, (chain, last)
    first = [r for r in ruleset["rules"] if r["chain"] == "input"][0]
    assert first["expr"][0]["match"]["left"] == {"ct": {"key": "state"}}


def test_firewall_accepts_ssh_only_from_management_networks(ruleset, host_data):
    """SYS.1.1.A19: every rule accepting SSH names its sources, and they lie within the
    inventory's management networks (and the environment's, e.g. the lab controller's)."""
    allowed = netaddr.IPSet(management_networks(require_inventory(host_data["telework_inventory"]),
                                                host_data.get("base_extra_management_networks") or ()))
    ssh = [r for r in _accepting(ruleset) if any(v == host_data["base_firewall_ssh_port"]
                                                 for p, v in _matches(r, "dport") if p == "tcp")]
    assert ssh, "no rule accepts SSH: administration would be locked out"
    for rule in ssh:
        sources = [_addresses(v) for p, v in _matches(rule, "saddr")]
        assert sources and all(s.issubset(allowed) for s in sources), rule


def _stateful_loopback_or_icmp(rule: dict) -> bool:
    left = rule["expr"][0].get("match", {}).get("left", {})
    return left.get("ct", {}).get("key") == "state" or left.get("meta", {}).get("key") in ("iif", "l4proto")


def test_firewall_accepts_nothing_but_named_ports(ruleset):
    """SYS.1.1.A19: apart from established flows, loopback and ICMP, every accepting input rule
    names a destination port (no rule accepts a whole protocol or host)."""
    for rule in _accepting(ruleset):
        assert _stateful_loopback_or_icmp(rule) or list(_matches(rule, "dport")), rule


@pytest.fixture(scope="module")
def listening(host) -> set[tuple[str, int]]:
    """(tcp|udp, port) of every socket listening on an address other than loopback."""
    out = host.check_output("ss -H -lntu")
    found = set()
    for line in out.splitlines():
        fields = line.split()
        address, _, port = fields[4].rpartition(":")
        address = address.strip("[]").split("%")[0]
        if address in ("127.0.0.1", "::1") or address.startswith("127."):
            continue
        found.add((fields[0], int(port)))
    return found


def test_only_ports_the_firewall_opens_are_listening(listening, ruleset):
    """SYS.1.1.A6: no network service listens beyond those the host's roles need (the ports its
    firewall opens), on any non-loopback address."""
    matches = [(p, v) for r in _accepting(ruleset) for p, v in _matches(r, "dport")]
    opened = {(p, v) for p, v in matches if isinstance(v, int)}
    # a port range (rtpengine's media ports): nft's JSON gives {"range": [first, last]}
    ranges = [(p, *v["range"]) for p, v in matches if isinstance(v, dict) and "range" in v]
    unneeded = {(p, port) for p, port in listening - opened
                if not any(p == rp and first <= port <= last for rp, first, last in ranges)}
    assert not unneeded, f"listening but not needed: {sorted(unneeded)}"
