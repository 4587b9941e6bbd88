"""nftables facts: whether a table of telework's is in the live ruleset."""

from __future__ import annotations

import shlex

from pyinfra.api import FactBase


class NftTableLoaded(FactBase):
    """True when the live ruleset has `table <family> <table>` (False also when nft is missing:
    then nothing is loaded either)."""

    def command(self, family: str, table: str) -> str:
        return f"nft list table {shlex.quote(family)} {shlex.quote(table)} >/dev/null 2>&1 && echo yes || echo no"

    def process(self, output):
        return bool(output) and output[0].strip() == "yes"


class SshClientAddress(FactBase):
    """The address this connection comes from, as the host sees it (the first field of sshd's
    $SSH_CONNECTION); None when not connected over SSH (a local run, the pull agent)."""

    def command(self) -> str:
        return 'echo "client:${SSH_CONNECTION%% *}"'

    def process(self, output):
        value = output[0].strip().removeprefix("client:") if output else ""
        return value or None
