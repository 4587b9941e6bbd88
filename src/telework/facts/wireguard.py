"""WireGuard facts: which implementation the kernel allows, and a host's public key."""

from __future__ import annotations

import shlex

from pyinfra.api import FactBase

#: A link name nobody uses, created and deleted at once by the probe.
PROBE_LINK = "tw-wgprobe0"


class WireguardImplementation(FactBase):
    """`"kernel"` when this kernel can create WireGuard links, else `"userspace"` (wireguard-go).

    Probes by creating a throwaway link rather than looking for a module file: a kernel with
    WireGuard built in has no module, a container may see the host's /sys/module, and only the
    attempt tells whether *this* network namespace may create the link.
    """

    def command(self) -> str:
        link = PROBE_LINK
        return (f"if [ -d /sys/class/net/{link} ] || ip link add {link} type wireguard 2>/dev/null; "
                f"then ip link del {link} 2>/dev/null; echo kernel; else echo userspace; fi")

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
