"""The IGEL role as a plan target: the inventory's IGEL devices reconciled with the UMS.

`telework plan` and `apply` see IGEL devices as targets beside the SSH hosts
(`telework.plan.targets.Reconciler`): one target per device, plus one per rollout ring for its
UMS directory (`ums-<ring>`: the directory `<root>/<ring>` and the site directories below it,
with the ring's profile assignments). A ring's directory changes run with that ring, so a
profile assigned to the `all` directory reaches nobody before the `all` ring's turn; the first
ring's target also holds the managed root itself and what the plan found but will not change.

The UMS is read once per plan with a fixed number of list calls (`reconcile.read_actual`), the
diff is pure (`reconcile.plan_changes`), and an apply executes the planned changes of one ring
at a time through one `reconcile.Executor`, so ids made in the pilot ring are known later.
A target fails when one of its changes fails (a partial move failure fails the device), and the
ring's failure threshold decides whether the rollout goes on.
"""

from __future__ import annotations

from pathlib import Path

from telework.core.problems import SecretError, TeleworkError
from telework.engine.group_data import group_data_dirs, load_group_data
from telework.inventory.model import DeviceStatus, IgelDevice, Ums
from telework.plan.records import Change, HostPlan, HostResult
from telework.plan.targets import Entry, ReconcileContext, Reconciler, item_change
from telework.roles.igel import errors, reconcile
from telework.roles.igel.imi import ImiClient, normalise_mac

ROLE = "igel"
GROUP = "igel_devices"
DIRECTORY_GROUP = "ums_directories"
OP_PREFIX = "igel"


class UmsConfigError(TeleworkError):
    """The inventory's `ums:` section cannot be used: says where and how to fix it."""


def directory_target(ring: str) -> str:
    """Name of the target holding ring `ring`'s UMS directory."""
    return f"ums-{ring}"


def device_directory(device: IgelDevice) -> str:
    """The device's directory below the managed root: `<ring>/<ums_directory or site>`."""
    below = reconcile._clean(device.ums_directory or device.site)
    return f"{device.ring}/{below}" if below else device.ring


def os_major(device: IgelDevice) -> int:
    head = device.firmware.split(".", 1)[0]
    return int(head) if head.isdigit() else 0


def desired_state(ums: Ums, devices: list[IgelDevice], rings: list[str]) -> reconcile.DesiredState:
    """The inventory as the reconciler wants it: devices (not retired) in their ring/site
    directories; the OS 12 and the OS 11 profiles on each ring directory, where each device
    applies those of its own IGEL OS and ignores the others (IGEL's rule for inherited
    profiles), so no device carries a profile of its own and a no-change plan reads no device
    one by one; the firmware of each ring."""
    wanted = []
    for d in devices:
        if d.status is DeviceStatus.retired:
            continue
        major = os_major(d)
        wanted.append(reconcile.DesiredDevice(
            name=d.name, mac=d.mac, serial=d.serial, model=d.model, firmware=d.firmware,
            os_major=major, ring=d.ring, directory=device_directory(d),
            fields=(("site", d.site),),
        ))
    used = [r for r in rings if any(w.ring == r for w in wanted)]
    directories = tuple(reconcile.DesiredDirectory(r, profiles=(*ums.os12_profiles, *ums.os11_profiles))
                        for r in used)
    firmware = tuple(reconcile.RingFirmware(ring, reconcile._major(v) or 0, v)
                     for ring, versions in sorted(ums.ring_firmware.items()) for v in versions)
    owned = tuple((p, False) for p in (*ums.os12_profiles, *ums.os11_profiles))
    return reconcile.DesiredState(ums.root, tuple(wanted), directories, firmware, owned)


