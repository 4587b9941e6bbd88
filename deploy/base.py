"""Baseline for every host telework manages: apt proxy, time zone, SSH hardening.

    pyinfra inventory/sample/inventory.py deploy/base.py

Role deploys come after this one (deploy/site.py), so every host starts from the same ground.
Like every deploy here, it first asks the host in one command for the state of all it manages
(`prefetch`); the operations then decide from that answer (telework.facts.batch).
"""

from pyinfra import host

from telework.deploy_support import header, loaded_inventory, render_template
from telework.facts.batch import prefetch
from telework.facts.files import PathStates
from telework.facts.packages import PackageStates
from telework.facts.systemd import UnitStates
from telework.operations import files, packages, services

inventory_dir = host.data.telework_inventory
settings = loaded_inventory(inventory_dir).model.organisation.settings
# An environment overlay (the lab) may point hosts at its own proxy; else the inventory decides.
apt_proxy = host.data.get("apt_proxy") or settings.apt_proxy

APT_PROXY = "/etc/apt/apt.conf.d/01telework-proxy"
SSHD = "/etc/ssh/sshd_config.d/telework.conf"

prefetch(
    PathStates.ask(APT_PROXY, "/etc/localtime", "/etc/timezone", SSHD),
    PackageStates.ask(*host.data.base_packages),
    UnitStates.ask("ssh"),
)

if apt_proxy:
    files.put(
        name="apt: use the organisation's package proxy",
        dest=APT_PROXY,
        content=render_template("base", APT_PROXY, header=header(inventory_dir, "//"), apt_proxy=apt_proxy),
    )
else:
    files.absent(name="apt: no organisation package proxy", path=APT_PROXY)

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
    dest="/etc/timezone",
    content=settings.timezone + "\n",
)

sshd = files.put(
    name="ssh: hardened server settings",
    dest=SSHD,
    content=render_template("base", SSHD, header=header(inventory_dir),
                            sshd_max_auth_tries=host.data.sshd_max_auth_tries,
                            sshd_login_grace_time=host.data.sshd_login_grace_time),
)
services.service(name="ssh: enabled and running", unit="ssh")
services.reload(name="ssh: reload after a settings change", unit="ssh", _if=sshd.did_change)
