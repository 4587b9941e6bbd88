"""Defaults for every host telework manages (pyinfra group data; host data from the inventory wins).

Each default says why it is what it is; override per role in group_data/<role>.py.
"""

# Hosts are administered as root over SSH with keys only (BSI SYS.1.3.A2 hardening: no passwords).
ssh_user = "root"

# Host keys must be known in advance; the lab writes its own known_hosts through the overlay.
ssh_strict_host_key_checking = "yes"

# Fail fast on an unreachable host instead of stalling a whole rollout ring.
ssh_connect_retries = 1
ssh_connect_retry_min_delay = 1
ssh_connect_retry_max_delay = 2

# Baseline packages on every host (deploy/base.py): tzdata for the time zone, nftables for
# the host firewall the roles configure, ca-certificates for TLS to internal services.
base_packages = ["tzdata", "nftables", "ca-certificates"]

# sshd: few attempts and a short grace time slow down password-guessing bots (BSI SYS.1.3.A2).
sshd_max_auth_tries = 3
sshd_login_grace_time = 30
