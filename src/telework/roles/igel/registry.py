"""IGEL registry keys: is this value allowed for this key on this IGEL OS?

The facts (type, default, range) are data in `registry_keys.yml` beside this module, with the
upstream files they come from. A profile value is checked before a profile is written: wrong
type, a value outside the key's range, or a key the IGEL OS does not have is an error naming
the key, the value and what is allowed. OS 11 and OS 12 have separate tables: a key of one is
never assumed for the other.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from telework.core.problems import TeleworkError

DATA = Path(__file__).with_name("registry_keys.yml")
_INSTANCE = re.compile(r"^(?P<base>[A-Za-z_][A-Za-z0-9_\-]*?)(?P<n>\d+)$")
Value = str | int | bool


class RegistryValueError(TeleworkError):
    """A profile value does not fit the IGEL registry key it is meant for."""


@dataclass(frozen=True)
class Key:
    name: str
    type: str
    default: str
    label: str
    range: tuple[str, ...] = ()
    range_labels: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None

    def allowed(self) -> str:
        """What this key takes, in words (for error messages)."""
        if self.range and self.type != "editable":
            shown = []
            for i, v in enumerate(self.range):
                label = self.range_labels[i] if i < len(self.range_labels) else ""
                shown.append(f"{v!r} ({label})" if label and label != v else repr(v))
            return "one of " + ", ".join(shown)
        if self.type in ("bool", "boolean"):
            return "true or false"
        if self.type == "integer":
            if self.minimum is not None or self.maximum is not None:
                return f"an integer from {self.minimum} to {self.maximum} (telework's bound)"
            return "an integer"
        if self.type == "ip":
            return "an IPv4 address"
        return "text"


class Registry:
    """The keys of one IGEL OS major version (11 or 12)."""

    def __init__(self, os_major: int, keys: dict[str, Key], release: str) -> None:
        self.os_major, self.keys, self.release = os_major, keys, release

    def key(self, name: str) -> Key | None:
        """The key by its name; numbered instances ('connector0') resolve to their template."""
        if name in self.keys:
            return self.keys[name]
        parts = name.split(".")
        for i, part in enumerate(parts):
            m = _INSTANCE.match(part)
            if m:
                candidate = ".".join([*parts[:i], m.group("base") + "%", *parts[i + 1 :]])
                found = self.key(candidate) if candidate != name else None
                if found:
                    return found
        return None

    def check(self, name: str, value: Value, where: str) -> Value:
        """`value` if `name` takes it on this IGEL OS, else RegistryValueError naming `where`
        (e.g. "profile 'tw-openvpn-os12' (templates/igel/os12/openvpn.ipm.yml.j2)")."""
        key = self.key(name)
        os_name = f"IGEL OS {self.os_major} ({self.release})"
        if key is None:
            raise RegistryValueError(
                f"{where}: {name} is not a registry key telework knows for {os_name} "
                f"(fix: use a key of registry_keys.yml for IGEL OS {self.os_major}, or add it "
                "there from the IGEL setup.def of that release)")
        bad = f"{where}: {name} = {value!r} is not allowed on {os_name}: it takes {key.allowed()}"
        fix = " (fix: change the value in the inventory or the profile template)"
        if key.type in ("bool", "boolean"):
            if not isinstance(value, bool):
                raise RegistryValueError(bad + " (fix: write true or false, unquoted)")
            return value
        if key.type == "integer":
            if isinstance(value, bool) or not isinstance(value, int):
                raise RegistryValueError(bad + " (fix: write a number, unquoted)")
            if key.range and str(value) not in key.range:
                raise RegistryValueError(bad + fix)
            if (key.minimum is not None and value < key.minimum) or (
                    key.maximum is not None and value > key.maximum):
                raise RegistryValueError(bad + fix)
            return value
        if not isinstance(value, str):
            raise RegistryValueError(bad + " (fix: write the value as quoted text)")
        if key.type == "ip" and value:
            try:
                ipaddress.IPv4Address(value)
            except ValueError:
                raise RegistryValueError(bad + fix) from None
        if key.range and key.type != "editable" and value not in key.range:
            raise RegistryValueError(bad + fix)
        return value


@lru_cache(maxsize=2)
def registry(os_major: int) -> Registry:
    """The registry table of IGEL OS 11 or 12 (from registry_keys.yml)."""
    if os_major not in (11, 12):
        raise RegistryValueError(f"IGEL OS {os_major}: telework knows the registries of "
                                 "IGEL OS 11 and 12 only")
    data = yaml.safe_load(DATA.read_text(encoding="utf-8"))
    section = f"os{os_major}"
    bounds = data.get("telework_bounds") or {}
    keys = {}
    for name, raw in data[section].items():
        bound = bounds.get(name, {})
        keys[name] = Key(
            name=name, type=str(raw["type"]), default=str(raw.get("default", "")),
            label=str(raw.get("label", "")),
            range=tuple(str(v) for v in raw.get("range", ())),
            range_labels=tuple(str(v) for v in raw.get("range_labels", ())),
            minimum=bound.get("min"), maximum=bound.get("max"),
        )
    return Registry(os_major, keys, str(data["sources"][section]["release"]))
