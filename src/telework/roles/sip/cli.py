"""The SIP role's commands: `telework sip init` (passwords and certificates the servers need).

The registry (telework.roles.registry) adds them to the CLI. No command here prints a secret.
"""

from __future__ import annotations

from pathlib import Path

import click
from rich.markup import escape

from telework.cli.common import console, inventory_argument
from telework.cli.secret import _identity_option
from telework.roles.sip.keys import init_sip
from telework.secrets.store import SecretStore


@click.group("sip")
def sip_group() -> None:
    """SIP telephony: the SIP servers' passwords and certificates (in INVENTORY/secrets/, pki/sip/)."""


@sip_group.command()
@inventory_argument
@_identity_option
def init(inventory: Path, identity: Path | None) -> None:
    """Create what is missing: a SIP password for every person with a phone, a TLS certificate
    per SIP server from the organisation's CA. Safe to run again (after adding people)."""
    created = init_sip(inventory, SecretStore(inventory, identity))
    passwords = sum(1 for c in created if c.startswith("secret sip/password/"))
    devices = sum(1 for c in created if c.startswith("secret sip/provisioning/"))
    others = [c for c in created if not c.startswith(("secret sip/password/", "secret sip/provisioning/"))]
    if not created:
        console.print("nothing to do: every subscriber has a password, every SIP server a certificate")
        return
    if passwords:
        console.print(f"created {passwords} SIP password(s) (secrets sip/password/<username>)")
    if devices:
        console.print(f"created {devices} provisioning password(s) of desk phones (secrets sip/provisioning/<mac>)")
    for line in others:
        console.print(f"created {escape(line)}")
