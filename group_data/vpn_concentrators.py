"""Defaults for VPN concentrators (deploy/vpn_concentrator.py); host data from the inventory wins.

Addresses, ports, pools, people and the access policy come from the inventory; what is here is
how telework runs the tunnels, the same for every organisation.
"""

# Debian packages of the role. openvpn: the OpenVPN 2.6 server; wireguard-tools: wg/wg-quick;
# libpam-radius-auth: the second factor goes to the auth server over RADIUS through PAM (see
# deploy/vpn_concentrator.py for why not radiusplugin); freeradius-utils: `radtest` from the
# concentrator is the first thing to try when logins fail (is RADIUS reachable, is the secret
# right?), and the host suite uses it for exactly that. wireguard-go is added by the deploy only
# where the kernel has no WireGuard (a fact decides, not a flag).
vpn_packages = ["openvpn", "wireguard-tools", "libpam-radius-auth", "freeradius-utils"]
vpn_userspace_wireguard_packages = ["wireguard-go"]
# IPv4 forwarding is set in this sysctl.d file, which telework owns entirely.
vpn_sysctl_file = "/etc/sysctl.d/60-telework-vpn.conf"

# OpenVPN instance name: systemd unit openvpn-server@telework, config /etc/openvpn/server/telework.conf.
vpn_openvpn_instance = "telework"
# The tun device; a fixed name so nftables rules and Testinfra can name it.
vpn_openvpn_device = "tun-telework"
# BSI TR-02102-2: TLS 1.2 at least; AEAD data ciphers only (no CBC, no BF-CBC fallback).
vpn_openvpn_tls_version_min = "1.2"
vpn_openvpn_data_ciphers = ["AES-256-GCM", "CHACHA20-POLY1305"]
# Seconds between keepalive pings / until a silent client is dropped (frees its address).
vpn_openvpn_keepalive = [10, 60]
# PAM service the OpenVPN auth-pam plugin asks; it holds pam_radius_auth only.
vpn_openvpn_pam_service = "openvpn-telework"
# pam_radius_auth: seconds to wait for the auth server per try.
vpn_radius_timeout = 3

# WireGuard interface (wg-quick@<name>), at most 15 characters.
vpn_wireguard_interface = "wg-telework"
# Where the concentrator's WireGuard private key lives; generated there, it never leaves.
vpn_wireguard_private_key = "/etc/wireguard/wg-telework.key"

# nftables: log prefixes name the rule that dropped a packet (fail2ban/auditors grep for them).
# Kernel log prefixes are limited to 127 characters; keep them short and stable.
# The rest of the ruleset (input chain, rate, SSH) is the base role's: group_data/all.py.
vpn_nft_log_prefix_forward_drop = "tw-vpn-forward-drop: "
# Server and shared secret pam_radius_auth reads (written by the deploy, mode 0600).
vpn_radius_client_file = "/etc/telework/pam_radius_auth.conf"
