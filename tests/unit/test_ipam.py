"""Address management: stable, deterministic, quarantined tunnel addresses (`telework.ipam.allocations`)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import netaddr
import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from telework.cli.main import cli
from telework.core import atomicfile
from telework.core.problems import AllocationError, Severity
from telework.inventory.loading import load_inventory
from telework.inventory.model import Inventory
from telework.inventory.source import NOT_SECTIONS
from telework.inventory.validation import pool_usable
from telework.ipam.allocations import (
    ALLOCATIONS_FILE,
    Allocations,
    ChangeKind,
    allocation_problems,
    client_bounds,
    concentrator_address,
    plan,
    pool_usage,
    sync,
)
from telework.ipam.file import parse
from tests.conftest import edit

DAY = date(2026, 11, 22)
OVPN_A, OVPN_B, WG_A = "vpn-a-openvpn", "vpn-b-openvpn", "vpn-a-wireguard"


def make_inventory(people=(), devices=(), *, pins=None, device_pins=None, quarantine=180, pools=None) -> Inventory:
    """An inventory with just what IPAM reads: people with vpn: true, Linux devices, pools."""
    pins, device_pins = pins or {}, device_pins or {}
    pools = pools or [
        {"name": OVPN_A, "prefix": "10.128.0.0/27", "kind": "openvpn", "concentrator": "vpn-a"},
        {"name": OVPN_B, "prefix": "10.128.4.0/27", "kind": "openvpn", "concentrator": "vpn-b"},
        {"name": WG_A, "prefix": "10.129.0.0/28", "kind": "wireguard", "concentrator": "vpn-a"},
    ]
    people_data = []
    for person in people:
        username, _, status = person.partition("/")
        item = {"username": username, "name": username.title(), "department": "it", "site": "rathaus",
                "vpn": status != "novpn", "status": "suspended" if status == "suspended" else "active"}
        if username in pins:
            item["vpn_address"] = pins[username]
        people_data.append(item)
    devices_data = []
    for device in devices:
        name, _, status = device.partition("/")
        item = {"name": name, "site": "rathaus", "ring": "all", "status": status or "active"}
        if name in device_pins:
            item["vpn_address"] = device_pins[name]
        devices_data.append(item)
    return Inventory.model_validate({
        "organisation": {"name": "Stadt Test", "slug": "test", "domain": "test.invalid",
                         "settings": {"address_quarantine_days": quarantine}},
        "address_pools": pools, "people": people_data, "linux_endpoints": devices_data,
    })


def held(allocations: Allocations, pool: str) -> dict[str, str]:
    """member -> address of a pool, as text."""
    return {member: str(address) for address, member, _ in allocations.allocated(pool)}


def kinds(result, pool: str = OVPN_A) -> list[tuple[str, str, str]]:
    return [(c.kind.value, c.member, str(c.address)) for c in result.changes if c.pool == pool]


# ---------------------------------------------------------------- allocation


def test_reserved_addresses_are_counted_in_one_place():
    """Network, concentrator (first host) and broadcast are never handed out; validation counts the same."""
    prefix = netaddr.IPNetwork("10.128.0.0/29")
    lo, hi = client_bounds(prefix)
    assert (str(netaddr.IPAddress(lo)), str(netaddr.IPAddress(hi))) == ("10.128.0.2", "10.128.0.6")
    assert str(concentrator_address(prefix)) == "10.128.0.1"
    assert pool_usable(prefix) == hi - lo + 1 == 5
    assert pool_usable(netaddr.IPNetwork("10.0.0.0/31")) == 0


def test_new_members_get_the_lowest_free_addresses_in_member_order():
    result = sync(make_inventory(["cmeier", "amueller", "bschulz"]), Allocations(), DAY)
    assert held(result.allocations, OVPN_A) == {
        "person:amueller": "10.128.0.2", "person:bschulz": "10.128.0.3", "person:cmeier": "10.128.0.4"}
    assert kinds(result)[0] == ("allocated", "person:amueller", "10.128.0.2")


def test_every_openvpn_pool_holds_every_vpn_person_and_wireguard_pools_hold_active_devices():
    """Failover concentrators have their own ranges: one address per person in each OpenVPN pool."""
    inv = make_inventory(["amueller", "bschulz/novpn", "csuspended/suspended"],
                         ["nb-0001", "nb-0002/spare", "pc-0001"])
    allocations = sync(inv, Allocations(), DAY).allocations
    assert held(allocations, OVPN_A) == {"person:amueller": "10.128.0.2"}
    assert held(allocations, OVPN_B) == {"person:amueller": "10.128.4.2"}
    assert held(allocations, WG_A) == {"device:nb-0001": "10.129.0.2", "device:pc-0001": "10.129.0.3"}
    assert str(allocations.address_of(OVPN_B, "person:amueller")) == "10.128.4.2"
    assert allocations.address_of(OVPN_B, "person:bschulz") is None
    assert allocations.holder_of(WG_A, "10.129.0.3") == "device:pc-0001"


def test_adding_and_removing_members_never_moves_anyone_else():
    first = sync(make_inventory(["amueller", "bschulz", "cmeier"]), Allocations(), DAY).allocations
    second = sync(make_inventory(["aaron", "amueller", "cmeier", "zoe"]), first, DAY + timedelta(days=1))
    after = held(second.allocations, OVPN_A)
    assert after["person:amueller"] == "10.128.0.2" and after["person:cmeier"] == "10.128.0.4"
    # bschulz's 10.128.0.3 is quarantined: the newcomers get .5 and .6, in member order
    assert after["person:aaron"] == "10.128.0.5" and after["person:zoe"] == "10.128.0.6"
    assert ("released", "person:bschulz", "10.128.0.3") in kinds(second)


def test_released_address_stays_in_quarantine_then_is_purged_and_reused():
    inv_all, inv_without = make_inventory(["amueller", "bschulz"]), make_inventory(["bschulz"])
    allocations = sync(inv_all, Allocations(), DAY).allocations
    allocations = sync(inv_without, allocations, DAY).allocations  # amueller leaves: .2 quarantined
    assert allocations.released(OVPN_A) == [(netaddr.IPAddress("10.128.0.2"), "person:amueller", DAY)]
    newcomer = make_inventory(["bschulz", "dneu"])
    last_day = sync(newcomer, allocations, DAY + timedelta(days=179))
    assert held(last_day.allocations, OVPN_A)["person:dneu"] == "10.128.0.4"
    free_again = sync(newcomer, allocations, DAY + timedelta(days=180))
    assert ("purged", "person:amueller", "10.128.0.2") in kinds(free_again)
    assert held(free_again.allocations, OVPN_A)["person:dneu"] == "10.128.0.2"
    assert free_again.allocations.released(OVPN_A) == []


def test_member_back_within_quarantine_gets_the_old_address_back():
    allocations = sync(make_inventory(["amueller", "bschulz"]), Allocations(), DAY).allocations
    allocations = sync(make_inventory(["bschulz"]), allocations, DAY).allocations
    back = sync(make_inventory(["aaron", "amueller", "bschulz"]), allocations, DAY + timedelta(days=30))
    assert held(back.allocations, OVPN_A)["person:amueller"] == "10.128.0.2"
    assert held(back.allocations, OVPN_A)["person:aaron"] == "10.128.0.4"
    assert ("reclaimed", "person:amueller", "10.128.0.2") in kinds(back)


def test_zero_quarantine_frees_an_address_at_once():
    allocations = sync(make_inventory(["amueller", "bschulz"], quarantine=0), Allocations(), DAY).allocations
    result = sync(make_inventory(["bschulz", "cneu"], quarantine=0), allocations, DAY)
    assert held(result.allocations, OVPN_A)["person:cneu"] == "10.128.0.2"
    assert [k for k, _, _ in kinds(result)] == ["released", "purged", "allocated"]


def test_full_pool_is_an_error_naming_the_pool_and_the_fix():
    pools = [{"name": "tiny", "prefix": "10.128.0.0/29", "kind": "openvpn", "concentrator": "vpn-a"}]
    five = [f"user{i}" for i in range(5)]
    allocations = sync(make_inventory(five, pools=pools), Allocations(), DAY).allocations
    assert len(allocations.allocated("tiny")) == 5
    allocations = sync(make_inventory(five[1:], pools=pools), allocations, DAY).allocations
    with pytest.raises(AllocationError) as exc:
        sync(make_inventory(five[1:] + ["zneu"], pools=pools), allocations, DAY + timedelta(days=10))
    message = str(exc.value)
    assert "address pool 'tiny' 10.128.0.0/29 is full: no address left for 1 of its 5 members (person:zneu)" in message
    assert "5 usable addresses, 4 allocated and 1 in quarantine" in message
    assert "enlarge the pool's prefix" in message and "free on 2027-05-21" in message


# ---------------------------------------------------------------- pins


def test_pin_is_honoured_in_its_pool_and_others_get_ordinary_addresses():
    inv = make_inventory(["amueller", "bschulz", "cmeier"], ["nb-0001"], pins={"bschulz": "10.128.0.2"},
                         device_pins={"nb-0001": "10.129.0.9"})
    allocations = sync(inv, Allocations(), DAY).allocations
    assert held(allocations, OVPN_A) == {
        "person:bschulz": "10.128.0.2", "person:amueller": "10.128.0.3", "person:cmeier": "10.128.0.4"}
    assert held(allocations, OVPN_B)["person:bschulz"] == "10.128.4.3"  # no pin there: ordinary order
    assert held(allocations, WG_A) == {"device:nb-0001": "10.129.0.9"}


def test_pin_on_someone_elses_address_is_an_error_naming_both():
    allocations = sync(make_inventory(["amueller", "bschulz"]), Allocations(), DAY).allocations
    with pytest.raises(AllocationError) as exc:
        sync(make_inventory(["amueller", "bschulz"], pins={"bschulz": "10.128.0.2"}), allocations, DAY)
    assert ("person:bschulz is pinned to 10.128.0.2, but person:amueller holds that address in pool "
            "'vpn-a-openvpn' since 2026-11-22") in str(exc.value)


def test_pin_on_a_quarantined_address_is_an_error_with_the_date_it_is_free():
    allocations = sync(make_inventory(["amueller", "bschulz"]), Allocations(), DAY).allocations
    allocations = sync(make_inventory(["bschulz"]), allocations, DAY).allocations
    with pytest.raises(AllocationError, match=r"person:bschulz is pinned to 10\.128\.0\.2, which person:amueller "
                                              r"released on 2026-11-22: .* until 2027-05-21"):
        sync(make_inventory(["bschulz"], pins={"bschulz": "10.128.0.2"}), allocations, DAY)


def test_pin_on_the_concentrators_address_is_an_error():
    with pytest.raises(AllocationError, match=r"pinned to 10\.128\.0\.1, 10\.128\.0\.1 is the concentrator's own"):
        sync(make_inventory(["amueller"], pins={"amueller": "10.128.0.1"}), Allocations(), DAY)


def test_new_pin_moves_only_that_member_and_quarantines_its_old_address():
    allocations = sync(make_inventory(["amueller", "bschulz"]), Allocations(), DAY).allocations
    result = sync(make_inventory(["amueller", "bschulz", "cneu"], pins={"amueller": "10.128.0.20"}),
                  allocations, DAY)
    assert held(result.allocations, OVPN_A) == {
        "person:amueller": "10.128.0.20", "person:bschulz": "10.128.0.3", "person:cneu": "10.128.0.4"}
    assert ("released", "person:amueller", "10.128.0.2") in kinds(result)


# ---------------------------------------------------------------- inventory changes


def test_renumbered_pool_drops_entries_outside_it_and_reallocates():
    allocations = sync(make_inventory(["amueller"]), Allocations(), DAY).allocations
    pools = [{"name": OVPN_A, "prefix": "10.140.0.0/24", "kind": "openvpn", "concentrator": "vpn-a"}]
    result = sync(make_inventory(["amueller"], pools=pools), allocations, DAY)
    assert held(result.allocations, OVPN_A) == {"person:amueller": "10.140.0.2"}
    dropped = [c for c in result.changes if c.kind is ChangeKind.dropped]
    assert [(c.pool, c.member) for c in dropped] == [(OVPN_A, "person:amueller"), (WG_A, "-"), (OVPN_B, "-")]
    assert dropped[0].note == "10.128.0.2 is outside the pool's prefix 10.140.0.0/24"
    assert set(result.allocations.pools) == {OVPN_A}


def test_sync_is_pure():
    allocations = sync(make_inventory(["amueller"]), Allocations(), DAY).allocations
    before = allocations.render()
    sync(make_inventory(["bschulz"]), allocations, DAY)
    assert allocations.render() == before


# ---------------------------------------------------------------- random histories


NAMES = ["anna", "ben", "cem", "dora", "emil", "fatma", "greta", "hans", "ida", "jan", "kai", "lea"]
operations = st.lists(st.one_of(
    st.tuples(st.just("add"), st.sampled_from(NAMES)),
    st.tuples(st.just("remove"), st.sampled_from(NAMES)),
    st.tuples(st.just("wait"), st.integers(min_value=1, max_value=200)),
), max_size=40)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(operations, st.sampled_from([0, 1, 30, 180]))
def test_random_histories_keep_addresses_stable_unique_and_quarantined(history, quarantine):
    """Any sequence of joins, leaves and waiting days keeps every promise of the allocator."""
    today, present = DAY, set()
    allocations = Allocations()
    # (pool, address) -> (member, released on or None while held): the model of every address's history
    last: dict[tuple[str, str], tuple[str, date | None]] = {}
    for op, arg in history:
        if op == "add":
            present.add(arg)
        elif op == "remove":
            present.discard(arg)
        else:
            today += timedelta(days=arg)
        inv = make_inventory(sorted(present), quarantine=quarantine)
        result = sync(inv, allocations, today)
        after = result.allocations
        for pool in (OVPN_A, OVPN_B):
            before = held(allocations, pool)
            now = held(after, pool)
            # every member holds exactly one address, and no address has two holders
            assert set(now) == {f"person:{name}" for name in present}
            assert len(set(now.values())) == len(now)
            # stability: nobody who stays ever moves
            assert all(now[m] == a for m, a in before.items() if m in now)
            for member, address in now.items():
                if member in before:
                    continue
                previous = last.get((pool, address))
                # quarantine: an address goes to someone else only after the quarantine ended
                if previous is not None and previous[0] != member:
                    assert previous[1] is not None and today >= previous[1] + timedelta(days=quarantine)
                # returning within the quarantine: the old address back
                mine = [a for (p, a), (m, gone) in last.items()
                        if p == pool and m == member and gone is not None and today < gone + timedelta(quarantine)]
                if mine:
                    assert address in mine
                else:  # otherwise the lowest address neither held nor quarantined
                    lo, hi = client_bounds(_prefix(pool))
                    busy = {a for m, a in now.items() if m != member}
                    busy |= {a for (p, a), (m, gone) in last.items()
                             if p == pool and gone is not None and today < gone + timedelta(quarantine)}
                    lowest = next(str(netaddr.IPAddress(v)) for v in range(lo, hi + 1)
                                  if str(netaddr.IPAddress(v)) not in busy)
                    assert address == lowest
            for member, address in before.items():
                if member not in now:
                    last[(pool, address)] = (member, today)
            for member, address in now.items():
                last[(pool, address)] = (member, None)
        # determinism and the file: same inputs, same bytes; the file reads back to the same allocations
        text = after.render()
        assert sync(inv, allocations, today).allocations.render() == text
        assert parse(text).problems == [] and parse(text).pools == after.pools
        allocations = Allocations(parse(text).pools)


def _prefix(pool: str) -> netaddr.IPNetwork:
    return netaddr.IPNetwork({OVPN_A: "10.128.0.0/27", OVPN_B: "10.128.4.0/27"}[pool])


# ---------------------------------------------------------------- the file


def test_file_is_one_sorted_line_per_address_under_a_header(tmp_path: Path):
    allocations = sync(make_inventory(["bschulz", "amueller"], ["nb-0001"]), Allocations(), DAY).allocations
    allocations = sync(make_inventory(["bschulz"], ["nb-0001"]), allocations, DAY + timedelta(days=3)).allocations
    path = tmp_path / ALLOCATIONS_FILE
    assert allocations.save(path) is True
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# VPN tunnel addresses: managed by telework, do not edit by hand.\n")
    assert text.split("pools:\n", 1)[1] == (
        "  vpn-a-openvpn:\n"
        "    allocated:\n"
        "      10.128.0.3: person:bschulz 2026-11-22\n"
        "    released:\n"
        "      10.128.0.2: person:amueller 2026-11-25\n"
        "  vpn-a-wireguard:\n"
        "    allocated:\n"
        "      10.129.0.2: device:nb-0001 2026-11-22\n"
        "    released: {}\n"
        "  vpn-b-openvpn:\n"
        "    allocated:\n"
        "      10.128.4.3: person:bschulz 2026-11-22\n"
        "    released:\n"
        "      10.128.4.2: person:amueller 2026-11-25\n")
    # plain YAML for every other tool
    assert yaml.safe_load(text)["pools"]["vpn-a-openvpn"]["released"] == {"10.128.0.2": "person:amueller 2026-11-25"}
    assert Allocations.load(path) == allocations
    assert allocations.save(path) is False  # unchanged: not rewritten
    assert [p.name for p in tmp_path.iterdir()] == [ALLOCATIONS_FILE]


def test_file_round_trips_ipv6_and_odd_pool_names(tmp_path: Path):
    pools = [{"name": "no", "prefix": "fd00:10::/64", "kind": "openvpn", "concentrator": "vpn-a"},
             {"name": "1st", "prefix": "10.128.0.0/24", "kind": "openvpn", "concentrator": "vpn-a"}]
    allocations = sync(make_inventory(["amueller"], pools=pools), Allocations(), DAY).allocations
    path = tmp_path / ALLOCATIONS_FILE
    allocations.save(path)
    assert str(Allocations.load(path).address_of("no", "person:amueller")) == "fd00:10::2"
    data = yaml.safe_load(path.read_text())["pools"]
    assert data["no"]["allocated"] == {"fd00:10::2": "person:amueller 2026-11-22"}
    assert data["1st"]["allocated"] == {"10.128.0.2": "person:amueller 2026-11-22"}


def test_damaged_file_is_refused_naming_every_bad_line(tmp_path: Path):
    path = tmp_path / ALLOCATIONS_FILE
    path.write_text("pools:\n  p:\n    allocated:\n      10.0.0.2: person:a 2026-01-01\n"
                    "      10.0.0.2: person:b 2026-01-01\n      10.0.0.3: person:a 2026-01-01\n"
                    "      10.0.0.04: person:c 2026-01-01\n      10.0.0.5 person:d\n", encoding="utf-8")
    with pytest.raises(AllocationError) as exc:
        Allocations.load(path)
    message = str(exc.value)
    assert f"{path}:5: address 10.0.0.2 of pool 'p' is listed twice, first at line 4" in message
    assert f"{path}:6: person:a has two addresses in pool 'p', the other at line 4" in message
    assert f"{path}:7: not an IP address in canonical form: '10.0.0.04'" in message
    assert f"{path}:8: expected '<address>: <member> <YYYY-MM-DD>'" in message


def test_save_is_atomic_a_failed_write_leaves_the_old_file(tmp_path: Path, monkeypatch):
    path = tmp_path / ALLOCATIONS_FILE
    path.write_text("old\n", encoding="utf-8")
    allocations = sync(make_inventory(["amueller"]), Allocations(), DAY).allocations

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(atomicfile.os, "replace", broken_replace)
    with pytest.raises(OSError):
        allocations.save(path)
    assert path.read_text(encoding="utf-8") == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == [ALLOCATIONS_FILE]


def test_fifty_thousand_people_in_two_pools_resync_touches_only_leavers_and_joiners(tmp_path: Path):
    """A large city: 100,000 allocations saved, loaded and synced again; 300 people leave and
    300 join, and only their 4 x 300 allocations change. (Its speed is measured by
    `python -m benchmarks --only scale`, the allocate column; tests assert no times.)"""
    pools = [{"name": OVPN_A, "prefix": "10.128.0.0/16", "kind": "openvpn", "concentrator": "vpn-a"},
             {"name": OVPN_B, "prefix": "10.129.0.0/16", "kind": "openvpn", "concentrator": "vpn-b"}]
    people = [f"user{i:05d}" for i in range(50_000)]
    path = tmp_path / ALLOCATIONS_FILE
    first = sync(make_inventory(people, pools=pools), Allocations(), DAY).allocations
    first.save(path)
    changed = make_inventory(people[300:] + [f"new{i:03d}" for i in range(300)], pools=pools)
    result = sync(changed, Allocations.load(path), DAY + timedelta(days=1))
    result.allocations.save(path)
    assert len(result.changes) == 4 * 300
    again = Allocations.load(path)
    for pool in (OVPN_A, OVPN_B):
        assert again.address_of(pool, "person:user00300") == first.address_of(pool, "person:user00300")
        assert again.address_of(pool, "person:user00000") is None


# ---------------------------------------------------------------- validation and report


@pytest.fixture
def synced(minimal_copy: Path) -> Path:
    result = CliRunner().invoke(cli, ["ipam", "sync", str(minimal_copy), "--today", "2026-11-22"])
    assert result.exit_code == 0, result.output
    return minimal_copy


def test_the_inventory_loader_skips_the_allocations_file(synced: Path):
    assert ALLOCATIONS_FILE in NOT_SECTIONS
    assert load_inventory(synced).problems == []


def test_problems_warn_about_members_without_address(minimal_copy: Path):
    problems = allocation_problems(load_inventory(minimal_copy), DAY)
    assert [(p.severity, p.message, p.fix) for p in problems] == [
        (Severity.WARNING, "2 members of pool 'vpn-a-openvpn' have no address yet", "run `telework ipam sync`"),
        (Severity.WARNING, "1 member of pool 'vpn-a-wireguard' has no address yet", "run `telework ipam sync`"),
    ]
    assert str(problems[0].file).endswith("networks.yml") and problems[0].line == 5


def test_problems_name_the_allocations_file_and_line(synced: Path):
    path = synced / ALLOCATIONS_FILE
    assert allocation_problems(load_inventory(synced), DAY) == []
    edit(path, "10.130.0.3: person:oesahin", "10.99.0.3: person:oesahin")
    with path.open("a", encoding="utf-8") as handle:
        handle.write("  vpn-z-openvpn:\n    allocated:\n      10.200.0.2: person:jmueller 2026-11-22\n"
                     "    released: {}\n")
    edit(path, "      10.131.0.2: device:nb-0001 2026-11-22\n",
         "      10.131.0.2: device:nb-0001 2026-11-22\n      10.131.0.2: device:nb-0002 2026-11-22\n")
    problems = {p.rule: p for p in allocation_problems(load_inventory(synced), DAY)}
    outside = problems["allocations.outside_pool"]
    assert (outside.file.name, outside.line, outside.severity) == (ALLOCATIONS_FILE, 11, Severity.ERROR)
    assert outside.message == ("person:oesahin in pool 'vpn-a-openvpn': 10.99.0.3 is outside the pool's prefix "
                               "10.130.0.0/24")
    assert (problems["allocations.unknown_pool"].line, problems["allocations.unknown_pool"].message) == (
        18, "allocations for pool 'vpn-z-openvpn', which is not in the inventory")
    duplicate = problems["allocations.file"]
    assert duplicate.line == 16 and "listed twice, first at line 15" in duplicate.message
    assert problems["allocations.missing"].message == "1 member of pool 'vpn-a-openvpn' has no address yet"


def test_problems_report_full_pools_and_pin_collisions(synced: Path):
    edit(synced / "people" / "rathaus.yml", "    vpn: true\n    phone: {extension: \"102\"",
         "    vpn: true\n    vpn_address: 10.130.0.2\n    phone: {extension: \"102\"")
    problems = [p for p in allocation_problems(load_inventory(synced), DAY) if p.severity is Severity.ERROR]
    assert len(problems) == 1 and problems[0].rule == "allocations.pin_taken"
    assert problems[0].path == ("people", 1, "vpn_address") and problems[0].line == 13
    assert "person:oesahin is pinned to 10.130.0.2, but person:jmueller holds that address" in problems[0].message


def test_pool_usage_counts_allocated_and_quarantined(synced: Path):
    edit(synced / "people" / "rathaus.yml", "    department: bauamt\n    site: bauhof\n    vpn: true\n",
         "    department: bauamt\n    site: bauhof\n    vpn: false\n")
    assert CliRunner().invoke(cli, ["ipam", "sync", str(synced), "--today", "2026-12-01"]).exit_code == 0
    loaded = load_inventory(synced)
    assert pool_usage(loaded, date(2026, 12, 1)) == {"vpn-a-openvpn": (1, 1), "vpn-a-wireguard": (1, 0)}
    assert pool_usage(loaded, date(2027, 5, 30)) == {"vpn-a-openvpn": (1, 0), "vpn-a-wireguard": (1, 0)}


# ---------------------------------------------------------------- CLI


def test_cli_sync_prints_changes_writes_the_file_and_is_idempotent(minimal_copy: Path):
    runner = CliRunner()
    dry = runner.invoke(cli, ["ipam", "sync", str(minimal_copy), "--dry-run", "--today", "2026-11-22"])
    assert dry.exit_code == 0, dry.output
    assert "vpn-a-openvpn   allocated 10.130.0.2      person:jmueller" in dry.stdout
    assert "not written" in dry.stdout and not (minimal_copy / ALLOCATIONS_FILE).exists()
    first = runner.invoke(cli, ["ipam", "sync", str(minimal_copy), "--today", "2026-11-22"])
    assert first.exit_code == 0 and "wrote" in first.stdout
    text = (minimal_copy / ALLOCATIONS_FILE).read_text(encoding="utf-8")
    assert "      10.130.0.3: person:oesahin 2026-11-22\n" in text
    again = runner.invoke(cli, ["ipam", "sync", str(minimal_copy), "--today", "2027-01-01"])
    assert again.exit_code == 0 and "is up to date" in again.stdout
    assert (minimal_copy / ALLOCATIONS_FILE).read_text(encoding="utf-8") == text


def test_cli_sync_refuses_an_inventory_with_errors(minimal_copy: Path):
    edit(minimal_copy / "people" / "rathaus.yml", "department: kaemmerei", "department: kaemerei")
    result = CliRunner().invoke(cli, ["ipam", "sync", str(minimal_copy)])
    assert result.exit_code == 1
    assert "unknown department 'kaemerei'" in result.stderr
    assert "has 1 error(s); fix them before allocating addresses" in result.stderr
    assert "Traceback" not in result.output and not (minimal_copy / ALLOCATIONS_FILE).exists()


def test_cli_sync_reports_a_full_pool_without_traceback(synced: Path):
    path = synced / ALLOCATIONS_FILE
    entries = "".join(f"      10.130.0.{i}: person:gone{i} 2026-11-01\n" for i in range(3, 255))
    edit(path, "      10.130.0.3: person:oesahin 2026-11-22\n    released: {}\n", "    released:\n" + entries)
    before = path.read_text(encoding="utf-8")
    result = CliRunner().invoke(cli, ["ipam", "sync", str(synced), "--today", "2026-11-23"])
    assert result.exit_code == 1
    assert ("error: address pool 'vpn-a-openvpn' 10.130.0.0/24 is full: no address left for 1 of its 2 members "
            "(person:oesahin); it has 253 usable addresses, 1 allocated and 252 in quarantine") in result.stderr
    assert "Traceback" not in result.output
    assert path.read_text(encoding="utf-8") == before  # nothing written


def test_cli_show_lists_pools_and_addresses(synced: Path):
    runner = CliRunner()
    table = runner.invoke(cli, ["ipam", "show", str(synced)], env={"COLUMNS": "200"})
    assert table.exit_code == 0 and "address pools" in table.stdout
    listing = runner.invoke(cli, ["ipam", "show", str(synced), "--pool", "vpn-a-openvpn"])
    assert "10.130.0.3      allocated   person:oesahin" in listing.stdout
    data = json.loads(runner.invoke(cli, ["ipam", "show", str(synced), "--format", "json"]).stdout)
    pools = {row["pool"]: row for row in data["pools"]}
    assert pools["vpn-a-wireguard"]["addresses"] == [
        {"address": "10.131.0.2", "member": "device:nb-0001", "since": "2026-11-22"}]
    assert pools["vpn-a-openvpn"]["capacity"] == 253 and pools["vpn-a-openvpn"]["without_address"] == 0
    unknown = runner.invoke(cli, ["ipam", "show", str(synced), "--pool", "nope"])
    assert unknown.exit_code == 1 and "unknown pool 'nope'" in unknown.stderr


def test_plan_returns_issues_instead_of_raising():
    _, issues = plan(make_inventory(["amueller"], pins={"amueller": "10.128.0.31"}), Allocations(), DAY)
    assert [issue.rule for issue in issues] == ["allocations.pin_reserved"]


def test_cli_sync_of_a_new_organisation_prints_a_summary(tmp_path: Path):
    """2,400 addresses at once: one line per pool, every address only with --verbose."""
    import shutil

    from tests.conftest import SAMPLE

    inv = tmp_path / "city"
    shutil.copytree(SAMPLE, inv)
    (inv / ALLOCATIONS_FILE).unlink()
    runner = CliRunner()
    quiet = runner.invoke(cli, ["ipam", "sync", str(inv), "--dry-run", "--today", "2026-11-22"])
    assert quiet.exit_code == 0, quiet.output
    assert quiet.stdout.splitlines() == [
        "1358 change(s) in 4 pool(s); --verbose lists each address",
        "vpn-a-openvpn: 667 allocated", "vpn-a-wireguard: 12 allocated", "vpn-b-openvpn: 667 allocated",
        "vpn-b-wireguard: 12 allocated", f"dry run: {inv / ALLOCATIONS_FILE} not written (1358 change(s))"]
    verbose = runner.invoke(cli, ["ipam", "sync", str(inv), "--dry-run", "--verbose", "--today", "2026-11-22"])
    assert "vpn-a-openvpn   allocated 10.128.0.2      person:aalbrecht" in verbose.stdout
    assert len(verbose.stdout.splitlines()) == 1358 + 5


def test_cli_sync_json_lists_every_change(minimal_copy: Path):
    import json

    result = CliRunner().invoke(cli, ["ipam", "sync", str(minimal_copy), "--format", "json", "--today", "2026-11-22"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["written"] is True and data["dry_run"] is False
    assert data["counts"] == {"vpn-a-openvpn": {"allocated": 2}, "vpn-a-wireguard": {"allocated": 1}}
    assert {"kind": "allocated", "pool": "vpn-a-openvpn", "member": "person:jmueller", "address": "10.130.0.2",
            "note": ""} in data["changes"]
    assert (minimal_copy / ALLOCATIONS_FILE).exists()
