"""Environment overlays: where the hosts of an inventory are reached in one environment.

Production addresses come from the inventory. The lab (or any other test environment) writes an
overlay file and names it in $TELEWORK_OVERLAY; telework's plan, apply, verify and pull then
reach each host as the overlay says (address, user, key, known hosts, apt proxy), and the
inventory is never edited for a test environment.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from telework.core.problems import TeleworkError

OVERLAY_ENV = "TELEWORK_OVERLAY"
#: Connection settings an overlay may set per host; anything else is ignored. Besides how to
#: reach the host: its apt proxy, and the networks its deploy connects from, which the host
#: firewall must accept SSH from (base_extra_management_networks, group_data/all.py).
OVERLAY_KEYS = {"ssh_hostname", "ssh_user", "ssh_port", "ssh_key", "ssh_known_hosts_file",
                "ssh_strict_host_key_checking", "apt_proxy", "base_extra_management_networks",
                "base_plan_public_key"}


def load_overlay(path: str | Path | None = None) -> dict | None:
    """The overlay named by `path` or $TELEWORK_OVERLAY (None: production addresses)."""
    path = path or os.environ.get(OVERLAY_ENV)
    if not path:
        return None
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TeleworkError(f"${OVERLAY_ENV} names {path}, which does not exist (fix: start the lab it belongs "
                            f"to with `telework lab up <inventory>`, or unset ${OVERLAY_ENV} to reach the "
                            f"hosts at their inventory addresses)") from None
    except OSError as exc:
        raise TeleworkError(f"${OVERLAY_ENV} names {path}, which cannot be read: {exc.strerror}") from None
    try:
        return yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise TeleworkError(f"{path}: not valid YAML ({exc}); the lab writes this file, "
                            f"`telework lab up` writes it again") from None
