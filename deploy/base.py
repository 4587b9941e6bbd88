"""Baseline for every host telework manages: apt proxy, time zone, SSH hardening, host firewall.

    pyinfra inventory/sample/inventory.py deploy/base.py

Role deploys come after this one (deploy/site.py), so every host starts from the same ground.
Like every deploy here, it first asks the host in one command for the state of all it manages
(`prefetch`); the operations then decide from that answer (telework.engine.facts.batch).

The host firewall is one nftables ruleset per host (telework.roles.base.firewall): default drop
with counters, SSH only from the management networks, and each of the host's roles opens only
its own ports (its registry entry's `firewall` hook). It is checked by `nft -c` before it
replaces the live rules, and refused when it would not accept SSH from where this deploy
connects.
"""

from pyinfra import host
from pyinfra.operations import server

from telework.engine.declare import changed
from telework.engine.deploy_support import header, loaded_inventory, render_template
from telework.engine.facts.batch import prefetch
from telework.engine.facts.files import PathStates, path_state
from telework.engine.facts.nftables import NftTableLoaded, SshClientAddress
from telework.engine.facts.packages import PackageStates
from telework.engine.facts.systemd import UnitStates
from telework.engine.operations import files, packages, services
from telework.engine.operations.nftables import ruleset
from telework.roles.base.firewall import FirewallSettings, host_firewall
from telework.roles.base.probe import probe_templates
from telework.roles.base.view import base_view
from telework.roles.registry import roles_serving

inventory_dir = host.data.telework_inventory
view = base_view(loaded_inventory(inventory_dir), overlay_apt_proxy=host.data.get("apt_proxy"))
apt_proxy = view.apt_proxy

APT_PROXY = host.data.base_apt_proxy_file
SSHD = host.data.base_sshd_config_file
NFT_FILE = host.data.base_firewall_file
PLAN_KEY = host.data.base_plan_public_key
PLAN_HOME = host.data.base_plan_home
PROBE = host.data.base_probe_file
NFT_TABLE = ("inet", host.data.base_firewall_table)

prefetch(
    PathStates.ask(APT_PROXY, "/etc/localtime", "/etc/timezone", SSHD, NFT_FILE,
                   *((PLAN_HOME, PROBE, host.data.base_probe_sudoers_file) if PLAN_KEY else ())),
    PackageStates.ask(*host.data.base_packages, *(host.data.base_probe_packages if PLAN_KEY else ())),
    UnitStates.ask("ssh", "nftables"),
    (NftTableLoaded, {"family": NFT_TABLE[0], "table": NFT_TABLE[1]}),
    (SshClientAddress, {}),
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

firewall = host_firewall(
    loaded_inventory(inventory_dir), host.name, roles_serving(host.groups), host.data,
    FirewallSettings(table=NFT_TABLE[1], ssh_port=host.data.base_firewall_ssh_port,
                     log_rate=host.data.base_firewall_log_rate,
                     input_log_prefix=host.data.base_firewall_log_prefix_input_drop),
    header=header(inventory_dir), extra_management=host.data.base_extra_management_networks,
)
ruleset(
    name=f"firewall: drop all but SSH from {len(firewall.ssh_sources)} management network(s)"
         + "".join(f", {o.name}" for o in firewall.openings[1:]),
    path=NFT_FILE, table=NFT_TABLE, content=firewall.text,
    ssh_sources=[str(n) for n in firewall.ssh_sources],
)
services.service(name="firewall: nftables loads the ruleset at boot", unit="nftables")

# --- the plan credential: an account that may only run the read-only probe -------------------
if PLAN_KEY:
    plan_user = host.data.base_plan_user
    packages.installed(name="plan credential: sudo and python3 for the probe",
                       packages=host.data.base_probe_packages)
    files.put(
        name="plan credential: telework's read-only probe",
        dest=PROBE, mode="755",
        content=render_template("base", "/usr/local/lib/telework/telework-probe", header=header(inventory_dir),
                                plan_user=plan_user, templates=probe_templates()),
    )
    files.put(
        name=f"plan credential: {plan_user} may run the probe as root, nothing else",
        dest=host.data.base_probe_sudoers_file, mode="440",
        content=render_template("base", "/etc/sudoers.d/telework-plan", header=header(inventory_dir),
                                plan_user=plan_user, probe=PROBE),
    )
    if path_state(PLAN_HOME) is None:
        server.shell(
            name=f"plan credential: account {plan_user} (no password, home {PLAN_HOME})",
            commands=[f"id -u {plan_user} >/dev/null 2>&1 || useradd --system --no-create-home "
                      f"--home-dir {PLAN_HOME} --shell /bin/sh {plan_user}"],
        )
    files.directory(name=f"plan credential: {PLAN_HOME}", path=PLAN_HOME, mode="755")
    files.directory(name=f"plan credential: {PLAN_HOME}/.ssh", path=f"{PLAN_HOME}/.ssh", mode="755")
    files.put(
        name=f"plan credential: {plan_user}'s key runs the probe only",
        dest=f"{PLAN_HOME}/.ssh/authorized_keys", mode="644",
        content=f'restrict,command="sudo -n {PROBE}" {PLAN_KEY.strip()}\n',
    )
