"""Defaults for SIP servers (deploy/sip_server.py); host data from the inventory wins.

Addresses, ports, number blocks and subscribers come from the inventory; what is here is how
telework runs Kamailio and rtpengine, the same for every organisation.
"""

# Debian packages of the role. kamailio + kamailio-tls-modules: registrar and edge proxy with
# SIP over TLS; rtpengine-daemon: the media relay (userspace forwarding where the kernel module
# is absent); fail2ban + python3-systemd: bans brute-force sources from the journal, through
# nftables; nginx: phone provisioning over HTTPS.
sip_packages = ["kamailio", "kamailio-tls-modules", "kamailio-extra-modules", "rtpengine-daemon",
                "fail2ban", "python3-systemd", "nginx"]

# Seconds a phone's registration lasts at most / by default: short, so a phone at home behind a
# router that forgets idle bindings re-registers (and re-opens its binding) often.
sip_max_expires = 300
sip_default_expires = 120
sip_min_expires = 60
# Seconds between the server's keep-alives to NATed contacts: SIP OPTIONS for UDP contacts,
# TCP keep-alive probes (tcp_keepidle) for TCP/TLS contacts, which nathelper does not ping
# (kamailio/kamailio#2564). Below the 30 s a cheap home router keeps an idle UDP binding.
sip_natping_interval = 20
sip_tcp_keepidle = 20
# Kamailio worker processes per UDP socket and for TCP/TLS.
sip_children = 4

# TLS on the public address: TLS 1.2 at least (BSI TR-02102-2), forward-secret AEAD suites only
# for TLS 1.2 (TLS 1.3 suites are all AEAD).
sip_tls_method = "TLSv1.2+"
sip_tls_ciphers = "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305"
# SRTP: crypto suites refused in a phone's offer or answer (a POSIX extended regex on the
# suite name of `a=crypto` lines), and the suites rtpengine never offers itself. rtpengine's
# flags filter only its own offers (sipwise/rtpengine#661), so the script checks the phones'.
sip_srtp_refused_pattern = "NULL|_32|F8_"
sip_rtpengine_refused_suites = ["NULL_HMAC_SHA1_80", "NULL_HMAC_SHA1_32", "AES_CM_128_HMAC_SHA1_32",
                                "F8_128_HMAC_SHA1_80", "F8_128_HMAC_SHA1_32", "AES_CM_192_HMAC_SHA1_32",
                                "AES_CM_256_HMAC_SHA1_32"]

# Flood protection for requests that are not part of a dialog and not from a flow with a live
# authenticated registration: pike's window (seconds), requests per window and source, and how
# long a source tripping it is ignored. An authenticated phone behind the same router keeps its
# flow (TLS connection or UDP address:port), so a flood from its household never silences it.
sip_pike_window = 2
sip_pike_density = 16
sip_ban_seconds = 300
# Failed logins: per source address and per user within `sip_auth_fail_window` seconds; a
# source reaching its limit is banned like a flood, a user reaching its limit is refused new
# logins from flows that are not already authenticated.
sip_auth_fail_window = 600
sip_auth_fail_per_source = 10
sip_auth_fail_per_user = 20
# The log line fail2ban matches ("<prefix> failed login for '<user>' from <address>").
sip_log_prefix = "telework-sip:"
# fail2ban: failed logins within findtime before a source is banned in nftables, and for how long.
sip_fail2ban_maxretry = 30
sip_fail2ban_findtime = 600
sip_fail2ban_bantime = 900

# rtpengine: control socket (Kamailio's rtpengine module talks to it) and the media ports.
sip_rtpengine_control = "127.0.0.1:2223"
sip_rtp_port_min = 30000
sip_rtp_port_max = 30999

# Where the deploy writes the subscriber tables Kamailio's htable loads (db_text, HA1 only).
sip_db_dir = "/etc/kamailio/telework-db"

# Plain SIP on the internal address is open to the inventory's networks of these purposes only
# (the host firewall: telework.roles.sip.firewall); TLS, HTTPS and media are open on the public one.
sip_internal_purposes = ["voice", "clients"]

# Phone provisioning over HTTPS (nginx, the SIP server's certificate) on the public address:
# the port phones are given, where the per-device files live (0640 root:www-data, they hold
# clear SIP passwords), and the per-device credentials file (user = MAC, salted SHA-1).
sip_provisioning_port = 443
sip_provisioning_dir = "/var/lib/telework/provisioning"
sip_provisioning_htpasswd = "/etc/nginx/telework-provisioning.htpasswd"

# The carrier's trunk, IP-based: {"address": "203.0.113.5", "port": 5060} (plain SIP over UDP
# on the public address, accepted from that address only). None: no calls to or from outside.
# A city sets it in its inventory's group_data/sip_servers.py.
sip_trunk = None
# Dialling: numbers are made E.164 with these prefixes and the country code of the city's blocks.
sip_country_code = "49"
sip_national_prefix = "0"
sip_international_prefix = "00"
# Emergency numbers always reach the carrier, whatever a department's barring.
sip_emergency_numbers = ["110", "112"]
# Number classes (POSIX extended regexes on the E.164 number) that departments can be barred
# from: premium-rate services and every number outside the country.
sip_number_classes = {"premium": "^[+]49(900|137|138|118)", "international": "^[+]([1-35-9]|4[0-8])"}
# department id -> number classes its people cannot call, e.g. {"kulturamt": ["premium"]}. A city
# sets it in its inventory's group_data/sip_servers.py.
sip_barred_classes = {}
