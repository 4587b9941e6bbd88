"""Inventory vs. UMS: what to change, item by item, and doing it.

Three steps, so that a plan can be made, shown and fingerprinted without touching the UMS:

1. `read_actual(client, desired)` reads the UMS with a fixed number of list calls: devices
   (with details), directories, firmwares, profiles, priority profiles, and per managed profile
   its device and directory assignments. The number does not grow with the fleet; per-receiver
   reads happen only where an order of two or more profiles must be checked.
2. `plan_changes(desired, actual)` is pure: no HTTP. It yields per-item `Change`s -- create,
   update (with the attribute diff before -> after), move, assign, unassign, command, delete --
   plus `report` (seen, not changed) and `error` (cannot be done; says why and the fix).
3. `execute(changes, client, actual)` applies them in order and returns a result per item, so a
   caller can fail a rollout ring on a partial move failure and stop.

Scope: one managed root directory at the top of the UMS tree (the inventory's sites and rings
are directories below it). Nothing outside it is changed: a device of the inventory found
elsewhere is reported (unless its directory is in `adopt_from`), objects below the root that
the inventory does not name are reported, and deleted only when `delete_unlisted` says so.
Profiles the inventory never names are never assigned or unassigned.

Device-level profile order: the IMI lists a receiver's assignments "in order of application";
the profile-side lists are not documented as ordered per receiver, so the order is read from
the receiver side, and only for receivers with two or more profiles of a kind. A new assignment
is taken to go last (what the fake does; SIMULATED there, unverified on a real UMS), so a wrong
order is repaired by unassigning from the first difference on and assigning the rest in order.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from telework.roles.igel import errors
from telework.roles.igel.imi import (
    ROOT_DIRECTORY,
    ApiObject,
    Assignment,
    Device,
    Directory,
    Firmware,
    ImiClient,
    Profile,
    device_label,
    normalise_mac,
)

NAME_MAX = 15
#: record fields the inventory may manage (names of imi.DEVICE_FIELDS)
MANAGED_FIELDS = ("name", "serial_number", "site", "department", "cost_center", "comment",
                  "asset_id")

ChangeKind = Literal["create_directory", "create", "move", "update", "unassign", "assign",
                     "command", "delete", "delete_directory", "report", "error"]
#: the order in which `execute` applies changes
PHASES: dict[str, int] = {  # move before update: an adopted device is changed once inside only
    "create_directory": 0, "create": 1, "move": 2, "update": 3, "unassign": 4, "assign": 5,
    "command": 6, "delete": 7, "delete_directory": 8, "report": 9, "error": 9,
}
COMMAND_ORDER = {"settings2tc": 0, "firmware_update": 1}


# ================================================================ desired state


@dataclass(frozen=True)
class DesiredDevice:
    """One IGEL device as the inventory has it. `directory` is a path below the managed root
    ('' = the root itself, 'pilot/rathaus'); `model` None means unknown."""

    name: str
    mac: str
    firmware: str
    os_major: int
    directory: str
    serial: str | None = None
    model: str | None = None
    ring: str | None = None
    profiles: tuple[str, ...] = ()
    priority_profiles: tuple[str, ...] = ()
    fields: tuple[tuple[str, str], ...] = ()  # site, department, cost_center, comment, asset_id
    device_attributes: tuple[tuple[str, str], ...] = ()  # custom attributes (UMS 6.10+)


@dataclass(frozen=True)
class DesiredDirectory:
    path: str
    profiles: tuple[str, ...] = ()
    priority_profiles: tuple[str, ...] = ()


@dataclass(frozen=True)
class RingFirmware:
    """The IGEL OS version devices of `ring` running OS `os_major` should have."""

    ring: str
    os_major: int
    version: str


@dataclass(frozen=True)
class DesiredState:
    """`owned_profiles` lists (name, priority) of profiles telework owns even where the
    inventory assigns them nowhere (so that taking a profile out of the inventory unassigns
    it); profiles neither named nor owned are never assigned or unassigned."""

    root: str
    devices: tuple[DesiredDevice, ...]
    directories: tuple[DesiredDirectory, ...] = ()
    firmware: tuple[RingFirmware, ...] = ()
    owned_profiles: tuple[tuple[str, bool], ...] = ()

    def profile_names(self) -> set[tuple[str, bool]]:
        """(name, priority) of every managed profile: named by the inventory, or owned."""
        out: set[tuple[str, bool]] = set(self.owned_profiles)
        for item in (*self.devices, *self.directories):
            out.update((p, False) for p in item.profiles)
            out.update((p, True) for p in item.priority_profiles)
        return out


# ================================================================ actual state


@dataclass(frozen=True)
class ActualState:
    """What `read_actual` found. `order` holds receiver -> assignees in order of application,
    for the receivers whose order was read."""

    devices: tuple[Device, ...]
    directories: tuple[Directory, ...]
    firmwares: tuple[Firmware, ...]
    profiles: tuple[Profile, ...]
    assignments: tuple[Assignment, ...]
    order: Mapping[ApiObject, tuple[ApiObject, ...]] = field(default_factory=dict)


def read_actual(client: ImiClient, desired: DesiredState) -> ActualState:
    """Read what `plan_changes` needs, with a number of calls independent of the fleet size:
    5 lists (+1 when custom device attributes are managed) + 2 per managed profile, + 1 per
    receiver whose profile order must be checked."""
    facet_attrs = any(d.device_attributes for d in desired.devices)
    devices = client.list_devices("details")
    if facet_attrs:
        attrs = {d.id: d.device_attributes for d in client.list_devices("deviceattributes")}
        devices = [_with_attrs(d, attrs.get(d.id)) for d in devices]
    directories = client.list_directories()
    firmwares = client.list_firmwares()
    profiles = [*client.list_profiles(), *client.list_master_profiles()]
    wanted = desired.profile_names()
    assignments: list[Assignment] = []
    for prof in profiles:
        if (prof.name, prof.is_master) in wanted and not prof.moved_to_bin:
            for receiver_type in ("tc", "tcdirectory"):
                assignments.extend(client.profile_assignments(prof.ref, receiver_type))
    partial = ActualState(tuple(devices), tuple(directories), tuple(firmwares), tuple(profiles),
                          tuple(assignments))
    order: dict[ApiObject, tuple[ApiObject, ...]] = {}
    for receiver in _receivers_needing_order(desired, partial):
        listed = (client.device_assignments(receiver.id) if receiver.type == "tc"
                  else client.directory_assignments(receiver.id))
        order[receiver] = tuple(a.assignee for a in listed)
    return ActualState(partial.devices, partial.directories, partial.firmwares,
                       partial.profiles, partial.assignments, order)


def _with_attrs(device: Device, attrs: tuple[tuple[str, str], ...] | None) -> Device:
    from dataclasses import replace

    return replace(device, device_attributes=attrs if attrs is not None else ())


def _receivers_needing_order(desired: DesiredState, actual: ActualState) -> list[ApiObject]:
    """Receivers with two or more desired or assigned managed profiles of one kind."""
    view = _View(desired, actual)
    out: list[ApiObject] = []
    for key, want in view.desired_lists().items():
        receiver = view.receiver_of(key)
        if receiver is None:
            continue
        have = view.assigned.get(receiver, [])
        for priority in (False, True):
            n_want = len(want[priority])
            n_have = sum(1 for a in have if (a.type == "masterprofile") == priority)
            if n_want >= 2 or n_have >= 2:
                out.append(receiver)
                break
    return out


# ================================================================ changes


@dataclass(frozen=True)
class Change:
    """One thing to do (or to report) for one device or directory.

    Devices are keyed by MAC, directories by their path below the managed root, profiles by
    name: ids of objects made by the same run are only known while it executes.
    """

    kind: ChangeKind
    target: Literal["device", "directory"]
    key: str
    subject: str
    ring: str | None = None
    diff: tuple[tuple[str, str | None, str | None], ...] = ()
    directory: str | None = None
    profile: str | None = None
    priority: bool = False
    command: str | None = None
    firmware_id: str | None = None
    origin: str | None = None  # a move that adopts a device from outside the root: from where
    message: str = ""

    def describe(self) -> str:
        """One line for a plan: what, to what, and why."""
        head = {"create_directory": "create", "delete_directory": "delete"}.get(
            self.kind, self.kind)
        text = f"{head} {self.subject}"
        if self.kind in ("create", "move") and self.directory is not None:
            text += f" in {self.directory or '(managed root)'}"
        if self.profile:
            kind = "priority profile" if self.priority else "profile"
            text += f": {kind} {self.profile!r}"
        if self.command:
            text += f": {self.command}"
        if self.diff:
            text += ": " + ", ".join(f"{k} {b!r} -> {a!r}" for k, b, a in self.diff)
        if self.message:
            text += f" ({self.message})"
        return text


@dataclass(frozen=True)
class Plan:
    root: str
    changes: tuple[Change, ...]

    @property
    def actions(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.kind not in ("report", "error"))

    @property
    def errors(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.kind == "error")

    @property
    def reports(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.kind == "report")

    def for_ring(self, ring: str | None) -> tuple[Change, ...]:
        return tuple(c for c in self.actions if c.ring == ring)


class _View:
    """Indexes over the actual state that the diff needs (the managed tree, MACs, profiles)."""

    def __init__(self, desired: DesiredState, actual: ActualState) -> None:
        self.desired, self.actual = desired, actual
        self.problems: list[Change] = []
        self.dirs = {d.id: d for d in actual.directories}
        live = [d for d in actual.directories if not d.moved_to_bin]
        roots = [d for d in live if d.parent_id == ROOT_DIRECTORY and d.name == desired.root]
        self.root_id: str | None = roots[0].id if len(roots) == 1 else None
        if len(roots) > 1:
            self.problems.append(Change(
                "error", "directory", "", f"directory {desired.root}",
                message=f"{len(roots)} directories named {desired.root!r} at the top of the "
                        "UMS tree; rename all but one in the UMS console"))
        self.path_of: dict[str, str] = {}  # directory id -> path below the root ('' = root)
        self.by_path: dict[str, Directory] = {}
        if self.root_id is not None:
            self._walk(live)
        self.firmware = {f.id: f for f in actual.firmwares}
        self.profiles: dict[tuple[str, bool], list[Profile]] = defaultdict(list)
        for p in actual.profiles:
            self.profiles[(p.name, p.is_master)].append(p)
        managed = desired.profile_names()
        self.managed_refs = {
            p.ref for p in actual.profiles if (p.name, p.is_master) in managed and not p.moved_to_bin
        }
        self.profile_by_ref = {p.ref: p for p in actual.profiles}
        self.assigned: dict[ApiObject, list[ApiObject]] = defaultdict(list)
        for a in actual.assignments:
            if a.assignee in self.managed_refs and a.assignee not in self.assigned[a.receiver]:
                self.assigned[a.receiver].append(a.assignee)

    def _walk(self, live: list[Directory]) -> None:
        children: dict[str, list[Directory]] = defaultdict(list)
        for d in live:
            children[d.parent_id].append(d)
        assert self.root_id is not None
        self.path_of[self.root_id] = ""
        self.by_path[""] = self.dirs[self.root_id]
        todo = [self.root_id]
        while todo:
            parent = todo.pop()
            seen: dict[str, list[Directory]] = defaultdict(list)
            for d in children.get(parent, []):
                seen[d.name].append(d)
            for name, same in sorted(seen.items()):
                path = _join(self.path_of[parent], name)
                if len(same) > 1:
                    self.problems.append(Change(
                        "error", "directory", path, f"directory {self.full(path)}",
                        message=f"{len(same)} directories of this name; rename all but one "
                                "in the UMS console (telework does not guess)"))
                    continue
                self.path_of[same[0].id] = path
                self.by_path[path] = same[0]
                todo.append(same[0].id)

    def full(self, path: str) -> str:
        return _join(self.desired.root, path)

    def inside(self, dir_id: str) -> bool:
        return dir_id in self.path_of

    def absolute_path(self, dir_id: str) -> str:
        """'/' for the UMS root, '/A/B' otherwise (as `adopt_from` names directories)."""
        parts = []
        seen = set()
        while dir_id in self.dirs and dir_id not in seen:
            seen.add(dir_id)
            parts.append(self.dirs[dir_id].name)
            dir_id = self.dirs[dir_id].parent_id
        return "/" + "/".join(reversed(parts))

    def desired_lists(self) -> dict[tuple[str, str], dict[bool, tuple[str, ...]]]:
        """('device', MAC) or ('directory', path) -> {priority: profile names in order}."""
        out: dict[tuple[str, str], dict[bool, tuple[str, ...]]] = {}
        for d in self.desired.devices:
            out[("device", normalise_mac(d.mac))] = {False: d.profiles,
                                                     True: d.priority_profiles}
        for d in self.desired.directories:
            out[("directory", _clean(d.path))] = {False: d.profiles, True: d.priority_profiles}
        return out

    def receiver_of(self, key: tuple[str, str]) -> ApiObject | None:
        kind, value = key
        if kind == "directory":
            d = self.by_path.get(value)
            return d.ref if d else None
        if not hasattr(self, "_live_by_mac"):  # built once: a lookup per receiver, not a scan
            self._live_by_mac: dict[str, ApiObject] = {}
            for dev in self.actual.devices:
                if not dev.moved_to_bin:
                    self._live_by_mac.setdefault(normalise_mac(dev.mac), dev.ref)
        return self._live_by_mac.get(value)

    def os_of_profile(self, profile: Profile) -> int | None:
        fw = self.firmware.get(profile.firmware_id)
        return _major(fw.version) if fw else None


def plan_changes(
    desired: DesiredState,
    actual: ActualState,
    *,
    delete_unlisted: bool = False,
    adopt_from: Sequence[str] = (),
) -> Plan:
    """Compare the inventory with what was read; pure, no HTTP. See the module docstring."""
    view = _View(desired, actual)
    out: list[Change] = list(view.problems)
    if any(c.key == "" and c.kind == "error" for c in view.problems):
        return Plan(desired.root, tuple(out))
    adopt = {"/" + p.strip("/") if p.strip("/") else "/" for p in adopt_from}

    # -------------------------------------------------------- directories
    wanted_dirs: set[str] = {""}
    for d in (*desired.directories, *desired.devices):
        path = _clean(d.path if isinstance(d, DesiredDirectory) else d.directory)
        while True:
            wanted_dirs.add(path)
            if not path:
                break
            path = path.rpartition("/")[0]
    blocked = {c.key for c in view.problems if c.target == "directory"}
    for path in sorted(wanted_dirs, key=lambda p: (p.count("/") if p else -1, p)):
        if path in view.by_path or any(_below(path, b) for b in blocked):
            continue
        out.append(Change("create_directory", "directory", path,
                          f"directory {view.full(path)}", directory=path))
    # bin objects and unlisted directories below the root
    for d in actual.directories:
        if d.moved_to_bin and d.parent_id in view.path_of:
            out.append(Change("report", "directory", _join(view.path_of[d.parent_id], d.name),
                              f"directory {view.full(_join(view.path_of[d.parent_id], d.name))}",
                              message="in the UMS recycle bin; not used"))
    unlisted_dirs = sorted((p for p in view.by_path if p not in wanted_dirs),
                           key=lambda p: -p.count("/"))

    # -------------------------------------------------------- devices
    by_mac: dict[str, list[Device]] = defaultdict(list)
    for dev in actual.devices:
        by_mac[normalise_mac(dev.mac) or dev.mac.upper()].append(dev)
    seen_macs: dict[str, str] = {}
    ring_target = {(r.ring, r.os_major): r.version for r in desired.firmware}
    touched_dirs: set[str] = set()  # directories whose managed assignments change
    device_changes: list[tuple[DesiredDevice, Device | None, list[Change]]] = []

    for want in desired.devices:
        mac = normalise_mac(want.mac)
        label = device_label(want.name, mac or want.mac)
        path = _clean(want.directory)
        if not mac:
            out.append(Change("error", "device", want.mac, label, ring=want.ring,
                              message="MAC is not 12 hexadecimal digits (ITG-0A014); "
                                      "fix it in the inventory"))
            continue
        if mac in seen_macs:
            out.append(Change("error", "device", mac, label, ring=want.ring,
                              message=f"MAC listed twice in the inventory (also {seen_macs[mac]})"))
            continue
        seen_macs[mac] = want.name
        if not 1 <= len(want.name) <= NAME_MAX:
            out.append(Change("error", "device", mac, label, ring=want.ring,
                              message=f"name has {len(want.name)} characters; the UMS takes "
                                      f"1 to {NAME_MAX} (ITG-0A024)"))
            continue
        if any(_below(path, b) for b in blocked):
            out.append(Change("error", "device", mac, label, ring=want.ring,
                              message=f"its directory {view.full(path)} is ambiguous in UMS"))
            continue
        live = [d for d in by_mac.get(mac, []) if not d.moved_to_bin]
        binned = [d for d in by_mac.get(mac, []) if d.moved_to_bin]
        if len(live) > 1:
            out.append(Change("error", "device", mac, label, ring=want.ring,
                              message=f"{len(live)} UMS records with this MAC; delete all but one"))
            continue
        if not live and binned:
            out.append(Change("error", "device", mac, device_label(want.name, mac, binned[0].id),
                              ring=want.ring, message="the device is in the UMS recycle bin "
                              "(ITG-0A018): restore it there, or delete it there to re-create"))
            continue
        mine: list[Change] = []
        current = live[0] if live else None
        if current is None:
            mine.extend(_create(view, want, mac, label, path))
        else:
            label = device_label(want.name, mac, current.id)
            if not view.inside(current.parent_id):
                where = view.absolute_path(current.parent_id)
                if where not in adopt:
                    out.append(Change("report", "device", mac, label, ring=want.ring,
                                      message=f"found outside the managed root, at {where}; "
                                              "not touched (move it below "
                                              f"{desired.root} in the UMS, or adopt {where})"))
                    continue
                mine.append(Change("move", "device", mac, label, ring=want.ring, directory=path,
                                   origin=where, message=f"adopted from {where}"))
            elif view.path_of[current.parent_id] != path:
                mine.append(Change("move", "device", mac, label, ring=want.ring, directory=path,
                                   diff=(("directory", view.full(view.path_of[current.parent_id]),
                                          view.full(path)),)))
            mine.extend(_update(want, current, mac, label))
            mine.extend(_firmware(view, want, current, mac, label, ring_target))
            mine.extend(_model(want, current, mac, label))
        mine.extend(_assignments(view, ("device", mac), want, label,
                                 current.ref if current else None, "device", want.ring,
                                 os_major=want.os_major))
        device_changes.append((want, current, mine))

    # -------------------------------------------------------- directory assignments
    declared = {_clean(d.path): d for d in desired.directories}
    for path in sorted(wanted_dirs):
        want_dir = declared.get(path, DesiredDirectory(path))
        existing = view.by_path.get(path)
        if any(_below(path, b) for b in blocked):
            continue
        changes = _assignments(view, ("directory", path), want_dir, f"directory {view.full(path)}",
                               existing.ref if existing else None, "directory", None)
        if any(c.kind in ("assign", "unassign") for c in changes) and existing is not None:
            touched_dirs.add(path)
        out.extend(changes)
        _inherited_os_reports(view, out, path, want_dir, desired)

    # -------------------------------------------------------- settings2tc for changed devices
    for want, current, mine in device_changes:
        out.extend(mine)
        if current is None:
            continue  # a record made now: no device has contacted the UMS for it yet
        path = _clean(want.directory)
        affected = any(c.kind in ("move", "assign", "unassign", "update") for c in mine) or any(
            _below(path, d) for d in touched_dirs)
        firmware_cmd = any(c.command == "firmware_update" for c in mine)
        if affected and not firmware_cmd:
            out.append(Change("command", "device", normalise_mac(want.mac),
                              device_label(want.name, normalise_mac(want.mac), current.id),
                              ring=want.ring, command="settings2tc",
                              message="send the changed settings now"))

    # -------------------------------------------------------- what the inventory does not name
    for dev in actual.devices:
        mac = normalise_mac(dev.mac) or dev.mac.upper()
        if mac in seen_macs or not view.inside(dev.parent_id):
            continue
        label = dev.label
        if dev.moved_to_bin:
            out.append(Change("report", "device", mac, label,
                              message="in the UMS recycle bin, not in the inventory"))
        elif delete_unlisted:
            out.append(Change("delete", "device", mac, label,
                              message="not in the inventory (delete_unlisted)"))
        else:
            out.append(Change("report", "device", mac, label,
                              message="in UMS but not in the inventory: reported, not deleted"))
    for path in unlisted_dirs:
        d = view.by_path[path]
        label = f"directory {view.full(path)}"
        content = _content_after(view, d.id, delete_unlisted, seen_macs)
        if delete_unlisted and not content:
            out.append(Change("delete_directory", "directory", path, label,
                              message="not in the inventory (delete_unlisted)"))
        else:
            why = f"; not empty ({content})" if delete_unlisted else ""
            out.append(Change("report", "directory", path, label,
                              message=f"in UMS but not in the inventory: reported, not deleted{why}"))
    for receiver, assignees in sorted(_unmanaged(view).items(), key=lambda kv: kv[0].id):
        names = ", ".join(sorted(view.profile_by_ref[a].name for a in assignees
                                 if a in view.profile_by_ref))
        if names:
            out.append(Change("report", "directory" if receiver.type == "tcdirectory" else "device",
                              receiver.id, _receiver_label(view, receiver),
                              message=f"also has profiles the inventory does not name: {names}"))
    return Plan(desired.root, tuple(_ordered(out)))


def _create(view: _View, want: DesiredDevice, mac: str, label: str, path: str) -> list[Change]:
    fw, problem = match_firmware(want.firmware, view.actual.firmwares)
    if fw is None:
        return [Change("error", "device", mac, label, ring=want.ring, message=problem)]
    if _major(fw.version) not in (None, want.os_major):
        return [Change("error", "device", mac, label, ring=want.ring,
                       message=f"firmware {fw.version} is not IGEL OS {want.os_major}")]
    fields = [("name", None, want.name)]
    if want.serial:
        fields.append(("serial_number", None, want.serial))
    fields.extend((k, None, v) for k, v in want.fields)
    fields.extend((f"attribute {k}", None, v) for k, v in want.device_attributes)
    return [Change("create", "device", mac, label, ring=want.ring, directory=path,
                   firmware_id=fw.id, diff=tuple(fields), message=f"firmware {fw.version}")]


def _update(want: DesiredDevice, current: Device, mac: str, label: str) -> list[Change]:
    target: dict[str, str] = {"name": want.name}
    if want.serial is not None:
        target["serial_number"] = want.serial
    for k, v in want.fields:
        if k not in MANAGED_FIELDS:
            return [Change("error", "device", mac, label, ring=want.ring,
                           message=f"field {k!r} is not one of {', '.join(MANAGED_FIELDS)}")]
        target[k] = v
    diff = []
    for k, v in target.items():
        before = getattr(current, k)
        if (before or "") != (v or ""):
            diff.append((k, before, v))
    have_attrs = dict(current.device_attributes or ())
    for k, v in want.device_attributes:
        if have_attrs.get(k) != v:
            diff.append((f"attribute {k}", have_attrs.get(k), v))
    if not diff:
        return []
    return [Change("update", "device", mac, label, ring=want.ring, diff=tuple(diff))]


def _model(want: DesiredDevice, current: Device, mac: str, label: str) -> list[Change]:
    """The UMS reports the hardware (deviceType, e.g. 'IGEL M340C'); the inventory's model
    ('UD3-M340C') is only compared, never written. Unknown on either side: nothing to say."""
    reported = str(current.details.get("deviceType") or "").strip()
    if not want.model or not reported:
        return []
    if want.model.rsplit("-", 1)[-1].upper() in reported.upper():
        return []
    return [Change("report", "device", mac, label, ring=want.ring,
                   diff=(("model", want.model, reported),),
                   message="the UMS reports other hardware than the inventory")]


def _firmware(view: _View, want: DesiredDevice, current: Device, mac: str, label: str,
              ring_target: Mapping[tuple[str, int], str]) -> list[Change]:
    out: list[Change] = []
    fw = view.firmware.get(current.firmware_id)
    running = fw.version if fw else None
    if running is not None and _major(running) not in (None, want.os_major):
        out.append(Change("error", "device", mac, label, ring=want.ring,
                          message=f"the inventory says IGEL OS {want.os_major}, the UMS reports "
                                  f"firmware {running}: fix the inventory's firmware"))
        return out
    if running is not None and not _version_matches(want.firmware, running):
        out.append(Change("report", "device", mac, label, ring=want.ring,
                          diff=(("firmware", want.firmware, running),),
                          message="the UMS reports another firmware than the inventory"))
    target = ring_target.get((want.ring or "", want.os_major))
    if target and running is not None and not _version_matches(target, running):
        out.append(Change("command", "device", mac, label, ring=want.ring,
                          command="firmware_update", diff=(("firmware", running, target),),
                          message="settings2tc, then reboot: the device takes the firmware of "
                                  "its ring directory"))
    return out


def _assignments(view: _View, key: tuple[str, str], want: DesiredDevice | DesiredDirectory,
                 label: str, receiver: ApiObject | None, target: Literal["device", "directory"],
                 ring: str | None, os_major: int | None = None) -> list[Change]:
    out: list[Change] = []
    have_all = view.assigned.get(receiver, []) if receiver is not None else []
    for priority, names in ((True, want.priority_profiles), (False, want.profiles)):
        resolved: list[ApiObject] = []
        for name in names:
            found = [p for p in view.profiles.get((name, priority), []) if not p.moved_to_bin]
            binned = [p for p in view.profiles.get((name, priority), []) if p.moved_to_bin]
            kind = "priority profile" if priority else "profile"
            if len(found) != 1:
                why = (f"{len(found)} {kind}s of this name in UMS; rename all but one" if found
                       else f"{kind} {name!r} is in the UMS recycle bin; restore it" if binned
                       else f"{kind} {name!r} is not in UMS; import its file (templates/igel) "
                            "in the UMS console first")
                out.append(Change("error", target, key[1], label, ring=ring, profile=name,
                                  priority=priority, message=why))
                continue
            prof = found[0]
            pmajor = view.os_of_profile(prof)
            if os_major is not None and pmajor is not None and pmajor != os_major:
                out.append(Change("error", target, key[1], label, ring=ring, profile=name,
                                  priority=priority,
                                  message=f"{kind} for IGEL OS {pmajor}, the device runs IGEL OS "
                                          f"{os_major}: never assigned"))
                continue
            resolved.append(prof.ref)
        have = [a for a in have_all if (a.type == "masterprofile") == priority]
        known = view.actual.order.get(receiver) if receiver is not None else None
        if known is not None:
            have = [a for a in known if a in view.managed_refs
                    and (a.type == "masterprofile") == priority]
            keep = 0
            while keep < min(len(have), len(resolved)) and have[keep] == resolved[keep]:
                keep += 1
            drop, add = have[keep:], resolved[keep:]
        else:
            drop = [a for a in have if a not in resolved]
            add = [a for a in resolved if a not in have]
        for a in drop:
            out.append(Change("unassign", target, key[1], label, ring=ring,
                              profile=view.profile_by_ref[a].name, priority=priority))
        for a in add:
            out.append(Change("assign", target, key[1], label, ring=ring,
                              profile=view.profile_by_ref[a].name, priority=priority))
    return out


def _inherited_os_reports(view: _View, out: list[Change], path: str, want: DesiredDirectory,
                          desired: DesiredState) -> None:
    """The UMS silently ignores an inherited profile for the other IGEL OS: say so."""
    for priority, names in ((True, want.priority_profiles), (False, want.profiles)):
        for name in names:
            found = [p for p in view.profiles.get((name, priority), []) if not p.moved_to_bin]
            if len(found) != 1:
                continue
            pmajor = view.os_of_profile(found[0])
            ignoring = sorted(d.name for d in desired.devices
                              if _below(_clean(d.directory), path) and pmajor is not None
                              and d.os_major != pmajor)
            if ignoring:
                shown = ", ".join(ignoring[:5]) + (f" and {len(ignoring) - 5} more"
                                                   if len(ignoring) > 5 else "")
                out.append(Change("report", "directory", path, f"directory {view.full(path)}",
                                  profile=name, priority=priority,
                                  message=f"IGEL OS {pmajor} profile; these devices run another "
                                          f"IGEL OS and ignore it: {shown}"))


def _unmanaged(view: _View) -> dict[ApiObject, list[ApiObject]]:
    """Unmanaged profiles are not read (their assignments cost calls); nothing to report here
    unless the receiver-side order lists showed some."""
    out: dict[ApiObject, list[ApiObject]] = {}
    for receiver, assignees in view.actual.order.items():
        extra = [a for a in assignees if a not in view.managed_refs]
        inside = (receiver.type == "tcdirectory" and view.inside(receiver.id)) or (
            receiver.type == "tc" and any(d.id == receiver.id and view.inside(d.parent_id)
                                          for d in view.actual.devices))
        if extra and inside:
            out[receiver] = extra
    return out


def _content_after(view: _View, dir_id: str, deleting: bool, listed: Mapping[str, str]) -> str:
    """What stays in a directory after the plan (empty string: nothing)."""
    devices = [d for d in view.actual.devices if d.parent_id == dir_id
               and (d.moved_to_bin or not deleting or normalise_mac(d.mac) in listed)]
    dirs = [d for d in view.actual.directories if d.parent_id == dir_id and d.moved_to_bin]
    parts = []
    if devices:
        parts.append(f"{len(devices)} device(s)")
    if dirs:
        parts.append(f"{len(dirs)} directory(ies) in the recycle bin")
    return ", ".join(parts)


def _receiver_label(view: _View, receiver: ApiObject) -> str:
    if receiver.type == "tcdirectory":
        return f"directory {view.full(view.path_of.get(receiver.id, receiver.id))}"
    for d in view.actual.devices:
        if d.id == receiver.id:
            return d.label
    return f"device id {receiver.id}"


def _ordered(changes: Iterable[Change]) -> list[Change]:
    def key(c: Change) -> tuple:
        depth = c.key.count("/") if c.key else -1
        if c.kind == "delete_directory":
            depth = -depth
        return (PHASES[c.kind], COMMAND_ORDER.get(c.command or "", 0),
                depth if c.target == "directory" else 0, c.key)

    return sorted(changes, key=key)


# ================================================================ firmware versions


def _numbers(version: str) -> tuple[int, ...] | None:
    parts = str(version).strip().split(".")
    if not parts or not all(p.isdigit() for p in parts):
        return None
    return tuple(int(p) for p in parts)


def _major(version: str) -> int | None:
    n = _numbers(version)
    if n:
        return n[0]
    head = str(version).split(".", 1)[0]
    return int(head) if head.isdigit() else None


def _version_matches(wanted: str, reported: str) -> bool:
    """'11.10.150' matches '11.10.150.01' (the UMS lists a build suffix); '12.5.1' '12.05.01'."""
    w, r = _numbers(wanted), _numbers(reported)
    if w is None or r is None:
        return wanted.strip() == reported.strip()
    return r[: len(w)] == w


def match_firmware(version: str, firmwares: Sequence[Firmware]) -> tuple[Firmware | None, str]:
    """The UMS firmware for an inventory version, or None and why (naming what the UMS has)."""
    exact = [f for f in firmwares if f.version.strip() == version.strip()]
    if len(exact) == 1:
        return exact[0], ""
    close = [f for f in firmwares if _version_matches(version, f.version)]
    if len(close) == 1:
        return close[0], ""
    known = ", ".join(sorted({f.version for f in firmwares})) or "none"
    if close:
        return None, (f"firmware {version} matches {len(close)} UMS firmwares "
                      f"({', '.join(sorted(f.version for f in close))}); give the full version")
    return None, (f"firmware {version} is not known to the UMS (it knows: {known}); import it "
                  "into the UMS or fix the inventory (ITG-0A015)")


# ================================================================ paths


def _clean(path: str) -> str:
    return "/".join(p for p in str(path).strip().split("/") if p)


def _join(a: str, b: str) -> str:
    return f"{a}/{b}" if a and b else (a or b)


def _below(path: str, ancestor: str) -> bool:
    return path == ancestor or (ancestor == "") or path.startswith(ancestor + "/")


# ================================================================ execution


@dataclass(frozen=True)
class ItemResult:
    change: Change
    ok: bool
    message: str = ""
    skipped: bool = False


@dataclass
class ExecutionReport:
    results: list[ItemResult] = field(default_factory=list)
    aborted: str | None = None

    @property
    def ok(self) -> bool:
        return self.aborted is None and all(r.ok for r in self.results)

    def failed(self, ring: str | None = ...) -> list[ItemResult]:  # type: ignore[assignment]
        return [r for r in self.results if not r.ok
                and (ring is ... or r.change.ring == ring)]

    def failed_devices(self, ring: str | None = ...) -> set[str]:  # type: ignore[assignment]
        """MACs of the devices with at least one failed or skipped change (for ring thresholds)."""
        return {r.change.key for r in self.failed(ring) if r.change.target == "device"}


#: errors after which no further request can succeed: stop, mark the rest not attempted
_FATAL = (errors.UmsConnectionError, errors.UmsAuthError, errors.UmsLicenceError)


def execute(changes: Sequence[Change], client: ImiClient, actual: ActualState,
            desired_root: str) -> ExecutionReport:
    """Apply `changes` in one go; see `Executor` to apply a plan in several steps (rings)."""
    return Executor(client, actual, desired_root).execute(changes)


class Executor:
    """Applies changes of one plan, in one or several calls (e.g. directories first, then ring
    by ring), remembering the ids of what earlier calls made.

    Each call applies its changes in plan order and returns one result per change. A change
    whose device or directory could not be made is skipped with the reason. Only objects below
    the managed root -- found there, made by this executor, or adopted by a planned move -- are
    changed. After a connection, login or licence error nothing more is attempted.
    """

    def __init__(self, client: ImiClient, actual: ActualState, desired_root: str) -> None:
        self._state = _Executor(client, actual, desired_root)

    def execute(self, changes: Sequence[Change]) -> ExecutionReport:
        report = ExecutionReport()
        ex = self._state
        ex.report = report
        todo = [c for c in changes if c.kind not in ("report", "error")]
        groups: list[list[Change]] = []
        ordered = sorted(todo, key=lambda c: (PHASES[c.kind], COMMAND_ORDER.get(c.command or "", 0)))
        for c in ordered:
            if groups and _batchable(groups[-1][0], c):
                groups[-1].append(c)
            else:
                groups.append([c])
        for i, group in enumerate(groups):
            try:
                ex.run(group)
            except _FATAL as exc:
                report.aborted = str(exc)
                done = {id(r.change) for r in report.results}
                for rest in groups[i:]:
                    for c in rest:
                        if id(c) not in done:
                            report.results.append(ItemResult(c, False, f"not attempted: {exc}",
                                                             skipped=True))
                break
        return report


def _batchable(a: Change, b: Change) -> bool:
    if a.kind != b.kind:
        return False
    if a.kind == "move":
        return a.directory == b.directory
    if a.kind == "command":
        return a.command == b.command
    return False


class _Executor:
    def __init__(self, client: ImiClient, actual: ActualState, root: str) -> None:
        self.client = client
        self.report = ExecutionReport()
        desired = DesiredState(root, ())
        self.view = _View(desired, actual)
        self.dir_ids: dict[str, str] = {p: d.id for p, d in self.view.by_path.items()}
        self.device_ids: dict[str, str] = {}
        self.outside: dict[str, str] = {}  # MAC -> id of devices outside the root (adoptable)
        for d in actual.devices:
            if d.moved_to_bin:
                continue
            mac = normalise_mac(d.mac)
            if self.view.inside(d.parent_id):
                self.device_ids[mac] = d.id
            else:
                self.outside[mac] = d.id
        self.failed_keys: set[tuple[str, str]] = set()
        self.profiles = {(p.name, p.is_master): p for p in actual.profiles if not p.moved_to_bin}

    def done(self, c: Change, ok: bool, message: str = "", skipped: bool = False) -> None:
        self.report.results.append(ItemResult(c, ok, message, skipped))
        if not ok:
            self.failed_keys.add((c.target, c.key))

    def blocked(self, c: Change) -> str | None:
        if c.target == "directory":
            for t, k in self.failed_keys:
                if t == "directory" and c.kind == "create_directory" and _below(c.key, k):
                    return f"skipped: directory {k!r} could not be made"
            return None
        if ("device", c.key) in self.failed_keys and c.kind != "create":
            return "skipped: an earlier change of this device failed"
        if c.directory is not None:
            for t, k in self.failed_keys:
                if t == "directory" and _below(c.directory, k):
                    return f"skipped: directory {k!r} could not be made"
        return None

    def run(self, group: list[Change]) -> None:
        first = group[0]
        if first.kind == "move":
            return self._moves(group)
        if first.kind == "command":
            return self._commands(group)
        for c in group:
            why = self.blocked(c)
            if why:
                self.done(c, False, why, skipped=True)
                continue
            try:
                getattr(self, f"_{c.kind}")(c)
            except errors.UmsError as exc:
                if isinstance(exc, _FATAL):
                    raise
                self.done(c, False, str(exc))

    # -- one change each

    def _create_directory(self, c: Change) -> None:
        name = c.key.rpartition("/")[2] if c.key else self.view.desired.root
        new = self.client.create_directory(name)
        if c.key:
            parent = self.dir_ids.get(c.key.rpartition("/")[0])
            if parent is None:
                self.done(c, False, "parent directory unknown")
                return
            moved = self.client.move(parent, [ApiObject(new, "tcdirectory")], c.subject)
            if not moved[0].ok:
                self.client.delete_directory(new)  # leave nothing half-made at the top
                self.done(c, False, f"made, but the move below its parent failed: "
                                    f"{moved[0].result}; removed again")
                return
        self.dir_ids[c.key] = new
        self.view.path_of[new] = c.key
        self.done(c, True, f"id {new}")

    def _create(self, c: Change) -> None:
        fields = {k: v for k, _, v in c.diff if not k.startswith("attribute ")}
        attrs = {k[len("attribute "):]: v for k, _, v in c.diff if k.startswith("attribute ")}
        name = fields.pop("name", None)
        parent = self.dir_ids.get(c.directory or "")
        if parent is None:
            self.done(c, False, f"directory {c.directory!r} unknown")
            return
        new = self.client.create_device(c.key, c.firmware_id or "", name=name, parent_id=parent,
                                        attributes=fields, device_attributes=attrs or None)
        self.device_ids[c.key] = new
        self.done(c, True, f"id {new}")

    def _update(self, c: Change) -> None:
        tc = self._device(c)
        fields = {k: v for k, _, v in c.diff if not k.startswith("attribute ")}
        attrs = {k[len("attribute "):]: v for k, _, v in c.diff if k.startswith("attribute ")}
        self.client.update_device(tc, fields, attrs or None)
        self.done(c, True)

    def _assign(self, c: Change) -> None:
        profile = self._profile(c)
        receiver = self._receiver(c)
        self.client.assign(profile, [receiver], c.subject)
        self.done(c, True)

    def _unassign(self, c: Change) -> None:
        self.client.unassign(self._profile(c), self._receiver(c), c.subject)
        self.done(c, True)

    def _delete(self, c: Change) -> None:
        self.client.delete_device(self._device(c))
        self.done(c, True)

    def _delete_directory(self, c: Change) -> None:
        dir_id = self.dir_ids.get(c.key)
        if dir_id is None or c.key == "":
            raise errors.UmsError("directory delete", subject=c.subject,
                                  ums_message="not a directory below the managed root")
        self.client.delete_directory(dir_id, c.subject)
        self.done(c, True)

    # -- batches

    def _moves(self, group: list[Change]) -> None:
        ready: list[tuple[Change, str]] = []
        for c in group:
            why = self.blocked(c)
            if why:
                self.done(c, False, why, skipped=True)
                continue
            mac = c.key
            tc = self.device_ids.get(mac) or (self.outside.get(mac) if c.origin else None)
            if tc is None:
                self.done(c, False, "device not found below the managed root")
                continue
            ready.append((c, tc))
        if not ready:
            return
        dest = self.dir_ids.get(group[0].directory or "")
        if dest is None:
            for c, _ in ready:
                self.done(c, False, f"directory {group[0].directory!r} unknown", skipped=True)
            return
        try:
            results = self.client.move(dest, [ApiObject(tc, "tc") for _, tc in ready],
                                       f"directory {group[0].directory}")
        except errors.UmsError as exc:
            if isinstance(exc, _FATAL):
                raise
            for c, _ in ready:
                self.done(c, False, str(exc))
            return
        for (c, tc), r in zip(ready, results):
            if r.ok:
                self.device_ids[c.key] = tc
                self.done(c, True)
            else:
                self.done(c, False, f"move answered {r.result!r}")

    def _commands(self, group: list[Change]) -> None:
        ready: list[tuple[Change, str]] = []
        for c in group:
            why = self.blocked(c)
            tc = self.device_ids.get(c.key)
            if why or tc is None:
                self.done(c, False, why or "device not found below the managed root",
                          skipped=bool(why))
                continue
            ready.append((c, tc))
        if not ready:
            return
        ids = [tc for _, tc in ready]
        steps = ["settings2tc", "reboot"] if group[0].command == "firmware_update" else [
            group[0].command or "settings2tc"]
        outcome = {tc: "" for tc in ids}
        for step in steps:
            alive = [tc for tc in ids if not outcome[tc]]
            if not alive:
                break
            try:
                for r in self.client.send_command(step, alive):
                    if not r.ok:
                        outcome[r.id] = f"{step}: {r.state} {r.message}".strip()
            except errors.UmsError as exc:
                if isinstance(exc, _FATAL):
                    raise
                for tc in alive:
                    outcome[tc] = f"{step}: {exc}"
        for c, tc in ready:
            self.done(c, not outcome[tc], outcome[tc])

    # -- resolving

    def _device(self, c: Change) -> str:
        tc = self.device_ids.get(c.key)
        if tc is None:
            raise errors.UmsError(c.kind, subject=c.subject,
                                  ums_message="device not found below the managed root",
                                  fix="run plan again")
        return tc

    def _receiver(self, c: Change) -> ApiObject:
        if c.target == "device":
            return ApiObject(self._device(c), "tc")
        dir_id = self.dir_ids.get(c.key)
        if dir_id is None:
            raise errors.UmsError(c.kind, subject=c.subject,
                                  ums_message="directory not found below the managed root",
                                  fix="run plan again")
        return ApiObject(dir_id, "tcdirectory")

    def _profile(self, c: Change) -> ApiObject:
        prof = self.profiles.get((c.profile or "", c.priority))
        if prof is None:
            raise errors.UmsError(c.kind, subject=c.subject,
                                  ums_message=f"profile {c.profile!r} not in UMS",
                                  fix="import it in the UMS console, then run plan again")
        return prof.ref
