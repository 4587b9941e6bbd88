"""`@telework/<host>`: pyinfra's SSH connector without Nagle's delay, counting its round trips.

pyinfra runs every fact and command as its own SSH channel request, one after the other.
paramiko leaves Nagle's algorithm on, so each small request waits for the peer's delayed ACK:
~48 ms per command instead of ~5 ms (performance.md, observation 2). Setting TCP_NODELAY on the
connected socket removes that wait; everything else (keys, known hosts, retries, sudo, SFTP)
is pyinfra's own `SSHConnector`, subclassed through its public connector interface and
registered as the `telework` entry point in the `pyinfra.connectors` group.

`telework plan|apply` name their hosts `@telework/<name>`; pyinfra still calls them `<name>`.
The counters (`commands`, `uploads`) feed `telework plan`'s JSON (remote_commands per host)
and the lab test that keeps a no-change plan at one command per deploy file. With
$TELEWORK_COMMAND_LOG set, every command is also appended to that file as a JSON line in its
masked form (secrets in commands are `HiddenValue`s and show as ***): the benchmarks replay a
plan's commands as the SSH floor.
"""

from __future__ import annotations

import json
import os
import socket

from pyinfra.connectors.ssh import SSHConnector

PREFIX = "@telework/"


def connector_name(host_name: str) -> str:
    """The inventory name that makes pyinfra use this connector for `host_name`."""
    return PREFIX + host_name


class TeleworkConnector(SSHConnector):
    """SSH with TCP_NODELAY on the transport socket, plus per-host counters."""

    @staticmethod
    def make_names_data(name):
        # The host keeps its plain name; its data (ssh_hostname, ...) comes from the inventory.
        yield name, {}, []

    def __init__(self, state, host):
        super().__init__(state, host)
        self.commands = 0
        self.uploads = 0

    def connect(self) -> None:
        super().connect()
        sock = _tcp_socket(self)
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def run_shell_command(self, command, print_output: bool = False, print_input: bool = False, **arguments):
        self.commands += 1
        log = os.environ.get("TELEWORK_COMMAND_LOG")
        if log:
            with open(log, "a", encoding="utf-8") as out:
                out.write(json.dumps({"host": self.host.name, "command": str(command)}) + "\n")
        return super().run_shell_command(command, print_output=print_output, print_input=print_input,
                                         **arguments)

    def put_file(self, filename_or_io, remote_filename, remote_temp_filename=None, print_output: bool = False,
                 print_input: bool = False, **arguments):
        self.uploads += 1
        return super().put_file(filename_or_io, remote_filename, remote_temp_filename=remote_temp_filename,
                                print_output=print_output, print_input=print_input, **arguments)


def _tcp_socket(connector) -> socket.socket | None:
    """The TCP socket under the connector's SSH transport (None: not connected, or a proxy)."""
    transport = connector.client.get_transport() if getattr(connector, "client", None) else None
    sock = getattr(transport, "sock", None)
    if isinstance(sock, socket.socket) and sock.family in (socket.AF_INET, socket.AF_INET6):
        return sock
    return None


def nodelay_enabled(connector) -> bool:
    """True when the connector's live socket has TCP_NODELAY set (for tests and diagnostics)."""
    sock = _tcp_socket(connector)
    return bool(sock is not None and sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
