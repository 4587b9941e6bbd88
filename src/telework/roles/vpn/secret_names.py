"""The names under which the VPN role keeps its secrets (telework.secrets.store).

`telework pki` and `telework person enroll` create them; the concentrator and auth server deploys
decrypt them. Names only: no value is ever read here.
"""

from __future__ import annotations

# ---------------------------------------------------------------- secret names
# The names under which `telework.roles.vpn.pki` and `telework.roles.vpn.enrolment` store what the deploys need.

CA_KEY_SECRET = "openvpn/ca-key"
TLS_CRYPT_SECRET = "openvpn/tls-crypt"
TOTP_PREFIX = "totp"


def server_key_secret(concentrator: str) -> str:
    """The OpenVPN server's private key (PEM)."""
    return f"openvpn/server-key/{concentrator}"


def radius_secret(concentrator: str) -> str:
    """The RADIUS shared secret between a concentrator and its auth_server."""
    return f"radius/secret/{concentrator}"


def wireguard_key_secret(concentrator: str) -> str:
    """The concentrator's WireGuard private key (kind wireguard: its public key is in index.yml)."""
    return f"wireguard/server-key/{concentrator}"


def totp_secret(username: str) -> str:
    """A person's TOTP seed (base32)."""
    return f"{TOTP_PREFIX}/{username}"
