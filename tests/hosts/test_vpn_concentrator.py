"""VPN concentrators as deployed by deploy/vpn_concentrator.py, checked on the host itself.

Expected values come from the same inventory and group_data the deploy used (`host_data`,
telework.roles.vpn.concentrator.concentrator_view), so a changed default changes deploy and check together.
Each docstring starts with the BSI IT-Grundschutz requirement (Kompendium 2023) it evidences.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from telework.inventory.loading import require_inventory
from telework.roles.vpn.concentrator import concentrator_view
from telework.secrets.store import SecretStore, wireguard_public_key  # noqa: F401  (public key check below)

pytestmark = pytest.mark.role("vpn_concentrators")


@pytest.fixture(scope="module")
def inventory_dir(host_data) -> Path:
    return Path(host_data["telework_inventory"])


@pytest.fixture(scope="module")
def view(inventory_dir, host_name):
    return concentrator_view(require_inventory(inventory_dir), host_name)


@pytest.fixture(scope="module")
def ovpn_dir(host_data) -> str:
    return f"/etc/openvpn/server/{host_data['vpn_openvpn_instance']}"


@pytest.fixture(scope="module")
def listening(host) -> list[tuple[str, str, str]]:
    """(proto, local address, port) of every listening socket, from `ss`."""
    out = host.check_output("ss -H -lntu")
    sockets = []
    for line in out.splitlines():
        fields = line.split()
        address, _, port = fields[4].rpartition(":")
        sockets.append((fields[0], address.strip("[]"), port))
    return sockets


def test_services_running_and_enabled(host, host_data):
    """NET.3.3.A4: OpenVPN and WireGuard run and start at boot, and so does the packet filter's
    ruleset (a reboot never leaves the concentrator unfiltered)."""
    for unit in (f"openvpn-server@{host_data['vpn_openvpn_instance']}", f"wg-quick@{host_data['vpn_wireguard_interface']}"):
        service = host.service(unit)
        assert service.is_running, unit
        assert service.is_enabled, unit
    assert host.service("nftables").is_enabled


def test_listening_exactly_as_expected(listening, view):
    """SYS.1.1.A6: OpenVPN only on the public address, WireGuard, SSH: nothing else."""
    c = view.concentrator
    expected = {("udp", str(c.public_address), str(c.openvpn_port)), ("udp", "0.0.0.0", str(c.wireguard_port)),
                ("udp", "*", str(c.wireguard_port)), ("tcp", "0.0.0.0", "22"), ("tcp", "*", "22")}
    unexpected = [s for s in listening if s[1] not in ("127.0.0.1", "::1") and s not in expected
                  and not (s[1] == "::" and s[2] in (str(c.wireguard_port), "22"))]
    assert not unexpected, unexpected
    assert ("udp", str(c.public_address), str(c.openvpn_port)) in listening


def test_key_files_root_only(host, ovpn_dir, host_data):
    """CON.1.A4, NET.3.3.A4: private keys and the RADIUS secret are 0600 root:root."""
    for path in (f"{ovpn_dir}/server.key", f"{ovpn_dir}/tls-crypt.key", host_data["vpn_wireguard_private_key"],
                 "/etc/telework/pam_radius_auth.conf"):
        f = host.file(path)
        assert f.is_file, path
        assert (f.mode, f.user, f.group) == (0o600, "root", "root"), path


def test_crl_is_the_inventorys(host, ovpn_dir, inventory_dir):
    """NET.3.3.A5: the CRL OpenVPN checks is exactly the committed pki/crl.pem."""
    assert host.file(f"{ovpn_dir}/crl.pem").content_string == (inventory_dir / "pki" / "crl.pem").read_text()


def test_openvpn_crypto_policy(host, ovpn_dir, host_data):
    """CON.1.A1: TLS 1.2+, AEAD data ciphers only, client certificates required,
    second factor through PAM/RADIUS, no username-as-common-name."""
    conf = host.file(f"/etc/openvpn/server/{host_data['vpn_openvpn_instance']}.conf").content_string
    assert f"tls-version-min {host_data['vpn_openvpn_tls_version_min']}" in conf
    assert f"data-ciphers {':'.join(host_data['vpn_openvpn_data_ciphers'])}" in conf
    assert "verify-client-cert require" in conf and "remote-cert-tls client" in conf
    assert f"crl-verify {ovpn_dir}/crl.pem" in conf and "ccd-exclusive" in conf
    assert re.search(r'^plugin openvpn-plugin-auth-pam\.so ".* login COMMONNAME password PASSWORD"$', conf, re.M)
    assert not re.search(r"^\s*username-as-common-name", conf, re.M)


def test_every_person_has_a_fixed_address(host, ovpn_dir, view):
    """NET.3.3.A12: one client-config file per enrolled person with their allocated address;
    nobody else (ccd-exclusive refuses people without a file)."""
    names = set(host.check_output(f"ls -1 {ovpn_dir}/ccd").split())
    assert names == {c.username for c in view.openvpn_clients}
    for client in view.openvpn_clients[:20]:
        assert f"ifconfig-push {client.address} " in host.file(f"{ovpn_dir}/ccd/{client.username}").content_string


def test_wireguard_peers_are_the_inventorys(host, host_data, view, inventory_dir):
    """NET.3.3.A5, A12: `wg show` lists exactly the inventory's active devices, each with its
    tunnel address, and the interface has the key enrolment gave the devices."""
    interface = host_data["vpn_wireguard_interface"]
    dump = host.check_output(f"wg show {interface} dump").splitlines()
    peers = {line.split("\t")[0]: line.split("\t")[3] for line in dump[1:]}
    assert peers == {p.public_key: f"{p.address}/32" for p in view.wireguard_peers}
    public = SecretStore(inventory_dir).info(view.wireguard_key_secret).public
    assert dump[0].split("\t")[1] == public


def test_access_policy_loaded(host, view, host_data):
    """NET.3.3.A13, NET.3.2.A2, NET.3.2.A9: the live ruleset has one set per access group with
    its tunnel addresses, drops and logs the rest, and does no NAT."""
    assert host.check_output("sysctl -n net.ipv4.ip_forward") == "1"  # it routes, through this filter
    ruleset = host.check_output("nft list ruleset")
    assert "policy drop" in ruleset
    assert host_data["vpn_nft_log_prefix_forward_drop"] in ruleset
    assert "masquerade" not in ruleset and " nat " not in ruleset
    for group in view.access_groups:
        body = host.check_output(f"nft list set inet telework {group.set_name}")
        for source in group.sources:
            assert str(source) in body, (group.name, source)


def test_radius_answers_with_the_shared_secret(host, view):
    """NET.3.3.A12, ORP.4.A18: the auth server answers this concentrator with the shared secret
    it was given: a login without a valid code is rejected (an unknown secret gets no answer)."""
    secret = host.check_output("awk '{print $2}' /etc/telework/pam_radius_auth.conf")
    server = f"{view.auth_server.address.ip}"
    out = host.run(f"radtest -t pap telework-probe 000000 {server} 0 \"$(awk '{{print $2}}' "
                   f"/etc/telework/pam_radius_auth.conf)\" 2>&1")
    assert "Access-Reject" in out.stdout, out.stdout.replace(secret, "[secret]")
