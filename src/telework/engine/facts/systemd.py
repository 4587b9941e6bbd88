"""systemd facts: the state of several units in one `systemctl show`."""

from __future__ import annotations

import shlex

from pyinfra.api import FactBase

from telework.engine.facts.batch import fact, remembered

PROPERTIES = ("LoadState", "ActiveState", "SubState", "UnitFileState")


class UnitStates(FactBase):
    """{unit: {"LoadState": "loaded", "ActiveState": "active", "SubState": "running",
    "UnitFileState": "enabled"}} for each unit asked for (LoadState "not-found" when absent)."""

    def command(self, units: tuple[str, ...]) -> str:
        props = ",".join(PROPERTIES)
        # One block per unit, in the order asked, separated by an empty line.
        return f"systemctl show --property={props} -- {' '.join(shlex.quote(u) for u in units)}"

    @staticmethod
    def ask(*units: str):
        return UnitStates, {"units": tuple(units)}

    @staticmethod
    def default():
        return []  # no output at all: nothing there

    def process(self, output):
        blocks: list[dict] = [{}]
        for line in output:
            if not line.strip():
                if blocks[-1]:
                    blocks.append({})
                continue
            key, _, value = line.partition("=")
            blocks[-1][key] = value
        return [b for b in blocks if b]


def unit_state(unit: str) -> dict:
    """The state of `unit` on the current host before this run, from a remembered `UnitStates`
    answer that includes it, else asked for alone."""
    for kwargs, answer in remembered(UnitStates):  # the answer is by position: keep the kwargs
        if answer is not None and unit in kwargs["units"] and len(answer) == len(kwargs["units"]):
            return answer[kwargs["units"].index(unit)]
    answer = fact(UnitStates, units=(unit,))
    return answer[0] if answer else {}
