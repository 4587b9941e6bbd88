"""Auth server role: FreeRADIUS checking the TOTP code of every VPN login.

    pyinfra inventory/sample/inventory.py deploy/site.py --limit radius-1

Why this way (tried in the lab, see tests/lab/test_vpn.py):

* FreeRADIUS 3.2.1 (Debian 12) ships rlm_totp, but it takes no settings and keeps no replay
  state: a code could be used twice within its 30 seconds. pam_oath (libpam-oath) behind
  rlm_pam refuses a code once used and keeps that state in its users file on this server, which
  every concentrator asks: a code used on vpn-a is refused on vpn-b.
* The users file is runtime state as much as configuration: the `oath_users` operation compares
  seeds only (fact `OathUsers`) and merges changes under pam_oath's lock, so logins never make
  a plan show a change and an apply never forgets which codes were used.
* Shared secrets and seeds never pass through a template: `secret_file` writes them (0640
  root:freerad, diffs never shown); clients.conf $INCLUDEs the secret files.
* Failed logins are logged (`auth = yes`: "Login incorrect ... [user] (from client vpn-a ...)"
  in /var/log/freeradius/radius.log) for auditors and fail2ban; codes never (`auth_badpass = no`).
  radiusd.conf is telework's (Debian's without comments, proxying off): editing Debian's file
  with line operations matched the wrong `auth = no` of its several.
"""

from pyinfra import host, logger

from telework.engine.declare import changed
from telework.engine.deploy_support import header, loaded_inventory, render_template
from telework.engine.facts.batch import prefetch
from telework.engine.facts.files import PathStates
from telework.engine.facts.packages import PackageStates
from telework.engine.facts.systemd import UnitStates
from telework.engine.operations import files, packages, services
from telework.engine.operations.secret_files import secret_file
from telework.roles.vpn.facts import OathUsers
from telework.roles.vpn.operations import oath_users
from telework.roles.vpn.radius import radius_view
from telework.secrets.store import SecretStore

inventory_dir = host.data.telework_inventory
loaded = loaded_inventory(inventory_dir)
view = radius_view(loaded, host.name)
store = SecretStore(inventory_dir)
conf = host.data.radius_config_dir
secrets_dir = f"{conf}/telework-secrets"
common = {"header": header(inventory_dir), "name": host.name}


helper = host.data.radius_oath_merge_helper
pam_service = f"/etc/pam.d/{host.data.radius_totp_pam_service}"

# One remote command for the state of everything below (telework.engine.facts.batch).
prefetch(
    PathStates.ask(secrets_dir, f"{conf}/clients.conf", f"{conf}/mods-enabled", f"{conf}/sites-enabled",
                   f"{conf}/radiusd.conf", pam_service, helper, host.data.radius_totp_state_dir),
    PackageStates.ask(*host.data.radius_packages),
    UnitStates.ask("freeradius"),
    (OathUsers, {"path": host.data.radius_totp_users_file}),
)


def rendered(op_name: str, destination: str, mode: str = "644", user: str = "root", group: str = "root",
             **context):
    """templates/auth_server/<destination>.j2, rendered here, written by `files.put`."""
    return files.put(name=op_name, dest=destination, mode=mode, user=user, group=group,
                     content=render_template("auth_server", destination, **common, **context))


packages.installed(
    name="radius: FreeRADIUS and pam_oath installed",
    packages=host.data.radius_packages,
)

# --- who may ask: the concentrators, each with its own shared secret ----------------------------
clients = [c for c in view.clients if store.exists(c.secret)]
for missing in (c for c in view.clients if c not in clients):
    logger.warning(f"{host.name}: no secret {missing.secret}: {missing.name} is left out of clients.conf "
                   f"(run `telework pki init {inventory_dir}`)")
config_changes = [files.directory(
    name=f"radius: {secrets_dir} readable by freerad only",
    path=secrets_dir, user="root", group="freerad", mode="750",
)]
for client in clients:
    config_changes.append(secret_file(
        name=f"radius: shared secret of {client.name} (from {client.secret})",
        path=f"{secrets_dir}/{client.name}.conf",
        content=f'secret = "{store.get(client.secret)}"\n',
        mode="640", user="root", group="freerad",
    ))
config_changes.append(rendered(
    f"radius: clients.conf lists {', '.join(c.name for c in clients) or 'no concentrator'}",
    f"{conf}/clients.conf", mode="640", group="freerad", clients=clients, secrets_dir=secrets_dir,
))

# --- what is checked: only the TOTP code, by pam_oath ------------------------------------------
config_changes.append(rendered(
    f"radius: PAM service {host.data.radius_totp_pam_service} runs pam_oath",
    pam_service,
    users_file=host.data.radius_totp_users_file, window=host.data.radius_totp_window, digits=host.data.radius_totp_digits,
))
config_changes.append(rendered(
    "radius: rlm_pam instance telework_totp",
    f"{conf}/mods-enabled/telework_totp", mode="640", group="freerad",
    pam_service=host.data.radius_totp_pam_service,
))
config_changes.append(rendered(
    f"radius: virtual server telework on {host.data.radius_auth_port}/udp of {view.auth_server.address.ip}",
    f"{conf}/sites-enabled/telework", mode="640", group="freerad",
    address=view.auth_server.address.ip, port=host.data.radius_auth_port, digits=host.data.radius_totp_digits,
    pam_service=host.data.radius_totp_pam_service,
))
for site in ("default", "inner-tunnel"):
    config_changes.append(files.absent(
        name=f"radius: Debian's {site} virtual server off",
        path=f"{conf}/sites-enabled/{site}",
    ))
# EAP needs the inner-tunnel server and is not used: off with it.
config_changes.append(files.absent(name="radius: EAP module off", path=f"{conf}/mods-enabled/eap"))
config_changes.append(rendered(
    "radius: radiusd.conf logs every login, no proxying",
    f"{conf}/radiusd.conf", mode="640", group="freerad", reject_delay=host.data.radius_reject_delay,
))

# --- the seeds: people with access who are enrolled ------------------------------------------
seeds = {u.username: store.get(u.totp_secret) for u in view.users if store.exists(u.totp_secret)}
files.put(
    name="radius: seed merge helper installed",
    content=render_template("auth_server", helper, header=header(inventory_dir)),
    dest=helper, mode="755",
)
files.directory(
    name=f"radius: {host.data.radius_totp_state_dir} belongs to freerad (seeds and replay state)",
    path=host.data.radius_totp_state_dir, user="freerad", group="freerad", mode="700",
)
oath_users(
    name=f"radius: {len(seeds)} people with TOTP seeds",
    path=host.data.radius_totp_users_file, seeds=seeds, merge_helper=helper, digits=host.data.radius_totp_digits,
)

services.service(name="radius: freeradius enabled and running", unit="freeradius")
services.restart(
    name="radius: freeradius restarted for the new configuration",
    unit="freeradius",
    _if=changed(*config_changes),
)
