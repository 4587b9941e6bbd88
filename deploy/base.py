"""Baseline for every host telework manages: apt proxy, time zone, SSH hardening, nftables.

    pyinfra inventory/sample/inventory.py deploy/base.py

Role deploys (deploy/<role>.py) include this first, so every host starts from the same ground.
"""

from io import StringIO

from pyinfra import host
from pyinfra.operations import files, systemd

from telework.deploy_support import header, loaded_inventory, template_path
from telework.operations import packages

inventory_dir = host.data.telework_inventory
settings = loaded_inventory(inventory_dir).model.organisation.settings
# An environment overlay (the lab) may point hosts at its own proxy; else the inventory decides.
apt_proxy = host.data.get("apt_proxy") or settings.apt_proxy

if apt_proxy:
    files.template(
        name="apt: use the organisation's package proxy",
        src=template_path("base", "/etc/apt/apt.conf.d/01telework-proxy"),
        dest="/etc/apt/apt.conf.d/01telework-proxy",
        mode="644",
        header=header(inventory_dir, "//"),
        apt_proxy=apt_proxy,
    )
else:
    files.file(
        name="apt: no organisation package proxy",
        path="/etc/apt/apt.conf.d/01telework-proxy",
        present=False,
    )

packages.installed(
    name="packages: baseline installed",
    packages=host.data.base_packages,
)

files.link(
    name=f"time: zone {settings.timezone}",
    path="/etc/localtime",
    target=f"/usr/share/zoneinfo/{settings.timezone}",
)
files.put(
    name=f"time: /etc/timezone names {settings.timezone}",
    src=StringIO(settings.timezone + "\n"),
    dest="/etc/timezone",
    mode="644",
)

sshd = files.template(
    name="ssh: hardened server settings",
    src=template_path("base", "/etc/ssh/sshd_config.d/telework.conf"),
    dest="/etc/ssh/sshd_config.d/telework.conf",
    mode="644",
    header=header(inventory_dir),
    sshd_max_auth_tries=host.data.sshd_max_auth_tries,
    sshd_login_grace_time=host.data.sshd_login_grace_time,
)
systemd.service(
    name="ssh: enabled and running",
    service="ssh",
    running=True,
    enabled=True,
)
systemd.service(
    name="ssh: reload after a settings change",
    service="ssh",
    reloaded=True,
    _if=sshd.did_change,
)
