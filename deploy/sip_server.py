"""SIP server role: Kamailio as registrar and edge proxy, rtpengine as media relay.

    pyinfra inventory/sample/inventory.py deploy/site.py --limit sip-1

Everything comes from `telework.roles.sip.server.sip_view` (subscribers from the people's
phones, the server's addresses and number blocks), the SIP passwords (age secrets
`sip/password/<username>`) and the server's TLS certificate (pki/sip/<name>.crt); `telework
sip init` makes the missing ones.

Choices, and why:

* Subscribers are stored as HA1 only (extension -> md5(extension:realm:password)) in an htable
  Kamailio loads from a db_text file; a change is swapped in with `kamcmd htable.reload`: no
  restart, so no registration (kept in memory) and no call is dropped. HA1 is
  password-equivalent, so that file is written by `secret_file` (0640 root:kamailio).
* SIP over TLS only on the public address; UDP/TCP 5060 only on the internal one. Kamailio's
  configuration is checked with `kamailio -c` before a restart, so a bad render never takes
  the running server down.
* Media always through rtpengine (userspace, `table = -1`), SRTP towards phones; the script
  refuses phones' offers without SRTP or with weak suites (rtpengine's flags filter only its own
  offers).
* Flood and brute-force limits spare households: see route FLOOD/AUTHFAILED in the template;
  fail2ban (this role's filter, nftables action) is the backstop for slow guessing.
"""

from pathlib import Path

from pyinfra import host, logger
from pyinfra.operations import server

from telework.engine.declare import changed
from telework.engine.deploy_support import header, loaded_inventory, render_template
from telework.engine.facts.batch import prefetch
from telework.engine.facts.files import PathStates
from telework.engine.facts.packages import PackageStates
from telework.engine.facts.systemd import UnitStates
from telework.engine.operations import files, packages, services
from telework.engine.operations.secret_files import secret_file
from telework.roles.sip.keys import cert_path
from telework.roles.sip.operations import secret_directory
from telework.roles.sip.provisioning import YEALINK_COMMON, device_secret, htpasswd_line, provisioned_phones
from telework.roles.sip.render import barring_table, caller_id_table, did_table, subscriber_table, version_table
from telework.roles.sip.server import sip_view
from telework.secrets.store import SecretStore

inventory_dir = host.data.telework_inventory
loaded = loaded_inventory(inventory_dir)
view = sip_view(loaded, host.name)
store = SecretStore(inventory_dir)
common = {"header": header(inventory_dir), "name": host.name, "realm": view.realm}
db_dir = host.data.sip_db_dir

prefetch(
    PathStates.ask("/etc/kamailio", "/etc/rtpengine", "/etc/fail2ban/filter.d/telework-kamailio.conf",
                   "/etc/fail2ban/jail.d/telework-sip.conf", "/etc/nginx/conf.d", "/etc/nginx/sites-enabled",
                   host.data.sip_provisioning_htpasswd, host.data.sip_provisioning_dir),
    PackageStates.ask(*host.data.sip_packages),
    UnitStates.ask("kamailio", "rtpengine-daemon", "fail2ban", "nginx"),
)


def rendered(op_name: str, destination: str, mode: str = "644", **context):
    """templates/sip_server/<destination>.j2, rendered here, written by `files.put`."""
    return files.put(name=op_name, dest=destination, mode=mode,
                     content=render_template("sip_server", destination, **common, **context))


packages.installed(name="sip: Kamailio (TLS), rtpengine, fail2ban installed", packages=host.data.sip_packages)

cert = cert_path(inventory_dir, host.name)
ca = Path(inventory_dir) / "pki" / "ca.crt"
missing = [what for what, present in (
    ("pki/ca.crt", ca.exists()), (f"pki/sip/{host.name}.crt", cert.exists()),
    (view.tls_key_secret, store.exists(view.tls_key_secret))) if not present]
if missing:
    # Fail closed: without its certificate the server is not configured at all.
    logger.warning(f"{host.name}: SIP not configured, missing {', '.join(missing)} "
                   f"(run `telework sip init {inventory_dir}`)")
