"""Finding a person or device of the inventory by name, for commands that take one.

An unknown name is an error that names the closest names the inventory has, so a typo on the
command line is fixed without opening the YAML.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from telework.core.problems import TeleworkError
from telework.inventory.loaded import LoadedInventory
from telework.inventory.model import LinuxEndpoint, Person


class UnknownName(TeleworkError):
    """A command named a person, device or server the inventory does not have."""


def find_person(loaded: LoadedInventory, username: str) -> Person:
    """The person called `username`, or UnknownName naming the closest usernames."""
    person = loaded.model.person(username)
    if person is None:
        raise unknown_name(loaded, "person", username, (p.username for p in loaded.model.people))
    return person


def find_device(loaded: LoadedInventory, name: str) -> LinuxEndpoint:
    """The Linux endpoint or notebook called `name`, or UnknownName naming the closest ones."""
    devices = {d.name: d for _, d in loaded.model.managed_endpoints()}
    if name not in devices:
        raise unknown_name(loaded, "Linux endpoint or notebook", name, devices)
    return devices[name]


def unknown_name(loaded: LoadedInventory, what: str, name: str, candidates: Iterable[str]) -> UnknownName:
    """The error for a name the inventory does not have, naming the closest ones it has."""
    close = difflib.get_close_matches(name, list(candidates), n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(close)}?" if close else " (check the spelling)"
    return UnknownName(f"no {what} '{name}' in {loaded.root}{hint}")


def where(loaded: LoadedInventory, section: str, key: str, value: str) -> str:
    """`file:line` of the item of `section` whose `key` is `value`, for error messages."""
    for index, item in enumerate(getattr(loaded.model, section)):
        if getattr(item, key) == value:
            return loaded.source.problem("where", loaded.item_path(section, index), "").where
    return str(loaded.root)
