"""A kernel parameter set now and at boot, from a sysctl.d file telework owns entirely."""

from __future__ import annotations

from pyinfra import host
from pyinfra.api import QuoteString, StringCommand, operation

from telework.engine.facts.files import path_state
from telework.engine.facts.sysctl import sysctl_value
from telework.engine.operations.digests import digest
from telework.engine.operations.files import owner_commands, write_commands


@operation()
def setting(key: str, value: str | int, path: str):
    """Write `key = value` as the whole of `path` (a /etc/sysctl.d file) and set it live.

    + key: e.g. net.ipv4.ip_forward
    + value: the value as `sysctl -n` prints it
    + path: the sysctl.d file that holds it across boots
    """
    line = f"{key} = {value}\n"
    state = path_state(path)
    live = sysctl_value(key)
    file_ok = (state is not None and state["sha256"] == digest(line)
               and not list(owner_commands(path, state, "644", "root", "root")))
    if file_ok and live == str(value):
        host.noop(f"{key} = {value}, now and at boot")
        return
    if not file_ok:
        host.log(f"Will {'modify' if state else 'create'} {path}: {line.strip()}")
        yield from write_commands(path, line.encode(), "644", "root", "root")
    if live != str(value):
        host.log(f"{key}: {live} -> {value}")
        yield StringCommand("sysctl", "-q", "-w", QuoteString(f"{key}={value}"))
