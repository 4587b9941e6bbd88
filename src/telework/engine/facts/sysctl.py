"""Kernel parameter facts: the live value of the keys a role sets."""

from __future__ import annotations

import shlex

from pyinfra.api import FactBase

from telework.engine.facts.batch import covering, fact


class SysctlValues(FactBase):
    """{key: live value as `sysctl -n` prints it, or None when the key does not exist}."""

    def command(self, keys: tuple[str, ...]) -> str:
        names = " ".join(shlex.quote(k) for k in keys)
        return f"for k in {names}; do printf '%s\\t%s\\n' \"$k\" \"$(sysctl -n \"$k\" 2>/dev/null || echo '<absent>')\"; done"

    @staticmethod
    def ask(*keys: str):
        return SysctlValues, {"keys": tuple(keys)}

    @staticmethod
    def default():
        return {}  # no output at all: nothing there

    def process(self, output):
        values = {}
        for line in output:
            key, _, value = line.partition("\t")
            values[key] = None if value == "<absent>" else value
        return values


def sysctl_value(key: str) -> str | None:
    """The live value of `key` on the current host before this run."""
    answer = covering(SysctlValues, lambda kwargs: key in kwargs["keys"])
    return (answer if answer is not None else fact(SysctlValues, keys=(key,))).get(key)
