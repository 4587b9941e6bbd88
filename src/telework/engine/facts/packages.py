"""Debian package facts: installed or not, for the packages a role names (not all of `dpkg -l`)."""

from __future__ import annotations

import shlex

from pyinfra.api import FactBase

from telework.engine.facts.batch import covering, fact


class PackageStates(FactBase):
    """{package: True when installed} for each package asked for (dpkg's "ii" state)."""

    def command(self, packages: tuple[str, ...]) -> str:
        names = " ".join(shlex.quote(p) for p in packages)
        return f"dpkg-query -W -f='${{Package}}\\t${{db:Status-Abbrev}}\\n' {names} 2>/dev/null; true"

    @staticmethod
    def ask(*packages: str):
        return PackageStates, {"packages": tuple(sorted(set(packages)))}

    @staticmethod
    def default():
        return {}  # no output at all: nothing there

    def process(self, output):
        installed = {}
        for line in output:
            name, _, status = line.partition("\t")
            installed[name.split(":")[0]] = installed.get(name.split(":")[0], False) or status.startswith("ii")
        return installed


def packages_installed(packages) -> dict[str, bool]:
    """{package: installed?} for `packages` on the current host before this run."""
    wanted = set(packages)
    answer = covering(PackageStates, lambda kwargs: wanted <= set(kwargs["packages"]))
    if answer is None:
        answer = fact(PackageStates, packages=tuple(sorted(wanted)))
    return {p: bool(answer.get(p)) for p in wanted}
