"""VPN concentrator role: OpenVPN (certificate + TOTP over RADIUS), WireGuard, access policy.

    pyinfra inventory/sample/inventory.py deploy/site.py --limit vpn-a

Everything comes from `telework.roles.vpn.concentrator.concentrator_view` (people, devices, addresses,
access groups) and the committed PKI; secrets are decrypted here and written only by
`secret_file` (0600, never diffed, never in an operation name).

Choices, and why:

* Second factor through OpenVPN's own auth-pam plugin + pam_radius_auth (both maintained with
  their projects: OpenVPN and FreeRADIUS), not openvpn-auth-radius' radiusplugin.so, which
  also does accounting and address assignment we do not want and forks a daemon of its own.
  The PAM login is the certificate's common name (COMMONNAME), so the RADIUS User-Name always
  equals the certificate's CN.
* Fixed per-person addresses (client-config-dir, `ccd-exclusive`) and no masquerading: the
  internal network's logs and this host's firewall counters point at one person.
* WireGuard through wg-quick@<interface>; where the kernel cannot create WireGuard links (fact
  `WireguardImplementation`), wireguard-go is installed and wg-quick uses it by itself. Peer
  changes are applied with `wg syncconf` (no tunnel drop), only when the peers changed.
* The concentrator's WireGuard private key is the age-encrypted secret `pki init` made
  (`wireguard/server-key/<name>`): enrolment writes device configs with its public key before
  any deploy, and a rebuilt concentrator keeps serving the same devices.
* nftables: one set of tunnel addresses per access group -> the prefixes the group reaches;
  everything else from the tunnels dropped and logged. The base role writes it into the host's
  one ruleset (telework.roles.vpn.firewall: this role's part, with its OpenVPN and WireGuard
  ports), validated with `nft -c` before it replaces the live rules.
"""

from pathlib import Path

from pyinfra import host, logger
from pyinfra.operations import server

from telework.engine.declare import changed
from telework.engine.deploy_support import header, loaded_inventory, render_template
from telework.engine.facts.batch import fact, prefetch
from telework.engine.facts.files import PathStates
from telework.engine.facts.packages import PackageStates
from telework.engine.facts.sysctl import SysctlValues
from telework.engine.facts.systemd import UnitStates
from telework.engine.operations import files, packages, services
from telework.engine.operations.secret_files import secret_file
from telework.engine.operations.sysctl import setting
from telework.engine.operations.trees import synced_directory
from telework.roles.vpn.concentrator import concentrator_view
from telework.roles.vpn.facts import WireguardImplementation
from telework.roles.vpn.render import ccd_files
from telework.secrets.store import SecretStore

inventory_dir = host.data.telework_inventory
loaded = loaded_inventory(inventory_dir)
view = concentrator_view(loaded, host.name)
concentrator = view.concentrator
store = SecretStore(inventory_dir)
pki = Path(inventory_dir) / "pki"
common = {"header": header(inventory_dir), "name": host.name, "auth_server": view.auth_server.name}

instance = host.data.vpn_openvpn_instance
ovpn_dir = f"/etc/openvpn/server/{instance}"
wg_if = host.data.vpn_wireguard_interface
wg_key = host.data.vpn_wireguard_private_key
radius_conf = host.data.vpn_radius_client_file
openvpn_unit = f"openvpn-server@{instance}"
wireguard_unit = f"wg-quick@{wg_if}"

# One remote command for the state of everything below (telework.engine.facts.batch).
prefetch(
    PathStates.ask("/etc/openvpn/server", "/etc/telework", f"/etc/pam.d/{host.data.vpn_openvpn_pam_service}",
                   "/etc/wireguard", host.data.vpn_sysctl_file),
    PackageStates.ask(*host.data.vpn_packages, *host.data.vpn_userspace_wireguard_packages),
    UnitStates.ask(openvpn_unit, wireguard_unit),
    SysctlValues.ask("net.ipv4.ip_forward"),
    (WireguardImplementation, {}),
)


def rendered(op_name: str, destination: str, mode: str = "644", **context):
    """templates/vpn_concentrator/<destination>.j2, rendered here, written by `files.put`."""
    return files.put(name=op_name, dest=destination, mode=mode,
                     content=render_template("vpn_concentrator", destination, **common, **context))


implementation = fact(WireguardImplementation)
packages.installed(
    name=f"vpn: OpenVPN, WireGuard ({implementation}), PAM RADIUS installed",
    packages=host.data.vpn_packages + (host.data.vpn_userspace_wireguard_packages
                                       if implementation == "userspace" else []),
)
setting(
    name="vpn: IPv4 forwarding on (routes tunnels to internal networks)",
    key="net.ipv4.ip_forward", value=1, path=host.data.vpn_sysctl_file,
)

# --- OpenVPN ---------------------------------------------------------------------------------
missing = [what for what, present in (
    ("pki/ca.crt", (pki / "ca.crt").exists()),
    (f"pki/servers/{host.name}.crt", (pki / "servers" / f"{host.name}.crt").exists()),
    ("pki/crl.pem", (pki / "crl.pem").exists()),
    (view.server_key_secret, store.exists(view.server_key_secret)),
    (view.tls_crypt_secret, store.exists(view.tls_crypt_secret)),
    (view.radius_secret, store.exists(view.radius_secret)),
) if not present]
if view.openvpn_pool is None:
    logger.warning(f"{host.name}: no openvpn address pool in the inventory: OpenVPN is not configured")
