"""What the IGEL role adds to `telework person show`: the person's IGEL devices as the UMS
reports them (directory, profiles, firmware, last contact), asked once per call, read only.

A helpdesk call must not fail because the UMS is away: then the devices carry the reason and
the inventory's view only.
"""

from __future__ import annotations

from telework.core.problems import TeleworkError
from telework.inventory.loaded import LoadedInventory
from telework.roles.igel import errors
from telework.roles.igel.reconcile import _major
from telework.roles.registry import PersonFacts


def person_facts(loaded: LoadedInventory, username: str) -> PersonFacts:
    inv = loaded.model
    mine = [d for d in inv.igel_devices if d.owner == username]
    facts = PersonFacts()
    if not mine:
        return facts
    if inv.ums is None:
        for d in mine:
            facts.device_details[d.name] = "no `ums:` section: UMS not asked"
        return facts
    from telework.roles.igel.verify import UmsView

    try:
        view = UmsView(loaded.root)
    except (errors.UmsError, TeleworkError) as exc:
        for d in mine:
            facts.devices[d.name] = {"ums": {"error": str(exc)}}
            facts.device_details[d.name] = f"UMS not reachable: {exc}"
        return facts
    try:
        for d in mine:
            records = view.records(d.mac)
            if not records:
                facts.devices[d.name] = {"ums": None}
                facts.device_details[d.name] = "not in the UMS (run telework apply)"
                continue
            rec = records[0]
            direct, inherited = view.direct_profiles(rec), view.inherited_profiles(rec)
            major = _major(view.firmware(rec) or d.firmware)
            # IGEL's rule: a device ignores inherited profiles of the other IGEL OS
            applies = direct + [p for p in inherited if view.profile_major(p) in (None, major)]
            entry = {"id": rec.id, "directory": "/" + view.path(rec), "firmware": view.firmware(rec),
                     "profiles": applies, "assigned_to_device": direct, "inherited_profiles": inherited,
                     "last_contact": rec.last_contact,
                     "config_changes": rec.details.get("configChanges")}
            facts.devices[d.name] = {"ums": entry}
            facts.device_details[d.name] = (
                f"UMS {entry['directory']}, IGEL OS {entry['firmware'] or '?'}, profiles "
                f"{', '.join(entry['profiles']) or 'none'}, last contact "
                f"{entry['last_contact'] or 'never'}")
    finally:
        view.close()
    return facts
