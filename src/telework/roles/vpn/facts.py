"""Facts of the VPN role: the kernel's WireGuard, a host's WireGuard public key, and the
pam_oath users file by digest only (seeds never travel back to the controller)."""

from __future__ import annotations

import shlex
from hashlib import sha256

from pyinfra.api import FactBase


class WireguardImplementation(FactBase):
    """`"kernel"` when this kernel has WireGuard (loaded, built in, or a module it can load),
    else `"userspace"` (wireguard-go). Read-only: it creates no link and loads no module.

    `/sys/module/wireguard` exists when the module is loaded or built in; `modprobe -n` (dry
    run) answers for a module that is installed but not loaded, from the host's own
    /lib/modules. Where neither says yes - a container whose root has no kernel modules, or a
    kernel without WireGuard - wireguard-go is installed; wg-quick still prefers the kernel
    when it can create the link, so the fallback never replaces a working kernel path.
    """

    def command(self) -> str:
        return ("if [ -d /sys/module/wireguard ] || modprobe -n -q wireguard 2>/dev/null; "
                "then echo kernel; else echo userspace; fi")

    def process(self, output):
        return output[0].strip() if output else "userspace"


class WireguardPublicKey(FactBase):
    """The public key (base64) of the WireGuard private key in `path`; None when the file is
    absent. The private key itself never leaves the host: `wg pubkey` runs there."""

    requires_command = "wg"

    def command(self, path: str) -> str:
        p = shlex.quote(path)
        return f"if [ -s {p} ]; then wg pubkey < {p}; fi"

    def process(self, output):
        return output[0].strip() if output else None


def seed_digest(token_type: str, pin: str, secret_hex: str) -> str:
    """What `OathUsers` reports per user, computed the same way on the controller."""
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