else:
    # --- rtpengine ------------------------------------------------------------------------
    media = rendered(f"rtpengine: media relay on {view.public_address}, ports {host.data.sip_rtp_port_min}-"
                     f"{host.data.sip_rtp_port_max}", "/etc/rtpengine/rtpengine.conf",
                     public_address=view.public_address, rtpengine_control=host.data.sip_rtpengine_control,
                     port_min=host.data.sip_rtp_port_min, port_max=host.data.sip_rtp_port_max)
    services.service(name="rtpengine: rtpengine-daemon enabled and running", unit="rtpengine-daemon")
    services.restart(name="rtpengine: restarted for the new configuration", unit="rtpengine-daemon",
                     _if=changed(media))

    # --- subscribers: HA1 only, reloaded in place ---------------------------------------------
    passwords = {s.username: store.get(s.password_secret) for s in view.subscribers
                 if store.exists(s.password_secret)}
    without = [s.username for s in view.subscribers if s.username not in passwords]
    if without:
        logger.warning(f"{host.name}: {len(without)} subscriber(s) without a SIP password are left out "
                       f"({', '.join(without[:5])}{' …' if len(without) > 5 else ''}; run `telework sip init "
                       f"{inventory_dir}`)")
    files.directory(name=f"kamailio: {db_dir} readable by kamailio only", path=db_dir, group="kamailio",
                    mode="750")
    files.put(name="kamailio: db_text version table", dest=f"{db_dir}/version",
              content=version_table(["telework_sub", "telework_did", "telework_cid", "telework_bar"]),
              group="kamailio", mode="640")
    subscribers = secret_file(name=f"kamailio: {len(passwords)} subscriber(s), HA1 only (from sip/password/*)",
                              path=f"{db_dir}/telework_sub", content=subscriber_table(view.subscribers, view.realm,
                                                                                       passwords),
                              group="kamailio", mode="640")
    dids = files.put(name=f"kamailio: {len(view.subscribers)} DID(s) to extensions", dest=f"{db_dir}/telework_did",
                     content=did_table(view.subscribers), group="kamailio", mode="640")
    caller_ids = files.put(name="kamailio: caller IDs (DIDs) of the extensions towards the carrier",
                           dest=f"{db_dir}/telework_cid", content=caller_id_table(view.subscribers), group="kamailio",
                           mode="640")
    barred = host.data.sip_barred_classes
    barring = files.put(name=f"kamailio: barred number classes of {len(barred)} department(s)",
                        dest=f"{db_dir}/telework_bar", content=barring_table(view.subscribers, barred),
                        group="kamailio", mode="640")

    # --- Kamailio ---------------------------------------------------------------------------
    restart = [
        files.put(name="kamailio: CA certificate (pki/ca.crt)", src=ca, dest="/etc/kamailio/telework-ca.crt"),
        files.put(name=f"kamailio: TLS certificate (pki/sip/{host.name}.crt)", src=cert,
                  dest="/etc/kamailio/telework-tls.crt"),
        secret_file(name=f"kamailio: TLS key (from {view.tls_key_secret})", path="/etc/kamailio/telework-tls.key",
                    content=store.get(view.tls_key_secret), group="kamailio", mode="640"),
        rendered(f"kamailio: TLS {host.data.sip_tls_method} on {view.public_address}:{view.server.sips_port}",
                 "/etc/kamailio/tls.cfg", tls_method=host.data.sip_tls_method, tls_ciphers=host.data.sip_tls_ciphers),
        rendered(f"kamailio: registrar for {view.realm}, trunk {(host.data.sip_trunk or {}).get('address', 'none')}, "
                 f"TLS on {view.public_address}:{view.server.sips_port}, "
                 f"UDP/TCP on {view.internal_address}:{view.server.sip_port}", "/etc/kamailio/kamailio.cfg",
                 internal_address=view.internal_address, public_address=view.public_address,
                 sip_port=view.server.sip_port, sips_port=view.server.sips_port, db_dir=db_dir,
                 children=host.data.sip_children, max_expires=host.data.sip_max_expires,
                 default_expires=host.data.sip_default_expires, min_expires=host.data.sip_min_expires,
                 natping_interval=host.data.sip_natping_interval, tcp_keepidle=host.data.sip_tcp_keepidle,
                 rtpengine_control=host.data.sip_rtpengine_control, ban_seconds=host.data.sip_ban_seconds,
                 pike_window=host.data.sip_pike_window, pike_density=host.data.sip_pike_density,
                 auth_fail_window=host.data.sip_auth_fail_window,
                 auth_fail_per_source=host.data.sip_auth_fail_per_source,
                 auth_fail_per_user=host.data.sip_auth_fail_per_user, log_prefix=host.data.sip_log_prefix,
                 srtp_refused_pattern=host.data.sip_srtp_refused_pattern, trunk=host.data.sip_trunk,
                 country_code=host.data.sip_country_code, national_prefix=host.data.sip_national_prefix,
                 international_prefix=host.data.sip_international_prefix,
                 emergency=host.data.sip_emergency_numbers, number_classes=host.data.sip_number_classes,
                 rtpengine_flags=" ".join(["replace-origin", "replace-session-connection", "ICE=remove",
                                           "SIP-source-address",
                                           *(f"SDES-no-{s}" for s in host.data.sip_rtpengine_refused_suites)])),
    ]
    services.service(name="kamailio: enabled and running", unit="kamailio")
    server.shell(name="kamailio: configuration checked (kamailio -c), then restarted",
                 commands=["kamailio -c -f /etc/kamailio/kamailio.cfg >/dev/null 2>&1 || "
                           "{ kamailio -c -f /etc/kamailio/kamailio.cfg; exit 1; }; systemctl restart kamailio"],
                 _if=changed(*restart))
    server.shell(name="kamailio: subscribers and DIDs reloaded in place (no restart)",
                 commands=[f"kamcmd htable.reload {t}" for t in ("sub", "did", "cid", "bar")],
                 _if=changed(subscribers, dids, caller_ids, barring))

    # --- provisioning of desk phones at home over HTTPS ----------------------------------------
    prov_dir, port = host.data.sip_provisioning_dir, host.data.sip_provisioning_port
    prov = {"header": common["header"], "realm": view.realm, "port": port, "sips_port": view.server.sips_port,
            "public_address": view.public_address, "expires": host.data.sip_default_expires}
    ready = [p for p in provisioned_phones(view)
             if p.subscriber.username in passwords and store.exists(device_secret(p.phone.mac))]
    if len(ready) < len(provisioned_phones(view)):
        logger.warning(f"{host.name}: {len(provisioned_phones(view)) - len(ready)} desk phone(s) without a SIP or "
                       f"provisioning password are not provisioned (run `telework sip init {inventory_dir}`)")
    # templates/sip_server/var/lib/telework/provisioning/: the common file, MAC.cfg (Yealink), MAC.xml (Snom)
    device_files = {YEALINK_COMMON: render_template("sip_server", f"/var/lib/telework/provisioning/{YEALINK_COMMON}",
                                                    **prov)}
    for p in ready:
        device_files[p.file_name] = render_template(
            "sip_server", f"/var/lib/telework/provisioning/MAC{p.file_name[len(p.mac):]}", **prov, phone=p.phone,
            sub=p.subscriber, mac=p.mac, password=passwords[p.subscriber.username])
    secret_directory(name=f"provisioning: files of {len(ready)} desk phone(s) (contents secret)", path=prov_dir,
                     files=device_files, group="www-data")
    site = [
        secret_file(name=f"provisioning: credentials of {len(ready)} desk phone(s) (from sip/provisioning/*)",
                    path=host.data.sip_provisioning_htpasswd, group="www-data", mode="640",
                    content="".join(htpasswd_line(p.mac, store.get(device_secret(p.phone.mac))) + "\n"
                                    for p in ready)),
        rendered(f"provisioning: nginx on https://{view.public_address}:{port}/p/<mac>/",
                 "/etc/nginx/conf.d/telework-provisioning.conf", public_address=view.public_address, port=port,
                 tls_ciphers=host.data.sip_tls_ciphers, common=YEALINK_COMMON, root=prov_dir,
                 htpasswd=host.data.sip_provisioning_htpasswd),
        files.absent(name="provisioning: Debian's default site (plain HTTP on every address) removed",
                     path="/etc/nginx/sites-enabled/default"),
    ]
    services.service(name="nginx: enabled and running", unit="nginx")
    server.shell(name="nginx: configuration checked (nginx -t), then reloaded",
                 commands=["nginx -t -q && systemctl reload nginx"], _if=changed(*site))

    # --- fail2ban: the backstop against slow password guessing ---------------------------------
    jail = [
        rendered("fail2ban: filter for Kamailio's failed logins", "/etc/fail2ban/filter.d/telework-kamailio.conf",
                 log_prefix=host.data.sip_log_prefix),
        rendered(f"fail2ban: jail telework-sip ({host.data.sip_fail2ban_maxretry} failures in "
                 f"{host.data.sip_fail2ban_findtime} s: banned {host.data.sip_fail2ban_bantime} s in nftables)",
                 "/etc/fail2ban/jail.d/telework-sip.conf", sips_port=view.server.sips_port,
                 maxretry=host.data.sip_fail2ban_maxretry, findtime=host.data.sip_fail2ban_findtime,
                 bantime=host.data.sip_fail2ban_bantime),
    ]
    # Restarted, not reloaded, for a new jail, and before "running": a reload right after the
    # start races fail2ban's socket ("Could not find server"), and on the first deploy the
    # package's own start has already failed on Debian's sshd jail. `start` after it is a no-op.
    services.restart(name="fail2ban: restarted for the new jail", unit="fail2ban", _if=changed(*jail))
    services.service(name="fail2ban: enabled and running", unit="fail2ban")
