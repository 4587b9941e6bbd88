"""`telework sip init`: what the SIP servers need before their first deploy, made once.

* a SIP password (age secret `sip/password/<username>`) for every subscriber without one, and a
  provisioning password (`sip/provisioning/<mac>`) for each of their desk phones;
* a TLS certificate per SIP server from the organisation's CA (`telework pki init` made it),
  committed as pki/sip/<server>.crt, its key the secret `sip/tls-key/<server>`. Its names are
  the SIP domain (what phones dial), `<server>.<domain>` and the public address. A certificate
  whose names no longer match is issued again.

Kept apart from the VPN's pki/servers/ so the VPN clients' common name is never a SIP one.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

from cryptography import x509

from telework.core.atomicfile import write_atomic
from telework.inventory.loading import require_inventory
from telework.roles.sip.provisioning import device_secret, provisioned_phones
from telework.roles.sip.server import SipError, sip_view
from telework.roles.vpn import pki
from telework.secrets.store import SecretStore

CERT_DIR = Path("pki") / "sip"


def cert_path(inventory_dir: str | Path, server: str) -> Path:
    return Path(inventory_dir) / CERT_DIR / f"{server}.crt"


def server_names(domain: str, server: str, public_address: str) -> list[x509.GeneralName]:
    return [x509.DNSName(domain), x509.DNSName(f"{server}.{domain}"),
            x509.IPAddress(ipaddress.ip_address(public_address))]


def _names_of(pem: bytes) -> set[str]:
    cert = x509.load_pem_x509_certificate(pem)
    try:
        return {str(n.value) for n in cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value}
    except x509.ExtensionNotFound:
        return set()


def init_sip(inventory_dir: str | Path, store: SecretStore) -> list[str]:
    """Create what is missing; returns what it created (empty on a second run)."""
    inventory_dir = Path(inventory_dir)
    loaded = require_inventory(inventory_dir)
    if not (inventory_dir / pki.CA_FILE).exists():
        raise SipError(f"{inventory_dir / pki.CA_FILE} is missing: run `telework pki init {inventory_dir}` first "
                       f"(the SIP servers' certificates come from the organisation's CA)")
    created: list[str] = []
    for server in sorted(loaded.model.sip_servers, key=lambda s: s.name):
        view = sip_view(loaded, server.name)
        for sub in view.subscribers:
            if not store.exists(sub.password_secret):
                store.add_generated(sub.password_secret, "password")
                created.append(f"secret {sub.password_secret}")
        for phone in provisioned_phones(view):
            if not store.exists(device_secret(phone.phone.mac)):
                store.add_generated(device_secret(phone.phone.mac), "password")
                created.append(f"secret {device_secret(phone.phone.mac)}")
        san = server_names(view.realm, server.name, str(view.public_address))
        path = cert_path(inventory_dir, server.name)
        current = _names_of(path.read_bytes()) if path.exists() else None
        if current != {str(n.value) for n in san} or not store.exists(view.tls_key_secret):
            cert, key = pki.issue_server(inventory_dir, store, view.realm, server.name, san)
            store.set(view.tls_key_secret, key, "manual", replace=True)
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(path, cert)
            created += [str(path.relative_to(inventory_dir)), f"secret {view.tls_key_secret}"]
    return created
