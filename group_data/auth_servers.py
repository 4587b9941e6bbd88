"""Defaults for auth servers (deploy/auth_server.py): FreeRADIUS checking the TOTP second factor.

Which concentrators ask and which people may log in come from the inventory (telework.roles.vpn.access).
"""

# freeradius: the RADIUS server (3.2 in Debian 12); libpam-oath: pam_oath checks the codes and
# keeps the replay state (last code used per person) in its users file; python3-minimal runs
# telework's seed merge helper, which keeps that state when seeds change.
radius_packages = ["freeradius", "libpam-oath", "python3-minimal"]

# FreeRADIUS 3.x keeps its configuration here on Debian.
radius_config_dir = "/etc/freeradius/3.0"
# telework's helper that merges new seeds into the pam_oath users file, keeping replay state.
radius_oath_merge_helper = "/usr/local/lib/telework/telework-oath-merge"

# The pam_oath users file: seeds plus the replay state pam_oath writes after each login. Its
# directory belongs to freerad (pam_oath writes users.oath.new and users.oath.lock beside it).
radius_totp_state_dir = "/var/lib/telework/totp"
radius_totp_users_file = "/var/lib/telework/totp/users.oath"
# PAM service FreeRADIUS' rlm_pam uses; it holds pam_oath only.
radius_totp_pam_service = "telework-totp"
# Codes of this many 30-second steps either side of now are accepted (clock drift of phones).
radius_totp_window = 1
radius_totp_digits = 6
# Seconds before a refused login is answered: slows down guessing (FreeRADIUS' default is 1).
radius_reject_delay = 1
