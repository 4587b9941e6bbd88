"""An nftables ruleset file that is checked by `nft -c` before it replaces the live rules.

`files.template` + a reload handler would write a broken ruleset to disk first, and the next
run would see no difference and never retry. Here the new text goes to `<path>.telework-new`,
is validated, and only then renamed and loaded: a ruleset that does not parse never reaches
the kernel nor the file nftables.service loads at boot (the staged file is removed again).

A ruleset that would not accept SSH from where this very deploy connects is refused before
anything is written: an apply must never lock out the next one.
"""

from __future__ import annotations

import logging
from io import StringIO

import netaddr

from pyinfra import host
from pyinfra.api import FileUploadCommand, OperationError, QuoteString, StringCommand, operation
from pyinfra.facts.files import FileContents

from telework.engine.adapter import color_diff
from telework.engine.facts.batch import fact
from telework.engine.facts.files import path_state
from telework.engine.facts.nftables import NftTableLoaded, SshClientAddress
from telework.engine.operations.digests import digest

logger = logging.getLogger("pyinfra")


@operation()
def ruleset(path: str, content: str, table: tuple[str, str], ssh_sources: list[str] | None = None):
    """Write the nftables ruleset `content` to `path` and load it, if it differs or `table` is
    not loaded.

    + path: the ruleset file (e.g. /etc/nftables.conf, which nftables.service loads at boot)
    + content: the whole ruleset text; it should begin with `flush ruleset` so that loading it
      replaces the live rules in one transaction
    + table: (family, name) of a table the ruleset defines: when it is missing from the live
      ruleset (someone ran `nft flush ruleset`), the file is loaded again

    + ssh_sources: the networks `content` accepts SSH from; when the address this deploy
      connects from (fact `SshClientAddress`; None for a local run) lies in none of them, the
      operation fails and nothing is written or loaded

    Shows a diff with `--diff` (rulesets hold addresses and networks, no secrets).
    """
    if ssh_sources is not None:
        client = fact(SshClientAddress)
        if not _reaches(client, ssh_sources):
            raise OperationError(
                f"refusing to load {path}: it accepts SSH only from {', '.join(ssh_sources) or 'no network'}, and this deploy "
                f"connects from {client}: the next deploy would be locked out (fix: give the network "
                f"{client} is in `purpose: management` in the inventory's networks.yml)")
    state = path_state(path)
    same = state is not None and state["sha256"] == digest(content)
    loaded = fact(NftTableLoaded, family=table[0], table=table[1])
    if same and loaded:
        host.noop(f"nftables ruleset {path} is loaded and up to date")
        return
    p = QuoteString(path)
    if not same:
        host.log(f"Will {'modify' if state is not None else 'create'} {path}")
        if host.state.config.DIFF:
            current = fact(FileContents, path=path) if state is not None else []
            for line in color_diff(current or [], content.splitlines()):
                logger.info("  %s", line)
        staged = f"{path}.telework-new"
        yield StringCommand("install", "-m", "600", "/dev/null", QuoteString(staged))
        yield FileUploadCommand(StringIO(content), staged)
        # a ruleset nft refuses is never renamed nor loaded; its staged copy goes again
        yield StringCommand("nft", "-c", "-f", QuoteString(staged), "||", "{", "rm", "-f", QuoteString(staged), ";",
                            "exit", "1", ";", "}")
        yield StringCommand("chmod", "644", QuoteString(staged), "&&", "mv", "-f", QuoteString(staged), p)
    else:
        host.log(f"table {' '.join(table)} is not loaded: loading {path} again")
    yield StringCommand("nft", "-f", p)


def _reaches(address: str | None, networks: list[str]) -> bool:
    """True when a connection from `address` comes from one of `networks` (None: a local run,
    nothing to lock out)."""
    if not address:
        return True
    try:
        ip = netaddr.IPAddress(address)
    except (netaddr.AddrFormatError, ValueError):
        return False
    if ip.version == 6 and ip.is_ipv4_mapped():
        ip = ip.ipv4()
    return any(ip in netaddr.IPNetwork(n) for n in networks)
