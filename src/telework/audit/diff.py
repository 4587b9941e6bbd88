"""The semantic difference of two inventory states: what an auditor calls a change.

`diff_states(old, new, changed_paths)` returns `Event`s such as "VPN access granted to
jmueller" or "device nb-0003 moved from ring pilot to all", never lines of YAML. Only the
entities named in the changed files are compared (an entity that moved between files is
named in both and compares equal), so a commit costs in proportion to what it changed;
a department whose `access` changed also names every member, whose networks changed with it.

An event is language-neutral data: a `kind`, its `params` and the `entities` it concerns
(`person:jmueller`, `device:nb-0003`, `phone:00:E0:...`, `department:bauamt`,
`network:fv-finanzen`, `address:10.128.0.7`, `certificate:1A2B`), which the index uses to
answer per-person and per-device questions. The words are in the message catalogues
(templates/audit/messages/*.yml).
"""

from __future__ import annotations

from collections.abc import Iterable

from telework.audit.entities import ALLOCATIONS, COLLECTIONS, State, file_kind, role_files
from telework.audit.events import CONTEXT_PARAMS, Event  # noqa: F401  (Event: the type callers use)

def diff_states(old: State, new: State, changed: Iterable[str]) -> list[Event]:
    """Events that turn `old` into `new`; `changed` are the paths whose blobs differ."""
    changed = sorted(set(changed))
    kinds = {rel: file_kind(rel) for rel in changed}
    events: list[Event] = []
    keys: dict[str, set[str]] = {}
    for rel, kind in kinds.items():
        if kind == "sections":
            before, after = old.parsed(rel), new.parsed(rel)
            for collection in COLLECTIONS:
                keys.setdefault(collection, set()).update(_differing(
                    before.collections[collection] if before else {},
                    after.collections[collection] if after else {}))
    for key in sorted(keys.get("departments", ())):
        events += _department(key, old, new)
    for key in sorted(keys.get("networks", ())):
        events += _network(key, old.get("networks", key), new.get("networks", key))
    for key in sorted(keys.get("people", ())):
        events += _person(key, old.get("people", key), new.get("people", key), new)
    for key in sorted(keys.get("devices", ())):
        events += _device(key, old.get("devices", key), new.get("devices", key))
    for key in sorted(keys.get("phones", ())):
        events += _phone(key, old.get("phones", key), new.get("phones", key))
    if ALLOCATIONS in kinds:
        events += _allocations(old, new)
    for rel, role_file in role_files().items():  # the roles' own files (access/, pki/, ...)
        if rel in kinds:
            events += role_file.diff(old.role_data(role_file.kind), new.role_data(role_file.kind),
                                     lambda username: _name(new, old, username))
    return events


def _differing(before: dict, after: dict) -> set[str]:
    """Keys whose entity differs between two versions of one file. Only these can change the
    merged state: every other key reads the same in this file before and after (an entity
    that moved to another file differs in both files, so it is compared)."""
    out = set()
    for key in before.keys() | after.keys():
        a, b = before.get(key), after.get(key)
        if a is not b and a != b:
            out.add(key)
    return out


def _name(state_new: State, state_old: State | None, username: str | None) -> str | None:
    for state in (state_new, state_old):
        if state is not None and username:
            person = state.get("people", username)
            if person:
                return person["name"]
    return None


# ---------------------------------------------------------------- people

def _networks(state: State, person: dict) -> list[str]:
    department = state.get("departments", person["department"])
    return sorted(set(department["access"] if department else []) | set(person["extra_access"]))


