"""The names under which the SIP role keeps its secrets (telework.secrets.store).

`telework sip init` creates them; deploy/sip_server.py decrypts them. Names only.
"""

from __future__ import annotations


def sip_password_secret(username: str) -> str:
    """A person's SIP password (kind password): the phone's and softphone's digest secret.

    Named by the person, not the extension, so a new extension keeps the password."""
    return f"sip/password/{username}"


def tls_key_secret(server: str) -> str:
    """The SIP server's TLS private key (PEM); its certificate is pki/servers/<server>.crt."""
    return f"sip/tls-key/{server}"