elif missing:
    # Fail closed: without the PKI no OpenVPN server is configured at all.
    logger.warning(f"{host.name}: OpenVPN not configured, missing {', '.join(missing)} "
                   f"(run `telework pki init {inventory_dir}`)")
else:
    pool = view.openvpn_pool
    files.directory(name=f"openvpn: {ovpn_dir}", path=ovpn_dir)
    restart = [
        files.put(name="openvpn: CA certificate (pki/ca.crt)", src=pki / "ca.crt", dest=f"{ovpn_dir}/ca.crt"),
        files.put(name=f"openvpn: server certificate (pki/servers/{host.name}.crt)",
                  src=pki / "servers" / f"{host.name}.crt", dest=f"{ovpn_dir}/server.crt"),
        secret_file(name=f"openvpn: server key (from {view.server_key_secret})", path=f"{ovpn_dir}/server.key",
                    content=store.get(view.server_key_secret)),
        secret_file(name=f"openvpn: tls-crypt key (from {view.tls_crypt_secret})",
                    path=f"{ovpn_dir}/tls-crypt.key", content=store.get(view.tls_crypt_secret)),
        files.directory(name="openvpn: /etc/telework", path="/etc/telework"),
        secret_file(name=f"openvpn: RADIUS server and shared secret for PAM (from {view.radius_secret})",
                    path=radius_conf,
                    content=(f"{view.auth_server.address.ip}:{host.data.radius_auth_port} "
                             f"{store.get(view.radius_secret)} {host.data.vpn_radius_timeout}\n")),
        rendered(f"openvpn: PAM service {host.data.vpn_openvpn_pam_service} asks {view.auth_server.name}",
                 f"/etc/pam.d/{host.data.vpn_openvpn_pam_service}", radius_conf=radius_conf,
                 radius_secret_name=view.radius_secret),
        rendered(f"openvpn: server on {concentrator.public_address}:{concentrator.openvpn_port}/udp, "
                 f"pool {pool.network}", f"/etc/openvpn/server/{instance}.conf",
                 instance=instance, public_address=concentrator.public_address, port=concentrator.openvpn_port,
                 device=host.data.vpn_openvpn_device, pool_network=pool.network.network,
                 pool_netmask=pool.network.netmask, pool_address=pool.address, dir=ovpn_dir,
                 dns_servers=view.dns_servers, keepalive=host.data.vpn_openvpn_keepalive,
                 tls_version_min=host.data.vpn_openvpn_tls_version_min,
                 data_ciphers=":".join(host.data.vpn_openvpn_data_ciphers),
                 pam_service=host.data.vpn_openvpn_pam_service),
    ]
    # Read at every login: no restart for these.
    files.put(name="openvpn: CRL (pki/crl.pem, re-read at each login)", src=pki / "crl.pem",
              dest=f"{ovpn_dir}/crl.pem")
    synced_directory(name=f"openvpn: {len(view.openvpn_clients)} people with fixed addresses (client-config-dir)",
                     path=f"{ovpn_dir}/ccd", files=ccd_files(view))
    services.service(name=f"openvpn: {openvpn_unit} enabled and running", unit=openvpn_unit)
    services.restart(name=f"openvpn: {openvpn_unit} restarted for the new configuration", unit=openvpn_unit,
                     _if=changed(*restart))

# --- WireGuard -------------------------------------------------------------------------------
if view.wireguard_pool is None:
    logger.warning(f"{host.name}: no wireguard address pool in the inventory: WireGuard is not configured")
elif not store.exists(view.wireguard_key_secret):
    logger.warning(f"{host.name}: WireGuard not configured, missing {view.wireguard_key_secret} "
                   f"(run `telework pki init {inventory_dir}`)")
else:
    files.directory(name="wireguard: /etc/wireguard", path="/etc/wireguard", mode="700")
    key = secret_file(name=f"wireguard: private key (from {view.wireguard_key_secret})", path=wg_key,
                      content=store.get(view.wireguard_key_secret) + "\n")
    peers = rendered(f"wireguard: {wg_if} on {concentrator.wireguard_port}/udp with {len(view.wireguard_peers)} "
                     f"peer(s)", f"/etc/wireguard/{wg_if}.conf", mode="600",
                     interface=wg_if, address=view.wireguard_pool.interface, port=concentrator.wireguard_port,
                     private_key=wg_key, peers=view.wireguard_peers)
    services.service(name=f"wireguard: {wireguard_unit} enabled and running", unit=wireguard_unit)
    server.shell(
        name=f"wireguard: peers of {wg_if} applied without dropping tunnels (wg syncconf)",
        # The config names no private key (PostUp loads it from its file) and `wg syncconf` makes
        # the interface match exactly: the key goes into the temporary (0600) copy, else syncconf
        # would remove it and every tunnel would die.
        commands=[f"umask 077 && wg-quick strip {wg_if} | awk -v key=\"$(cat {wg_key})\" "
                  f"'{{print}} /^\\[Interface\\]/{{print \"PrivateKey = \" key}}' > /run/telework-{wg_if}.conf "
                  f"&& wg syncconf {wg_if} /run/telework-{wg_if}.conf; rc=$?; rm -f /run/telework-{wg_if}.conf; exit $rc"],
        _if=changed(peers),
    )
    services.restart(name=f"wireguard: {wireguard_unit} restarted for a new private key", unit=wireguard_unit,
                     _if=changed(key))
