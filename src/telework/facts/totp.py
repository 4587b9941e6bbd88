"""The pam_oath users file as telework manages it: who has which seed, by digest only."""

from __future__ import annotations

import shlex

from pyinfra.api import FactBase


def seed_digest(token_type: str, pin: str, secret_hex: str) -> str:
    """What `OathUsers` reports per user, computed the same way on the controller."""
    from hashlib import sha256

    return sha256(f"{token_type} {pin} {secret_hex.lower()}".encode()).hexdigest()


class OathUsers(FactBase):
    """{username: digest of "<type> <pin> <secret>"} for each line of a pam_oath users file;
    None when the file is absent.

    pam_oath appends replay state to a line after each login (counter, last code, its time):
    those fields are left out, so a login never makes the file look changed to a deploy. The
    digest is computed on the host: seeds never travel back to the controller.
    """

    def command(self, path: str) -> str:
        p = shlex.quote(path)
        return (
            f"if [ -f {p} ]; then echo present; "
            f"grep -v '^[[:space:]]*\\(#\\|$\\)' {p} | while read -r t u p s rest; do "
            f"printf '%s %s\\n' \"$u\" \"$(printf '%s %s %s' \"$t\" \"$p\" "
            f"\"$(printf '%s' \"$s\" | tr 'A-F' 'a-f')\" | sha256sum | cut -d' ' -f1)\"; done; fi"
        )

    def process(self, output):
        if not output or output[0] != "present":
            return None
        users = {}
        for line in output[1:]:
            user, digest = line.split()
            users[user] = digest
        return users
