"""Baseline for every host telework manages: apt proxy, time zone, SSH hardening.

    pyinfra inventory/sample/inventory.py deploy/base.py

Role deploys come after this one (deploy/site.py), so every host starts from the same ground.
Like every deploy here, it first asks the host in one command for the state of all it manages
(`prefetch`); the operations then decide from that answer (telework.engine.facts.batch).
"""

from pyinfra import host

from telework.engine.declare import changed
from telework.engine.deploy_support import header, loaded_inventory, render_template
from telework.engine.facts.batch import prefetch
from telework.engine.facts.files import PathStates
from telework.engine.facts.packages import PackageStates
from telework.engine.facts.systemd import UnitStates
from telework.engine.operations import files, packages, services
from telework.roles.base.view import base_view

inventory_dir = host.data.telework_inventory
view = base_view(loaded_inventory(inventory_dir), overlay_apt_proxy=host.data.get("apt_proxy"))
apt_proxy = view.apt_proxy

APT_PROXY = host.data.base_apt_proxy_file
SSHD = host.data.base_sshd_config_file

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
    name=f"time: zone {view.timezone}",
    path="/etc/localtime",
    target=f"/usr/share/zoneinfo/{view.timezone}",
)
files.put(
    name=f"time: /etc/timezone names {view.timezone}",
    dest="/etc/timezone",
    content=view.timezone + "\n",
)

sshd = files.put(
    name="ssh: hardened server settings",
    dest=SSHD,
    content=render_template("base", SSHD, header=header(inventory_dir),
                            sshd_max_auth_tries=host.data.base_sshd_max_auth_tries,
                            sshd_login_grace_time=host.data.base_sshd_login_grace_time),
)
services.service(name="ssh: enabled and running", unit="ssh")
services.reload(name="ssh: reload after a settings change", unit="ssh", _if=changed(sshd))