class IgelTargets(Reconciler):
    """IGEL devices and ring directories of one inventory, reconciled with its UMS."""

    def __init__(self, loaded, context: ReconcileContext, *, client_factory=None):
        super().__init__(context)
        self.loaded = loaded
        self.model = loaded.model
        self.inventory_dir = Path(loaded.root)
        self.ums: Ums | None = self.model.ums
        self.rings = [r.name for r in sorted(self.model.rollout_rings, key=lambda r: (r.order, r.name))]
        self.devices = [d for d in self.model.igel_devices if d.status is not DeviceStatus.retired]
        self.by_mac = {normalise_mac(d.mac): d for d in self.devices}
        self._client_factory = client_factory or self._client
        self.client: ImiClient | None = None
        self.selected: list[str] = []
        self.actual: reconcile.ActualState | None = None
        self.planned: reconcile.Plan | None = None
        self.executor: reconcile.Executor | None = None
        self.error: str | None = None
        self._unreachable = False
        self._by_target: dict[str, list[reconcile.Change]] = {}
        self._made_by: dict[str, str] = {}
        self._chosen: set[str] = set()
        if self.ums is not None:
            try:
                self._check_config()
            except UmsConfigError as exc:  # the IGEL targets fail; a plan of other hosts goes on
                self.error = str(exc)

    # ---------------------------------------------------------------- configuration

    def _where(self, *path) -> str:
        try:
            file, line = self.loaded.source.locate(("ums", *path))
        except Exception:  # noqa: BLE001 - a cached inventory may lack the YAML nodes
            file, line = None, None
        return f"{file}:{line}" if file and line else f"{file or 'the inventory'} (section ums)"

    def _check_config(self) -> None:
        ums = self.ums
        assert ums is not None
        for ring, versions in ums.ring_firmware.items():
            if ring not in self.rings:
                raise UmsConfigError(f"{self._where('ring_firmware', ring)}: ring {ring!r} is not one of "
                                     f"the rollout_rings ({', '.join(self.rings)}); fix the ring name")
            majors = [reconcile._major(v) for v in versions]
            if None in majors or len(set(majors)) != len(majors):
                raise UmsConfigError(f"{self._where('ring_firmware', ring)}: give at most one IGEL OS "
                                     f"version per major (e.g. [12.6.0, 11.10.150]), not {versions}")
        both = set(ums.os12_profiles) & set(ums.os11_profiles)
        if both:
            raise UmsConfigError(f"{self._where('os11_profiles')}: {', '.join(sorted(both))} cannot be "
                                 "an IGEL OS 11 and an OS 12 profile at once; fix the name")

    def _client(self) -> ImiClient:
        ums = self.ums
        assert ums is not None
        ca = self.inventory_dir / ums.ca_file
        if not ca.is_file():
            raise UmsConfigError(f"{self._where('ca_file')}: {ca} does not exist; put the PEM certificate "
                                 "of the CA that issued the UMS's TLS certificate there (`telework pki "
                                 "init` makes the organisation's own CA; telework never switches "
                                 "verification off)")
        password = self.context.secret(ums.password_secret)
        url = ((self.context.overlay or {}).get("ums") or {}).get("url") or ums.url
        defaults = load_group_data(group_data_dirs(self.inventory_dir)).get(GROUP, {})
        return ImiClient(url, ums.user, password, ca_file=ca, command_rate=ums.command_rate,
                         command_batch=ums.command_batch,
                         timeout=float(defaults.get("igel_imi_timeout", 30.0)))

    # ---------------------------------------------------------------- TargetSet

    def entries(self) -> list[Entry]:
        out: list[Entry] = []
        for ring in self._used_rings():
            out.append((directory_target(ring), {"telework_ring": ring},
                        [GROUP, DIRECTORY_GROUP, f"ring_{ring}"]))
        for d in self.devices:
            out.append((d.name, {"telework_ring": d.ring}, [GROUP, f"site_{d.site}", f"ring_{d.ring}"]))
        return out

    def open(self, selected: list[str]) -> None:
        self.selected = selected
        self._chosen = set(selected)
        if self.ums is None or self.error is not None:
            return
        desired = desired_state(self.ums, self.devices, self.rings)
        try:
            self.client = self._client_factory()
            self.actual = reconcile.read_actual(self.client, desired)
        except (UmsConfigError, SecretError) as exc:  # the SSH hosts of the plan still count
            self.error = self.context.redactor.redact(str(exc))
            return
        except errors.UmsError as exc:
            self.error = self.context.redactor.redact(str(exc))
            self._unreachable = isinstance(exc, (errors.UmsConnectionError, errors.UmsAuthError,
                                                 errors.UmsLicenceError))
            return
        self.planned = reconcile.plan_changes(desired, self.actual, delete_unlisted=self.ums.delete_unlisted,
                                              adopt_from=self.ums.adopt_from)
        self.executor = reconcile.Executor(self.client, self.actual, self.ums.root)
        for c in self.planned.changes:
            self._by_target.setdefault(self._target_of(c), []).append(c)
        self._made_by = {c.key: target for target, items in self._by_target.items()
                         for c in items if c.kind == "create_directory"}

    def _used_rings(self) -> list[str]:
        return [r for r in self.rings if any(d.ring == r for d in self.devices)]

    def _target_of(self, c: reconcile.Change) -> str:
        """Device changes go to the device; directory changes to their ring's target; the root
        and what the inventory does not name to the first ring's target."""
        used = self._used_rings()
        first = directory_target(used[0]) if used else directory_target("all")
        if c.target == "device":
            device = self.by_mac.get(normalise_mac(c.key) or c.key)
            return device.name if device else first
        ring = c.key.split("/", 1)[0] if c.key else ""
        return directory_target(ring) if ring in used else first

    def plan(self) -> list[HostPlan]:
        groups = {name: g for name, _data, g in self.entries()}
        rings = {name: data.get("telework_ring") for name, data, _g in self.entries()}
        out = []
        for name in self.selected:
            hp = HostPlan(name=name, status="unchanged", groups=list(groups.get(name, [])),
                          ring=rings.get(name), kind="api")
            if self.ums is None:
                hp.status = "unmanaged"
                hp.error = ("the inventory has no `ums:` section, so telework does not know the UMS "
                            "these IGEL devices are managed in (add it: url, ca_file, user, root)")
            elif self.error is not None:
                hp.status = "unreachable" if self._unreachable else "failed"
                hp.error = self.error
            else:
                self._fill(hp, self._by_target.get(name, []))
            out.append(hp)
        return out

    def _fill(self, hp: HostPlan, changes: list[reconcile.Change]) -> None:
        redact = self.context.redactor.redact
        problems = []
        for c in changes:
            if c.kind == "report":
                if self._intended_mix(c):
                    continue
                hp.notes.append(redact(c.describe().removeprefix("report ")))
            elif c.kind == "error":
                problems.append(redact(c.describe()))
            else:
                hp.changes.append(self._record(c))
        missing = self._missing_directories(hp.name, changes)
        if missing:
            problems.append(missing)
        if problems:
            hp.status, hp.error = "failed", "; ".join(problems)
        elif hp.changes:
            hp.status = "changed"

    def _intended_mix(self, c: reconcile.Change) -> bool:
        """The ring directories carry both IGEL OS's profiles on purpose: that the devices of
        the other OS ignore one is how the inventory wants it, not news for every plan."""
        ums = self.ums
        return (c.target == "directory" and c.profile is not None and ums is not None
                and "ignore it" in c.message and c.profile in (*ums.os12_profiles, *ums.os11_profiles))

    def _missing_directories(self, name: str, changes: list[reconcile.Change]) -> str | None:
        """A device whose directory another, unselected target makes cannot be applied alone."""
        made_by = self._made_by
        chosen = self._chosen
        for c in changes:
            if c.directory is None or c.kind not in ("create", "move"):
                continue
            path = reconcile._clean(c.directory)
            while True:
                owner = made_by.get(path)
                if owner and owner != name and owner not in chosen:
                    return (f"its directory {path or '(managed root)'} does not exist in the UMS yet: "
                            f"select {owner} too (--limit {owner},{name})")
                if not path:
                    break
                path = path.rpartition("/")[0]
        return None

    def _record(self, c: reconcile.Change) -> Change:
        head = {"create_directory": "create", "delete_directory": "delete"}.get(c.kind, c.kind)
        op = f"{OP_PREFIX} | {head} {c.subject}"
        if c.profile:
            op += f": {'priority profile' if c.priority else 'profile'} {c.profile}"
        if c.command:
            op += f": {c.command}"
        if c.kind in ("create", "move") and c.directory is not None:
            op += f" in {reconcile._join(self.ums.root if self.ums else '', c.directory)}"
        before = {k: b for k, b, _a in c.diff if b is not None}
        after = {k: a for k, _b, a in c.diff if a is not None}
        identity = [c.kind, c.target, c.key, c.directory or "", c.profile or "", str(c.priority),
                    c.command or "", c.firmware_id or "", c.origin or "",
                    *(f"{k}={b!r}->{a!r}" for k, b, a in c.diff)]
        change = item_change(op, c.kind, before, after, context=self.context, identity=identity)
        if c.message:
            change.messages.append(self.context.redactor.redact(c.message))
        return change

    def execute(self, names: list[str]) -> dict[str, HostResult]:
        results: dict[str, HostResult] = {}
        todo: list[reconcile.Change] = []
        for name in names:
            todo.extend(c for c in self._by_target.get(name, []) if c.kind not in ("report", "error"))
        report = self.executor.execute(todo) if (todo and self.executor) else reconcile.ExecutionReport()
        by_change = {id(r.change): r for r in report.results}
        redact = self.context.redactor.redact
        for name in names:
            mine = [c for c in self._by_target.get(name, []) if c.kind not in ("report", "error")]
            if not mine:
                results[name] = HostResult(name, "unchanged")
                continue
            done, failed = [], []
            for c in mine:
                r = by_change.get(id(c))
                label = self._record(c).op
                if r is not None and r.ok:
                    done.append(label)
                else:
                    failed.append((label, r.message if r is not None else (report.aborted or "not attempted")))
            if failed:
                results[name] = HostResult(name, "failed", [redact(d) for d in done],
                                           error=redact("; ".join(f"{op}: {why}" for op, why in failed)),
                                           failed_ops=[op for op, _ in failed])
            else:
                results[name] = HostResult(name, "changed", [redact(d) for d in done])
        return results

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None


def reconciler(loaded, context: ReconcileContext) -> IgelTargets:
    """The registry's factory (telework.roles.registry: igel)."""
    return IgelTargets(loaded, context)
