"""Auth servers as deployed by deploy/auth_server.py (FreeRADIUS + pam_oath), checked on the host.

Each docstring starts with the BSI IT-Grundschutz requirement (Kompendium 2023) it evidences.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from telework.inventory.loading import require_inventory
from telework.roles.vpn.radius import radius_view

pytestmark = pytest.mark.role("auth_servers")


@pytest.fixture(scope="module")
def view(host_data, host_name):
    return radius_view(require_inventory(Path(host_data["telework_inventory"])), host_name)


def test_freeradius_running_and_enabled(host):
    """ORP.4.A18: the central authentication service runs and starts at boot."""
    service = host.service("freeradius")
    assert service.is_running
    assert service.is_enabled


def test_listens_only_for_radius_on_its_address(host, view, host_data):
    """SYS.1.1.A6: RADIUS on the internal address only; no proxy socket, no
    status/inner-tunnel listeners; SSH for administration."""
    out = host.check_output("ss -H -lntu")
    sockets = {(f[0], f[4]) for f in (line.split() for line in out.splitlines())}
    radius = ("udp", f"{view.auth_server.address.ip}:{host_data['radius_auth_port']}")
    assert radius in sockets
    others = {s for s in sockets if s != radius and not s[1].endswith(":22")}
    assert not others, others


def test_clients_are_exactly_the_concentrators(host, view, host_data):
    """NET.3.3.A12: only the concentrators may ask, each from its own address."""
    conf = host.file(f"{host_data['radius_config_dir']}/clients.conf").content_string
    for client in view.clients:
        assert f"ipaddr = {client.address}" in conf
    assert conf.count("client ") == len(view.clients)
    assert "secret =" not in conf  # secrets live in their own files


def test_secrets_readable_by_freerad_only(host, view, host_data):
    """CON.1.A4: shared secrets 0640 root:freerad; the seed file 0600 freerad in a
    0700 directory."""
    for client in view.clients:
        f = host.file(f"{host_data['radius_config_dir']}/telework-secrets/{client.name}.conf")
        assert (f.mode, f.user, f.group) == (0o640, "root", "freerad")
    d = host.file(host_data["radius_totp_state_dir"])
    assert (d.mode, d.user) == (0o700, "freerad")
    f = host.file(host_data["radius_totp_users_file"])
    assert (f.mode, f.user) == (0o600, "freerad")


def test_seeds_of_exactly_the_enrolled_people(host, view, host_data):
    """NET.3.3.A5: the people who may log in are exactly the inventory's enrolled
    people with access (revoked ones are gone); no stale lock blocks logins."""
    users = set(host.check_output(f"awk '{{print $2}}' {host_data['radius_totp_users_file']}").split())
    assert users == {u.username for u in view.users}
    assert not host.file(f"{host_data['radius_totp_users_file']}.lock").exists


def test_totp_is_the_only_method(host, host_data):
    """ORP.4.A21, NET.3.3.A12: the only virtual server checks a numeric code with pam_oath;
    Debian's default and inner-tunnel servers are off."""
    sites = host.check_output(f"ls -1 {host_data['radius_config_dir']}/sites-enabled").split()
    assert sites == ["telework"]
    pam = host.file(f"/etc/pam.d/{host_data['radius_totp_pam_service']}").content_string
    assert "pam_oath.so" in pam and f"usersfile={host_data['radius_totp_users_file']}" in pam


def test_failed_logins_are_logged(host, host_data):
    """OPS.1.1.5.A3: every login's outcome is logged (never the code)."""
    conf = host.file(f"{host_data['radius_config_dir']}/radiusd.conf").content_string
    assert "\tauth = yes" in conf and "auth_badpass = no" in conf and "auth_goodpass = no" in conf
    assert host.file("/var/log/freeradius/radius.log").exists
