"""systemd units decided from one remembered `systemctl show` of every unit a role runs.

pyinfra's `systemd.service` asks two facts per unit (each a full `systemctl show --all`) and
asks them again for a restart handler, even one whose condition is false.
"""

from __future__ import annotations

from pyinfra import host
from pyinfra.api import StringCommand, operation

from telework.engine.facts.systemd import unit_state

#: UnitFileState values that need no `systemctl enable` (static units cannot be enabled)
ENABLED_STATES = frozenset({"enabled", "static", "generated", "alias"})


@operation()
def service(unit: str, running: bool | None = True, enabled: bool | None = True):
    """Start and enable `unit` (or stop / disable it), as far as it is not so already.

    + running, enabled: True / False, or None to leave that side as it is
    """
    state = unit_state(unit)
    active = state.get("ActiveState") in ("active", "reloading", "activating")
    is_enabled = state.get("UnitFileState") in ENABLED_STATES
    commands = []
    if enabled is not None and enabled != is_enabled:
        commands.append(StringCommand("systemctl", "enable" if enabled else "disable", unit))
    if running is not None and running != active:
        commands.append(StringCommand("systemctl", "start" if running else "stop", unit))
    if not commands:
        host.noop(f"unit {unit} is as it should be ({state.get('ActiveState')}, {state.get('UnitFileState')})")
        return
    yield from commands


@operation(is_idempotent=False)
def restart(unit: str):
    """`systemctl restart unit`: a handler, to be given `_if=` (the changes that need it)."""
    yield StringCommand("systemctl", "restart", unit)


@operation(is_idempotent=False)
def reload(unit: str):
    """`systemctl reload unit`: a handler, to be given `_if=` (the changes that need it)."""
    yield StringCommand("systemctl", "reload", unit)
