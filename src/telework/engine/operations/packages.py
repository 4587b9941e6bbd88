"""Package installation that is a true no-op when nothing is missing.

`apt.packages(update=True)` refreshes the package lists on every run (or whenever a cache
time has passed), so a plan of an unchanged host would never be empty. Here the lists are
refreshed only when a package actually has to be installed.
"""

from __future__ import annotations

from pyinfra import host
from pyinfra.api import StringCommand, operation

from telework.engine.facts.packages import packages_installed

_APT_ENV = "DEBIAN_FRONTEND=noninteractive"
_APT_INSTALL = "apt-get install -y -q --no-install-recommends -o Dpkg::Options::=--force-confdef " \
               "-o Dpkg::Options::=--force-confold"


@operation()
def installed(packages: list[str]):
    """Install the Debian `packages` that are missing, refreshing the lists first.

    + packages: names of Debian packages (no versions)

    No command at all when every package is already installed.
    """
    present = packages_installed(packages)
    missing = sorted(p for p in packages if not present[p])
    if not missing:
        host.noop(f"packages {', '.join(sorted(packages))} are installed")
        return
    yield StringCommand(_APT_ENV, "apt-get update -q")
    yield StringCommand(_APT_ENV, _APT_INSTALL, *missing)
