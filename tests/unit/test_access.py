"""The access layer: who may reach what over the VPN, as the concentrator and RADIUS deploys see it."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import netaddr
import pytest

from telework.inventory.loading import require_inventory
from telework.inventory.lookup import UnknownName, find_person
from telework.ipam.allocations import Allocations, allocations_path, sync
from telework.roles.vpn.concentrator import concentrator_view
from telework.roles.vpn.people import (
    OWNERLESS,
    AccessError,
    enrolled_usernames,
    vpn_people,
    vpn_person,
)
from telework.roles.vpn.radius import radius_view
from telework.roles.vpn.revocations import (
    Revocation,
    RevocationsError,
    clear_revocation,
    load_revocations,
    record_revocation,
    revocations_path,
)

from ..conftest import SAMPLE, edit


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    """A writable copy of the sample city (750 people), nobody enrolled yet."""
    target = tmp_path / "gruenfelden"
    shutil.copytree(SAMPLE, target)
    return target


def enroll_marker(inventory: Path, *usernames: str) -> None:
    """Mark people enrolled the way the access layer sees it: a totp/<username> secret file."""
    directory = inventory / "secrets" / "totp"
    directory.mkdir(parents=True, exist_ok=True)
    for username in usernames:
        (directory / f"{username}.age").write_text("-----BEGIN AGE ENCRYPTED FILE-----\n")


def enroll_everyone(inventory: Path) -> list[str]:
    loaded = require_inventory(inventory)
    names = [p.username for p in loaded.model.people if p.vpn]
    enroll_marker(inventory, *names)
    return names


def add_person(inventory: Path, line: str) -> None:
    """Append a person to the Rathaus file and give them their addresses, as ops would."""
    path = inventory / "people" / "rathaus.yml"
    path.write_text(path.read_text(encoding="utf-8") + line + "\n", encoding="utf-8")
    loaded = require_inventory(inventory)
    result = sync(loaded.model, Allocations.load(allocations_path(inventory)), date(2026, 12, 1))
    result.allocations.save(allocations_path(inventory))


# ---------------------------------------------------------------- people


def test_vpn_people_have_department_and_extra_networks_and_an_address_per_concentrator(sample):
    loaded = require_inventory(sample)
    people = {p.username: p for p in vpn_people(loaded)}
    asommer = people["asommer"]  # schulverwaltung + extra_access fv-einwohner
    assert asommer.networks == ["fileserver", "fv-einwohner", "intranet"]
    assert asommer.prefixes == [netaddr.IPNetwork(p) for p in ("10.20.1.0/24", "10.20.2.0/24", "10.20.11.0/24")]
    allocations = Allocations.load(allocations_path(sample))
    assert asommer.openvpn_address == {
        "vpn-a": allocations.address_of("vpn-a-openvpn", "person:asommer"),
        "vpn-b": allocations.address_of("vpn-b-openvpn", "person:asommer"),
    }
    assert asommer.openvpn_address["vpn-a"] in netaddr.IPNetwork("10.128.0.0/22")
    assert asommer.has_access and not asommer.enrolled and not asommer.revoked
    assert "abecker" not in people  # vpn: false
    assert list(people) == sorted(people)


def test_suspended_and_revoked_people_are_listed_without_access(sample):
    loaded = require_inventory(sample)
    suspended = next(p for p in loaded.model.people if p.vpn and p.status.value == "suspended")
    record_revocation(sample, "asommer", "left the administration", by="Jana Admin", today=date(2026, 11, 23))
    people = {p.username: p for p in vpn_people(require_inventory(sample))}
    assert not people[suspended.username].has_access
    assert people["asommer"].revoked and not people["asommer"].has_access
    assert people["asommer"].revocation == Revocation(date(2026, 11, 23), "left the administration", "Jana Admin")


def test_enrolled_is_read_from_secret_file_names_without_decrypting(sample):
    enroll_marker(sample, "asommer", "awolf")
    assert enrolled_usernames(sample) == {"asommer", "awolf"}
    assert vpn_person(require_inventory(sample), "asommer").enrolled


def test_unknown_username_names_the_closest_ones(sample):
    with pytest.raises(UnknownName, match=r"no person 'asomer' in .*; did you mean asommer, "):
        find_person(require_inventory(sample), "asomer")
    with pytest.raises(UnknownName, match=r"no person 'zzzzzz' .*\(check the spelling\)"):
        vpn_person(require_inventory(sample), "zzzzzz")


# ---------------------------------------------------------------- concentrators


def test_only_enrolled_people_with_access_are_openvpn_clients(sample):
    enroll_marker(sample, "asommer", "awolf", "abecker")  # abecker has vpn: false
    record_revocation(sample, "awolf", "device lost", by="Jana Admin")
    view = concentrator_view(require_inventory(sample), "vpn-b")
    assert [c.username for c in view.openvpn_clients] == ["asommer"]
    [client] = view.openvpn_clients
    allocations = Allocations.load(allocations_path(sample))
    assert client.address == allocations.address_of("vpn-b-openvpn", "person:asommer")
    assert client.group == "schulverwaltung+fv-einwohner"
    assert view.openvpn_pool.address == netaddr.IPAddress("10.128.4.1")
    assert str(view.openvpn_pool.interface) == "10.128.4.1/22"
    assert str(view.wireguard_pool.interface) == "10.129.1.1/24"
    assert view.auth_server.name == "radius-1"
    assert (view.server_key_secret, view.radius_secret, view.wireguard_key_secret, view.tls_crypt_secret) == (
        "openvpn/server-key/vpn-b", "radius/secret/vpn-b", "wireguard/server-key/vpn-b", "openvpn/tls-crypt")


def test_wireguard_peers_drop_out_when_their_owner_loses_access(sample):
    loaded = require_inventory(sample)
    peers = {p.name: p for p in concentrator_view(loaded, "vpn-a").wireguard_peers}
    assert set(peers) == {d.name for _, d in loaded.model.managed_endpoints()}
    nb = peers["nb-0001"]
    owner = vpn_person(loaded, "oiwanowa")
    assert nb.owner == "oiwanowa" and nb.networks == owner.networks and nb.prefixes == owner.prefixes
    assert nb.address == Allocations.load(allocations_path(sample)).address_of("vpn-a-wireguard", "device:nb-0001")
    record_revocation(sample, "oiwanowa", "left", by="Jana Admin")
    after = {p.name for p in concentrator_view(require_inventory(sample), "vpn-a").wireguard_peers}
    assert after == set(peers) - {"nb-0001"}


def test_ownerless_device_reaches_what_every_department_reaches(sample):
    edit(sample / "endpoints" / "notebooks.yml", "name: nb-0002, site: technisches-rathaus, owner: speters, ",
         "name: nb-0002, site: technisches-rathaus, ")
    view = concentrator_view(require_inventory(sample), "vpn-a")
    nb = next(p for p in view.wireguard_peers if p.name == "nb-0002")
    assert nb.owner is None and nb.networks == ["fileserver", "intranet"] and nb.group == OWNERLESS
    group = next(g for g in view.access_groups if g.name == OWNERLESS)
    assert group.members == ["device:nb-0002"] and group.department is None


def test_access_groups_and_rules_cover_every_client_and_peer_once(sample):
    enroll_everyone(sample)
    loaded = require_inventory(sample)
    view = concentrator_view(loaded, "vpn-a")
    assert len(view.openvpn_clients) == sum(p.has_access for p in vpn_people(loaded))
    members = [m for g in view.access_groups for m in g.members]
    expected = ([f"person:{c.username}" for c in view.openvpn_clients]
                + [f"device:{p.name}" for p in view.wireguard_peers])
    assert sorted(members) == sorted(expected)  # each exactly once
    # One set per department (plus one per distinct extra network combination), not per person.
    assert len(view.access_groups) < 40 < len(members)
    assert len({g.set_name for g in view.access_groups}) == len(view.access_groups)
    assert all(g.set_name.replace("_", "").isalnum() for g in view.access_groups)
    sources = {c.address for c in view.openvpn_clients} | {p.address for p in view.wireguard_peers}
    assert {r.source.ip for r in view.access_rules} == sources
    assert len(view.access_rules) == sum(len(g.sources) * len(g.destinations) for g in view.access_groups)
    # A person's rules are exactly their networks; nobody reaches what their group does not.
    rules_of: dict = {}
    for rule in view.access_rules:
        rules_of.setdefault(rule.source.ip, set()).add(rule.destination)
    for client in view.openvpn_clients:
        assert rules_of.get(client.address, set()) == set(client.prefixes), client.username
    assert view.internal_routes == sorted({d for g in view.access_groups for d in g.destinations})
    assert netaddr.IPNetwork("10.20.13.0/24") in view.internal_routes  # fv-personal (Personalamt)
    assert netaddr.IPNetwork("10.20.64.0/18") not in view.internal_routes  # office clients: nobody


def test_views_are_deterministic(sample):
    enroll_everyone(sample)
    first = concentrator_view(require_inventory(sample), "vpn-a")
    second = concentrator_view(require_inventory(sample), "vpn-a")
    assert first == second and repr(first) == repr(second)
    assert repr(radius_view(require_inventory(sample), "radius-1")) == repr(
        radius_view(require_inventory(sample), "radius-1"))


def test_a_new_person_does_not_change_anyone_elses_rules(sample):
    enroll_everyone(sample)
    before = concentrator_view(require_inventory(sample), "vpn-a")
    add_person(sample, '  - {username: zneu, name: Zoe Neu, department: kaemmerei, site: rathaus, vpn: true}')
    enroll_marker(sample, "zneu")
    after = concentrator_view(require_inventory(sample), "vpn-a")
    new = next(c for c in after.openvpn_clients if c.username == "zneu")
    added = set(after.access_rules) - set(before.access_rules)
    assert added == {r for r in after.access_rules if r.source.ip == new.address}
    assert set(before.access_rules) <= set(after.access_rules)
    assert [c for c in after.openvpn_clients if c.username != "zneu"] == before.openvpn_clients
    assert [g.set_name for g in after.access_groups] == [g.set_name for g in before.access_groups]


def test_a_client_without_tunnel_address_stops_the_view_with_the_fix(sample):
    add_person(sample, '  - {username: zneu, name: Zoe Neu, department: kaemmerei, site: rathaus, vpn: true}')
    shutil.copy(SAMPLE / "allocations.yml", sample / "allocations.yml")  # sync forgotten
    enroll_marker(sample, "zneu")
    with pytest.raises(AccessError, match=r"vpn-a: 1 client\(s\) have no tunnel address: person:zneu in "
                                          r"vpn-a-openvpn \(fix: run `telework ipam sync .*` and commit"):
        concentrator_view(require_inventory(sample), "vpn-a")


def test_unknown_concentrator(sample):
    with pytest.raises(UnknownName, match=r"no VPN concentrator 'vpn-c' .*did you mean vpn-b, vpn-a\?"):
        concentrator_view(require_inventory(sample), "vpn-c")


def test_concentrator_view_of_everyone_enrolled(sample):
    """The whole sample enrolled: every VPN user is a client (speed: benchmarks/, never timed here)."""
    enroll_everyone(sample)
    view = concentrator_view(require_inventory(sample), "vpn-a")
    assert len(view.openvpn_clients) > 600


# ---------------------------------------------------------------- RADIUS


def test_radius_view_names_secrets_and_lists_enrolled_people_with_access(sample):
    enroll_marker(sample, "asommer", "awolf", "abecker")
    view = radius_view(require_inventory(sample), "radius-1")
    assert [(c.name, str(c.address), c.secret) for c in view.clients] == [
        ("vpn-a", "10.20.0.11", "radius/secret/vpn-a"), ("vpn-b", "10.20.0.12", "radius/secret/vpn-b")]
    assert [(u.username, u.totp_secret) for u in view.users] == [
        ("asommer", "totp/asommer"), ("awolf", "totp/awolf")]
    with pytest.raises(UnknownName, match="no auth server 'radius-2'.*did you mean radius-1"):
        radius_view(require_inventory(sample), "radius-2")


# ---------------------------------------------------------------- revocations.yml


def test_revocations_file_is_sorted_stable_and_round_trips(sample):
    record_revocation(sample, "zneu", "contract ended", by="Jana Admin", today=date(2026, 11, 23))
    record_revocation(sample, "asommer", 'phone "lost"', by="Jörg Ops", today=date(2026, 11, 24))
    text = revocations_path(sample).read_text()
    assert text.index("  asommer:") < text.index("  zneu:")
    assert '    reason: "phone \\"lost\\""\n    by: "Jörg Ops"\n' in text
    assert load_revocations(sample)["asommer"] == Revocation(date(2026, 11, 24), 'phone "lost"', "Jörg Ops")
    assert clear_revocation(sample, "asommer") is not None and clear_revocation(sample, "asommer") is None
    assert list(load_revocations(sample)) == ["zneu"]
    assert require_inventory(sample).errors == []  # access/ is not read as inventory sections


def test_a_broken_revocations_file_names_file_and_line(sample):
    record_revocation(sample, "asommer", "left", by="Jana Admin", today=date(2026, 11, 23))
    path = revocations_path(sample)
    path.write_text(path.read_text().replace("    date: 2026-11-23\n", "    date: 23.11.2026\n"))
    with pytest.raises(RevocationsError, match=rf"{path}:6: asommer: date '23.11.2026' is not YYYY-MM-DD"):
        load_revocations(sample)
    path.write_text(path.read_text().replace('    by: "Jana Admin"\n', ""))
    with pytest.raises(RevocationsError, match=rf"{path}:5: asommer: 'by' is missing"):
        load_revocations(sample)
    with pytest.raises(RevocationsError, match="needs a reason"):
        record_revocation(sample, "asommer", "  ")
