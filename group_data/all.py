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
base_sshd_max_auth_tries = 3
base_sshd_login_grace_time = 30
# Where the base role writes the apt proxy setting and its sshd settings (drop-in files it owns).
base_apt_proxy_file = "/etc/apt/apt.conf.d/01telework-proxy"
base_sshd_config_file = "/etc/ssh/sshd_config.d/telework.conf"

# Host firewall (telework.roles.base.firewall): SSH is accepted only from the inventory's
# networks of purpose `management`; an environment overlay may add its own (the lab adds the
# range its controller connects from). Nothing to set in production: name the network the
# CI runner and the administrators connect from in networks.yml with `purpose: management`.
base_extra_management_networks = []
# The TCP port sshd listens on, as the firewall opens it (not pyinfra's connection setting
# `ssh_port`, which an overlay may point elsewhere).
base_firewall_ssh_port = 22
# The ruleset file nftables.service loads at boot, and the one table telework keeps in it.
base_firewall_file = "/etc/nftables.conf"
base_firewall_table = "telework"
# Dropped packets are logged with this prefix (grep for it), at most this many lines per second
# per rule so a scan does not flood the journal; every drop is also counted.
base_firewall_log_prefix_input_drop = "tw-input-drop: "
base_firewall_log_rate = "10/second"

# The plan credential (telework.roles.base.probe): a separate account whose key may only run
# telework's read-only probe, so a merge-request plan job holds no key that can change a host.
# Set the public key of the plan job's key (one line of authorized_keys) in the inventory's
# group_data/all.py; None: no plan account (plans need the deploy credential).
base_plan_public_key = None
base_plan_user = "telework-plan"
base_plan_home = "/var/lib/telework/plan"
# The probe, and the sudoers rule that lets the plan account run it (and nothing else) as root.
base_probe_file = "/usr/local/lib/telework/telework-probe"
base_probe_sudoers_file = "/etc/sudoers.d/telework-plan"
# What the probe needs on the host: sudo to run as root, python3 to validate requests.
base_probe_packages = ["sudo", "python3-minimal"]

# --- shared by vpn_concentrator and auth_server ---------------------------------------------
# UDP port of the auth servers' RADIUS service (Access-Requests, RFC 2865); the concentrators
# ask it there.
radius_auth_port = 1812

# --- pull_agent (groups linux_endpoints, notebooks; deploy/pull_agent.py) --------------------
# <base-url>/<host>/manifest.json is this endpoint's bundle; unset: no pull mode (the deploy is
# a no-op). Set it in the inventory's own group_data, e.g. group_data/notebooks.py.
pull_base_url = None
# systemd OnCalendar of the timer, and the random delay that spreads endpoints over time.
pull_schedule = "hourly"
pull_random_delay = "20min"
# Seconds: one HTTP request; one apply (pyinfra); the unit's start timeout adds 10 minutes for
# downloads and the wheelhouse.
pull_http_timeout = 60
pull_apply_timeout = 1800
# Largest bundle tar the agent downloads (bytes).
pull_max_bundle_bytes = 256 * 1024 * 1024
# Controller-side path of a wheelhouse tar to install (push install only) and its sha256.
pull_wheelhouse = None
pull_wheelhouse_sha256 = None
# Where the agent, its settings, the organisation's signing key, its state and its venv live.
pull_agent_file = "/opt/telework/pull-agent.py"
pull_config_file = "/etc/telework/pull.json"
pull_public_key_file = "/etc/telework/pull-signing.pub"
pull_state_dir = "/var/lib/telework/pull"
pull_venv = "/opt/telework/venv"