def _person(username: str, old: dict | None, new: dict | None, state: State) -> list[Event]:
    if old == new:
        return []
    who = [f"person:{username}"]
    now = new or old
    base = {"person": username, "name": now["name"]}
    out: list[Event] = []
    empty = {"vpn": False, "status": "active", "extra_access": [], "did": None, "did_written": None,
             "extension": None}
    if old is None:
        out.append(Event("person_added", {**base, "department": new["department"], "site": new["site"],
                                          "status": new["status"]}, who))
        old = {**new, **empty}
    elif new is None:
        out.append(Event("person_removed", {**base, "department": old["department"]}, who))
        new = {**old, **empty}
    else:
        if old["name"] != new["name"]:
            out.append(Event("person_renamed", {**base, "old": old["name"], "new": new["name"]}, who))
        if old["site"] != new["site"]:
            out.append(Event("person_site_changed", {**base, "old": old["site"], "new": new["site"]}, who))
        if old["department"] != new["department"]:
            out.append(Event("department_changed", {**base, "old": old["department"], "new": new["department"],
                                                    "networks": _networks(state, new)},
                             who + [f"department:{old['department']}", f"department:{new['department']}"]))
        if old["status"] != new["status"]:
            kind = "person_suspended" if new["status"] == "suspended" else "person_status_changed"
            if old["status"] == "suspended" and new["status"] == "active":
                kind = "person_reactivated"
            out.append(Event(kind, {**base, "old": old["status"], "new": new["status"]}, who))
    if old["vpn"] != new["vpn"]:
        out.append(Event("vpn_granted" if new["vpn"] else "vpn_withdrawn", dict(base), who))
    for network in sorted(set(new["extra_access"]) - set(old["extra_access"])):
        out.append(Event("network_granted", {**base, "network": network, "via": "extra_access"},
                         who + [f"network:{network}"]))
    for network in sorted(set(old["extra_access"]) - set(new["extra_access"])):
        out.append(Event("network_withdrawn", {**base, "network": network, "via": "extra_access"},
                         who + [f"network:{network}"]))
    if old["did"] != new["did"]:
        if old["did"]:
            out.append(Event("did_unassigned", {**base, "did": old["did_written"], "extension": old["extension"]},
                             who + [f"did:{old['did']}"]))
        if new["did"]:
            out.append(Event("did_assigned", {**base, "did": new["did_written"], "extension": new["extension"]},
                             who + [f"did:{new['did']}"]))
    elif old["extension"] != new["extension"]:
        out.append(Event("extension_changed", {**base, "did": new["did_written"], "old": old["extension"],
                                               "new": new["extension"]}, who))
    return out


# ---------------------------------------------------------------- devices and phones

def _device(name: str, old: dict | None, new: dict | None) -> list[Event]:
    if old == new:
        return []
    now = new or old
    owners = {o for o in ((old or {}).get("owner"), (new or {}).get("owner")) if o}
    who = [f"device:{name}"] + [f"person:{o}" for o in sorted(owners)]
    base = {"device": name, "kind": now["kind"]}
    if old is None:
        return [Event("device_added", {**base, "owner": new["owner"], "ring": new["ring"],
                                       "firmware": new["firmware"], "site": new["site"],
                                       "status": new["status"]}, who)]
    if new is None:
        return [Event("device_removed", {**base, "owner": old["owner"]}, who)]
    out = []
    for attr, kind in (("kind", "device_kind_changed"), ("owner", "device_owner_changed"),
                       ("ring", "device_ring_changed"), ("firmware", "device_firmware_changed"),
                       ("status", "device_status_changed"), ("site", "device_site_changed"),
                       ("model", "device_model_changed")):
        if old[attr] != new[attr]:
            out.append(Event(kind, {**base, "old": old[attr], "new": new[attr]}, who))
    if old["hardware"] != new["hardware"]:
        out.append(Event("device_hardware_changed", {**base, "old": "/".join(map(str, old["hardware"])),
                                                     "new": "/".join(map(str, new["hardware"]))}, who))
    if old["wireguard_key"] != new["wireguard_key"]:
        out.append(Event("device_key_changed", dict(base), who))
    return out


