"""Errors the lab reports to a person: each names the fix."""

from __future__ import annotations

from telework.core.problems import TeleworkError

#: One command that installs every tool the lab needs on Debian 12.
APT_FIX = "apt-get install -y debootstrap systemd-container apt-cacher-ng nftables iproute2 openssh-client"


class LabError(TeleworkError):
    """The lab cannot be brought up, inspected or torn down."""


class LabNotRoot(LabError):
    def __init__(self) -> None:
        super().__init__("telework lab needs root (network namespaces, mounts, systemd-nspawn): run it with sudo")


class LabToolMissing(LabError):
    def __init__(self, tools: list[str]) -> None:
        verb = "is" if len(tools) == 1 else "are"
        super().__init__(f"telework lab needs {', '.join(tools)} which {verb} not installed (fix: {APT_FIX})")
