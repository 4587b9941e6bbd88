"""The baseline deploy/base.py gives every host, checked on the host itself.

No role marker: these run on every host of the inventory. Each docstring starts with the
BSI IT-Grundschutz requirement it is evidence for (Kompendium edition 2022 IDs).
"""

from __future__ import annotations

import pytest


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


def test_ssh_limits_guessing(sshd, host_data):
    """SYS.1.3.A8: few authentication attempts and a short grace time, as group_data sets them."""
    assert int(sshd["maxauthtries"]) == host_data["base_sshd_max_auth_tries"]
    assert int(sshd["logingracetime"]) == host_data["base_sshd_login_grace_time"]


def test_ssh_no_x11_forwarding(sshd):
    """SYS.1.1.A6: no X11 forwarding on servers and endpoints administered over SSH."""
    assert sshd["x11forwarding"] == "no"


def test_ssh_running_and_enabled(host):
    """SYS.1.3.A8: the SSH daemon the administration depends on runs and starts at boot."""
    ssh = host.service("ssh")
    assert ssh.is_running
    assert ssh.is_enabled


def test_ssh_settings_file_managed(host):
    """SYS.1.1.A16: the hardening file is telework's, root-owned and not world-writable."""
    f = host.file("/etc/ssh/sshd_config.d/telework.conf")
    assert f.is_file
    assert f.user == "root"
    assert f.mode == 0o644
    assert "managed by telework" in f.content_string


def test_timezone(host, inventory):
    """OPS.1.1.5.A4: log times are comparable: the organisation's time zone on every host."""
    zone = inventory.organisation.settings.timezone
    assert host.file("/etc/timezone").content_string.strip() == zone
    assert host.file("/etc/localtime").linked_to == f"/usr/share/zoneinfo/{zone}"


def test_apt_proxy(host, host_data, inventory):
    """OPS.1.1.3.A10: packages come through the organisation's proxy, or no proxy file exists."""
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


@pytest.mark.parametrize("package", ["tzdata", "nftables", "ca-certificates"])
def test_baseline_packages(host, host_data, package):
    """SYS.1.1.A19: the baseline packages, the nftables host firewall among them, are installed."""
    assert package in host_data["base_packages"]
    assert host.package(package).is_installed