def _phone(mac: str, old: dict | None, new: dict | None) -> list[Event]:
    if old == new:
        return []
    owners = {o for o in ((old or {}).get("owner"), (new or {}).get("owner")) if o}
    who = [f"phone:{mac}"] + [f"person:{o}" for o in sorted(owners)]
    now = new or old
    base = {"mac": mac, "model": now["model"]}
    if old is None:
        return [Event("phone_added", {**base, "owner": new["owner"]}, who)]
    if new is None:
        return [Event("phone_removed", {**base, "owner": old["owner"]}, who)]
    out = []
    if old["owner"] != new["owner"]:
        out.append(Event("phone_owner_changed", {**base, "old": old["owner"], "new": new["owner"]}, who))
    if old["status"] != new["status"]:
        out.append(Event("phone_status_changed", {**base, "old": old["status"], "new": new["status"]}, who))
    return out


# ---------------------------------------------------------------- departments and networks

def _members(state: State, department: str) -> list[str]:
    return sorted(u for u, p in state.items("people").items() if p["department"] == department)


def _department(dep: str, old_state: State, new_state: State) -> list[Event]:
    old, new = old_state.get("departments", dep), new_state.get("departments", dep)
    if old == new:
        return []
    who = [f"department:{dep}"]
    if old is None:
        return [Event("department_added", {"department": dep, "name": new["name"], "networks": new["access"]},
                      who + [f"network:{n}" for n in new["access"]])]
    if new is None:
        return [Event("department_removed", {"department": dep, "name": old["name"]}, who)]
    out = []
    granted = sorted(set(new["access"]) - set(old["access"]))
    withdrawn = sorted(set(old["access"]) - set(new["access"]))
    if granted or withdrawn:
        # every member's networks changed: name them, so `audit log --person` shows it
        members = sorted(set(_members(old_state, dep)) | set(_members(new_state, dep)))
        for network, kind in [(n, "department_network_granted") for n in granted] + \
                             [(n, "department_network_withdrawn") for n in withdrawn]:
            out.append(Event(kind, {"department": dep, "name": new["name"], "network": network,
                                    "count": len(members)},
                             who + [f"network:{network}"] + [f"person:{m}" for m in members]))
    if old["name"] != new["name"]:
        out.append(Event("department_renamed", {"department": dep, "old": old["name"], "new": new["name"]}, who))
    return out


def _network(name: str, old: dict | None, new: dict | None) -> list[Event]:
    if old == new:
        return []
    who = [f"network:{name}"]
    if old is None:
        return [Event("network_added", {"network": name, **new}, who)]
    if new is None:
        return [Event("network_removed", {"network": name, "prefix": old["prefix"]}, who)]
    out = []
    if old["prefix"] != new["prefix"]:
        out.append(Event("network_prefix_changed", {"network": name, "old": old["prefix"], "new": new["prefix"]}, who))
    return out


# ---------------------------------------------------------------- files telework writes

def _member_entity(member: str) -> str:
    """allocations.yml names members `person:x` or `device:y`: already entity names."""
    return member


def _allocations(old_state: State, new_state: State) -> list[Event]:
    old, new = old_state.allocations, new_state.allocations
    out = []
    changed = {key for key, _value in old.items() ^ new.items()}  # thousands of lines, few changed
    for key in sorted(changed, key=lambda k: (k[0] or "", k[1])):
        before, after = old.get(key), new.get(key)
        if before is not None and after is not None and before[0] == after[0]:
            continue
        pool, address = key
        if before is not None:
            out.append(_address_event("address_released", pool, address, before[0], old_state, new_state))
        if after is not None:
            out.append(_address_event("address_allocated", pool, address, after[0], new_state, old_state))
    return out


def _address_event(kind: str, pool: str, address: str, member: str, state: State, other: State) -> Event:
    member_kind, _, member_name = member.partition(":")
    params = {"address": address, "pool": pool, "member": member_name, "member_kind": member_kind}
    if member_kind == "person":
        params["name"] = _name(state, other, member_name)
    return Event(kind, params, [_member_entity(member), f"address:{address}"])
