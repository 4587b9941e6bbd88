"""What the UMS says of one person's IGEL devices right now, for `telework person status`: the
same live read as `person show` (telework.roles.igel.person: directory, profiles, firmware, last
contact), as the helpdesk's status. An unreachable UMS is reported as such, never raised."""

from __future__ import annotations

from telework.inventory.loaded import LoadedInventory
from telework.roles.igel.person import person_facts
from telework.roles.live_hosts import Hosts
from telework.roles.registry import LiveFacts


def person_status(loaded: LoadedInventory, username: str, hosts: Hosts | None = None) -> LiveFacts:
    """`hosts` is unused: the UMS is asked over its API, not over SSH."""
    seen = person_facts(loaded, username)
    facts = LiveFacts()
    devices = {}
    for name, entry in sorted(seen.devices.items()):
        ums = entry.get("ums")
        if isinstance(ums, dict) and "error" in ums:
            facts.unreachable["ums"] = ums["error"]
        devices[name] = ums
        facts.lines.append(f"IGEL {name}: {seen.device_details.get(name, '')}")
    facts.json["igel_devices"] = devices or None
    return facts
