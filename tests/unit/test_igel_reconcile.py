"""Reconciling the inventory's IGEL devices with the (fake) UMS: plan, execute, plan again.

The desired state is built from the sample inventory (103 devices, IGEL OS 11 and 12 mixed):
one directory per ring and site below the managed root, an OS 12 profile on every ring
directory, the OS 11 profile on each OS 11 device, firmware targets per ring.
"""

from __future__ import annotations

import copy
import itertools
from pathlib import Path

import pytest
import yaml

from telework.apply.rings import Ring
from telework.roles.igel.clock import FakeClock
from telework.roles.igel.fake_ums import FakeUms
from telework.roles.igel.imi import ImiClient, normalise_mac
from telework.roles.igel.reconcile import (
    DesiredDevice,
    DesiredDirectory,
    DesiredState,
    Executor,
    RingFirmware,
    execute,
    plan_changes,
    read_actual,
)
from telework.roles.igel.testing import make_tls

from ..conftest import SAMPLE

ROOT = "telework"
RINGS = ("pilot", "early", "all")
MUTATING = ("PUT", "POST", "DELETE")


def sample_devices() -> list[dict]:
    return yaml.safe_load((SAMPLE / "endpoints" / "igel.yml").read_text())["igel_devices"]


def desired_from(devices: list[dict], *, targets: bool = True) -> DesiredState:
    wanted = []
    for d in devices:
        major = int(d["firmware"].split(".")[0])
        wanted.append(DesiredDevice(
            name=d["name"], mac=d["mac"], serial=d["serial"], model=d.get("model"),
            firmware=d["firmware"], os_major=major, ring=d["ring"],
            directory=f"{d['ring']}/{d['site']}",
            profiles=("tw-vpn-os11",) if major == 11 else (),
            fields=(("site", d["site"]),),
        ))
    dirs = tuple(DesiredDirectory(r, profiles=("tw-vpn-os12",), priority_profiles=("tw-lock",))
                 for r in RINGS)
    firmware = (RingFirmware("pilot", 12, "12.6.0"), RingFirmware("early", 12, "12.6.0"),
                RingFirmware("all", 12, "12.5.1")) if targets else ()
    return DesiredState(ROOT, tuple(wanted), dirs, firmware)


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    return make_tls(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def fake(clock) -> FakeUms:
    fake = FakeUms(clock)
    fake.add_user("imi", "pw")
    fake.fw = {v: fake.add_firmware(v) for v in ("11.10.150.01", "12.5.1", "12.6.0")}
    fake.add_profile("tw-vpn-os12", fake.fw["12.5.1"])
    fake.add_profile("tw-vpn-os11", fake.fw["11.10.150.01"])
    fake.add_profile("tw-lock", fake.fw["12.5.1"], master=True)
    fake.add_profile("someone-elses", fake.fw["12.5.1"])
    return fake


@pytest.fixture
def client(fake, tls, clock):
    with (fake.serve(tls.cert, tls.key) as running,
          ImiClient(running.url, "imi", "pw", ca_file=tls.ca, clock=clock,
                    command_rate=20.0, command_batch=25) as c):
        yield c


def snapshot(fake: FakeUms) -> dict:
    return copy.deepcopy({k: fake.s[k] for k in ("devices", "directories", "assignments")})


def online_all(fake: FakeUms) -> None:
    """The records telework made get a device behind them (switched on, contacting the UMS)."""
    for tc in fake.s["devices"]:
        fake.set_online(tc, True)


def apply_all(client, desired, **kw):
    actual = read_actual(client, desired)
    plan = plan_changes(desired, actual, **kw)
    return plan, execute(plan.actions, client, actual, desired.root)


# ---------------------------------------------------------------- the sample, end to end


def test_the_sample_is_created_and_a_second_plan_is_empty(client, fake):
    desired = desired_from(sample_devices())
    actual = read_actual(client, desired)
    plan = plan_changes(desired, actual)
    kinds = [c.kind for c in plan.actions]
    assert plan.errors == ()
    assert kinds.count("create") == 103
    n_dirs = 1 + len(RINGS) + len({(d.ring, d.directory) for d in desired.devices})
    assert kinds.count("create_directory") == n_dirs
    assert kinds.count("assign") == 2 * len(RINGS) + 11  # ring profiles + the OS 11 devices
    assert "command" not in kinds  # new records: no device to tell yet
    # the OS 12 ring profile reaches OS 11 devices only as an (ignored) inheritance: reported
    ignored = [c for c in plan.reports if "ignore it" in c.message]
    assert ignored and all(c.profile == "tw-vpn-os12" or c.profile == "tw-lock" for c in ignored)

    report = execute(plan.actions, client, actual, ROOT)
    assert report.ok, [r.message for r in report.failed()]
    again = plan_changes(desired, read_actual(client, desired))
    assert again.actions == ()
    # every device sits in its ring/site directory, named and with its serial
    paths = {d["id"]: d for d in fake.s["directories"].values()}

    def path(did):
        out = []
        while did in paths:
            out.append(paths[did]["name"])
            did = paths[did]["parentID"]
        return "/".join(reversed(out))

    by_mac = {d["mac"]: d for d in fake.s["devices"].values()}
    for want in desired.devices:
        got = by_mac[normalise_mac(want.mac)]
        assert path(got["parentID"]) == f"{ROOT}/{want.directory}"
        assert (got["name"], got["serialNumber"], got["site"]) == (
            want.name, want.serial, dict(want.fields)["site"])


def test_an_os12_profile_is_never_assigned_to_an_os11_device(client, fake):
    devices = sample_devices()
    legacy = next(d for d in devices if d["firmware"].startswith("11."))
    desired = desired_from([legacy])
    wrong = DesiredDevice(**{**desired.devices[0].__dict__, "profiles": ("tw-vpn-os12",)})
    desired = DesiredState(ROOT, (wrong,), desired.directories)
    plan, report = apply_all(client, desired)
    errs = [c for c in plan.errors if c.profile == "tw-vpn-os12"]
    assert len(errs) == 1 and "IGEL OS 12" in errs[0].message and legacy["name"] in errs[0].subject
    assert report.ok
    tc = next(k for k, d in fake.s["devices"].items() if d["mac"] == normalise_mac(legacy["mac"]))
    os12 = {k for k, p in fake.s["profiles"].items()
            if fake.s["firmwares"][p["firmwareID"]]["version"].startswith("12")}
    assert not {aid for _, aid in fake.s["assignments"].get(f"tc:{tc}", [])} & os12
    assert not set(fake.effective_profiles(tc)) & os12  # inherited ones are ignored


# ---------------------------------------------------------------- reading: constant calls


@pytest.mark.parametrize("n", [120, 1000])
def test_a_no_change_plan_reads_with_a_constant_number_of_list_calls(client, fake, n):
    base = sample_devices()[0]
    devices = [{**base, "name": f"igel-{i:05d}", "mac": f"00:E0:C5:{i >> 16 & 255:02X}:"
                f"{i >> 8 & 255:02X}:{i & 255:02X}", "serial": f"S{i:08d}",
                "ring": RINGS[i % 3], "firmware": "12.6.0" if i % 3 < 2 else "12.5.1"}
               for i in range(n)]
    desired = desired_from(devices)
    plan, report = apply_all(client, desired)
    assert report.ok and len(plan.actions) > n
    fake.clear_requests()
    again = plan_changes(desired, read_actual(client, desired))
    assert again.actions == ()
    reads = [(r.method, r.path) for r in fake.requests]
    assert all(m == "GET" for m, _ in reads)
    # 5 lists + 2 per managed profile (those the inventory names), whatever the fleet size;
    # the ring directories hold one profile of each kind: no per-receiver order reads
    assert len(desired.profile_names()) == 2
    assert len(reads) == 5 + 2 * 2, reads


# ---------------------------------------------------------------- scope: the managed root only


def test_nothing_outside_the_managed_root_is_touched(client, fake):
    other = fake.add_directory("Verwaltung-Schulen")
    twin = fake.add_directory(ROOT, other)  # a directory of the same name elsewhere
    devices = sample_devices()[:4]
    outside = fake.add_device(normalise_mac(devices[0]["mac"]), fake.fw["12.5.1"], parent_id=other)
    stranger = fake.add_device("00E0C5FFFFFE", fake.fw["12.5.1"], parent_id=twin)
    at_root = fake.add_device(normalise_mac(devices[1]["mac"]), fake.fw["12.5.1"])
    fake.s["assignments"][f"tcdirectory:{other}"] = [["profile", next(
        k for k, p in fake.s["profiles"].items() if p["name"] == "tw-vpn-os12")]]
    before = {k: v for k, v in snapshot(fake)["devices"].items() if k in (outside, stranger)}
    dirs_before = {k: fake.s["directories"][k].copy() for k in (other, twin)}
    assign_before = fake.s["assignments"][f"tcdirectory:{other}"][:]
    desired = desired_from(devices)
    plan, report = apply_all(client, desired, delete_unlisted=True)
    assert report.ok
    reported = [c for c in plan.reports if "outside the managed root" in c.message]
    assert {c.key for c in reported} == {normalise_mac(devices[0]["mac"]),
                                         normalise_mac(devices[1]["mac"])}
    assert {k: fake.s["devices"][k] for k in (outside, stranger)} == before
    assert fake.s["devices"][at_root]["parentID"] == "-1"
    assert {k: fake.s["directories"][k] for k in (other, twin)} == dirs_before
    assert fake.s["assignments"][f"tcdirectory:{other}"] == assign_before
    # adopting from the UMS root moves the self-registered device in, and only that one
    plan, report = apply_all(client, desired, adopt_from=["/"])
    moves = [c for c in plan.actions if c.kind == "move"]
    assert [c.key for c in moves] == [normalise_mac(devices[1]["mac"])] and report.ok
    assert fake.s["devices"][outside] == before[outside]


def test_unlisted_objects_are_reported_and_deleted_only_on_request(client, fake):
    desired = desired_from(sample_devices()[:3])
    apply_all(client, desired)
    root = next(k for k, d in fake.s["directories"].items() if d["name"] == ROOT)
    extra_dir = fake.add_directory("old-site", root)
    full_dir = fake.add_directory("storage", root)
    fake.add_device("00E0C5AAAAA1", fake.fw["12.5.1"], name="igel-x", parent_id=extra_dir)
    fake.add_device("00E0C5AAAAA2", fake.fw["12.5.1"], name="igel-y", parent_id=full_dir)
    binned = fake.add_device("00E0C5AAAAA3", fake.fw["12.5.1"], name="igel-z", parent_id=full_dir)
    fake.move_to_bin(binned)
    plan = plan_changes(desired, read_actual(client, desired))
    assert plan.actions == ()
    said = {c.subject: c.message for c in plan.reports}
    assert any("igel-x" in s and "not deleted" in m for s, m in said.items())
    assert any("igel-z" in s and "recycle bin" in m for s, m in said.items())
    plan, report = apply_all(client, desired, delete_unlisted=True)
    assert sorted(c.kind for c in plan.actions) == ["delete", "delete", "delete_directory"]
    assert report.ok
    assert extra_dir not in fake.s["directories"] and full_dir in fake.s["directories"]
    kept = [c for c in plan.reports if c.key == "storage"]
    assert kept and "not empty" in kept[0].message


# ---------------------------------------------------------------- updates, order, firmware


def test_an_update_shows_the_attribute_diff_before_and_after(client, fake):
    desired = desired_from(sample_devices()[:2])
    apply_all(client, desired)
    online_all(fake)
    tc = next(k for k, d in fake.s["devices"].items()
              if d["mac"] == normalise_mac(desired.devices[0].mac))
    fake.s["devices"][tc]["site"] = "somewhere"
    fake.s["devices"][tc]["name"] = "ITC-renamed"
    plan = plan_changes(desired, read_actual(client, desired))
    update = [c for c in plan.actions if c.kind == "update"]
    assert len(update) == 1
    assert set(update[0].diff) == {("name", "ITC-renamed", desired.devices[0].name),
                                   ("site", "somewhere", dict(desired.devices[0].fields)["site"])}
    assert "'somewhere' -> " in update[0].describe()
    assert [c.command for c in plan.actions if c.kind == "command"] == ["settings2tc"]
    report = execute(plan.actions, client, read_actual(client, desired), ROOT)
    assert report.ok and fake.s["devices"][tc]["site"] == dict(desired.devices[0].fields)["site"]


def test_the_model_is_compared_not_written(client, fake):
    desired = desired_from(sample_devices()[:2])
    apply_all(client, desired)
    first, second = (next(k for k, d in fake.s["devices"].items()
                          if d["mac"] == normalise_mac(w.mac)) for w in desired.devices)
    one, two = desired.devices
    fake.s["devices"][first]["deviceType"] = "IGEL " + one.model.rsplit("-", 1)[-1]
    fake.s["devices"][second]["deviceType"] = "IGEL X999"
    plan = plan_changes(desired, read_actual(client, desired))
    assert plan.actions == ()
    said = [(c.key, c.diff) for c in plan.reports if c.diff and c.diff[0][0] == "model"]
    assert said == [(normalise_mac(two.mac), (("model", two.model, "IGEL X999"),))]


def test_a_wrong_profile_order_is_repaired(client, fake):
    desired = desired_from(sample_devices()[:1])
    fix = DesiredDirectory("pilot", profiles=("tw-vpn-os12", "someone-elses"))
    desired = DesiredState(ROOT, desired.devices, (fix,))
    apply_all(client, desired)
    ring = next(k for k, d in fake.s["directories"].items() if d["name"] == "pilot")
    lst = fake.s["assignments"][f"tcdirectory:{ring}"]
    lst.reverse()
    plan, report = apply_all(client, desired)
    assert [(c.kind, c.profile) for c in plan.actions if c.target == "directory"] == [
        ("unassign", "someone-elses"), ("unassign", "tw-vpn-os12"),
        ("assign", "tw-vpn-os12"), ("assign", "someone-elses")]
    assert report.ok
    names = [fake.s["profiles"][aid]["name"] for _, aid in fake.s["assignments"][
        f"tcdirectory:{ring}"]]
    assert names == ["tw-vpn-os12", "someone-elses"]
    assert plan_changes(desired, read_actual(client, desired)).actions == ()


def test_firmware_rollout_by_ring(client, fake):
    """SIMULATED device side: a device takes its ring directory's firmware when it reboots."""
    devices = [d for d in sample_devices() if d["firmware"] == "12.5.1"][:6]
    for i, d in enumerate(devices):
        d["ring"] = RINGS[i % 2]  # pilot and early
    desired = desired_from(devices, targets=False)
    apply_all(client, desired)
    online_all(fake)
    pilot = next(k for k, d in fake.s["directories"].items() if d["name"] == "pilot")
    fake.set_directory_firmware(pilot, fake.fw["12.6.0"])
    desired = desired_from(devices)  # pilot and early: 12.6.0
    plan = plan_changes(desired, read_actual(client, desired))
    updates = plan.for_ring("pilot")
    assert {c.command for c in updates} == {"firmware_update"} and len(updates) == 3
    report = execute(updates, client, read_actual(client, desired), ROOT)
    assert report.ok
    again = plan_changes(desired, read_actual(client, desired))
    assert again.for_ring("pilot") == ()
    assert len([c for c in again.for_ring("early") if c.command == "firmware_update"]) == 3
    assert all("another firmware" in c.message for c in again.reports if c.ring == "pilot")


# ---------------------------------------------------------------- failures per item


def test_a_partial_move_failure_fails_that_ring(client, fake):
    devices = sample_devices()[:10]
    desired = desired_from(devices)
    apply_all(client, desired)
    online_all(fake)
    moved = [DesiredDevice(**{**d.__dict__, "directory": f"{d.ring}/moved"})
             for d in desired.devices]
    target = DesiredState(ROOT, tuple(moved), desired.directories, desired.firmware)
    actual = read_actual(client, target)
    plan = plan_changes(target, actual)
    victim = next(c for c in plan.actions if c.kind == "move" and c.ring == "all")
    fake.inject_move_failure(next(k for k, d in fake.s["devices"].items()
                                  if d["mac"] == victim.key))
    ex = Executor(client, actual, ROOT)
    first = ex.execute([c for c in plan.actions if c.target == "directory"])
    assert first.ok
    results = {}
    for ring in RINGS:
        results[ring] = ex.execute(plan.for_ring(ring))
    ring_all = Ring("all", 0.05, [d.mac for d in moved if d.ring == "all"])
    failed = results["all"].failed_devices("all")
    assert failed == {victim.key}
    assert ring_all.stops_rollout(len(failed))
    why = next(r for r in results["all"].failed() if r.change.kind == "move").message
    assert "does_not_exist" in why
    # the device whose move failed gets no settings2tc: the later change is skipped
    skipped = [r for r in results["all"].results if r.change.key == victim.key and r.skipped]
    assert skipped and "earlier change" in skipped[0].message
    assert results["pilot"].ok and results["early"].ok


def test_an_itg_error_at_execution_names_the_device(client, fake):
    desired = desired_from(sample_devices()[:2])
    apply_all(client, desired)
    tc = next(k for k, d in fake.s["devices"].items()
              if d["mac"] == normalise_mac(desired.devices[0].mac))
    fake.s["devices"][tc]["site"] = "elsewhere"
    actual = read_actual(client, desired)
    plan = plan_changes(desired, actual)
    fake.move_to_bin(tc)  # between plan and apply
    report = execute(plan.actions, client, actual, ROOT)
    bad = report.failed()
    assert bad and bad[0].change.kind == "update"
    for part in ("ITG-0A018", desired.devices[0].name, normalise_mac(desired.devices[0].mac),
                 "fix:"):
        assert part in bad[0].message
    # and the next plan says what to do about it, instead of creating a duplicate
    plan = plan_changes(desired, read_actual(client, desired))
    errs = [c for c in plan.errors if c.key == normalise_mac(desired.devices[0].mac)]
    assert errs and "recycle bin" in errs[0].message and not any(
        c.kind == "create" for c in plan.actions)


def test_an_expired_session_during_apply_is_renewed(client, fake, clock):
    desired = desired_from(sample_devices()[:5])
    actual = read_actual(client, desired)
    plan = plan_changes(desired, actual)
    clock.advance(45 * 60)  # the reviewer took their time
    report = execute(plan.actions, client, actual, ROOT)
    assert report.ok and client.logins == 2


def test_a_licence_error_stops_the_run_and_marks_the_rest(client, fake):
    desired = desired_from(sample_devices()[:5])
    actual = read_actual(client, desired)
    plan = plan_changes(desired, actual)
    fake.not_licensed = True
    fake.expire_sessions()
    report = execute(plan.actions, client, actual, ROOT)
    assert report.aborted and "ITG-0C001" in report.aborted
    assert len(report.results) == len(plan.actions)
    assert all(not r.ok for r in report.results)


def test_settings2tc_after_apply_stays_under_the_rate(client, fake):
    desired = desired_from(sample_devices())
    apply_all(client, desired)
    online_all(fake)
    # the priority profile leaves the inventory: owned by telework, so it is unassigned
    moved = DesiredState(ROOT, desired.devices, tuple(
        DesiredDirectory(r, profiles=("tw-vpn-os12",)) for r in RINGS), desired.firmware,
        owned_profiles=(("tw-lock", True),))
    fake.clear_requests()
    _, report = apply_all(client, moved)
    sent = fake.matching("POST", "/v3/thinclients", {"command": "settings2tc"})
    assert report.ok and sum(r.items for r in sent) >= 92  # the OS 12 devices, at least
    for earlier, later in itertools.pairwise(sent):
        assert later.time - earlier.time >= earlier.items / client.throttle.rate - 1e-9


# ---------------------------------------------------------------- bad input


def test_bad_inventory_entries_are_errors_naming_the_device(client, fake):
    base = desired_from(sample_devices()[:1]).devices[0]
    bad = [
        DesiredDevice(**{**base.__dict__, "mac": "00:E0:C5"}),
        DesiredDevice(**{**base.__dict__, "name": "a-name-much-too-long", "mac": "00E0C5000099"}),
        DesiredDevice(**{**base.__dict__, "name": "igel-fw", "mac": "00E0C5000098",
                         "firmware": "12.9.9"}),
        DesiredDevice(**{**base.__dict__, "name": "igel-prof", "mac": "00E0C5000097",
                         "profiles": ("not-imported",)}),
    ]
    plan = plan_changes(DesiredState(ROOT, tuple(bad)), read_actual(client, DesiredState(ROOT, ())))
    msgs = {c.subject: c.message for c in plan.errors}
    assert any("12 hexadecimal" in m for m in msgs.values())
    assert any("a-name-much-too-long" in s and "1 to 15" in m for s, m in msgs.items())
    assert any("igel-fw" in s and "not known to the UMS" in m and "12.6.0" in m
               for s, m in msgs.items())
    assert any("igel-prof" in s and "import" in m for s, m in msgs.items())
    assert not any(c.key == "00E0C5000098" and c.kind == "create" for c in plan.actions)


def test_sample_inventory_exists():
    assert Path(SAMPLE / "endpoints" / "igel.yml").exists()
