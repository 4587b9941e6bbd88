"""The lab layout derived from an inventory: pure, no root needed."""

from __future__ import annotations

import netaddr
import pytest

from telework.inventory.loading import load_inventory
from telework.lab import lab as lab_impl
from telework.lab.errors import LabError, LabNotRoot, LabToolMissing
from telework.lab.image import apt_mirror, image_key
from telework.lab.overlay import overlay_data
from telework.lab.topology import build_topology

from ..conftest import MINIMAL, SAMPLE, edit


@pytest.fixture(autouse=True)
def _no_lab_suffix(monkeypatch):
    """These tests name the labs they expect: another engineer's $TELEWORK_LAB_SUFFIX must not
    rename them (the suffix has a test of its own below)."""
    monkeypatch.delenv("TELEWORK_LAB_SUFFIX", raising=False)



def topology(path=MINIMAL, **kwargs):
    loaded = load_inventory(path)
    assert not loaded.errors
    return build_topology(loaded.model, **kwargs)


def test_servers_keep_their_inventory_addresses():
    """Every server boots with its inventory address and default route via the network's gateway."""
    topo = topology()
    by_name = {h.name: h for h in topo.hosts}
    assert set(by_name) == {"vpn-a", "radius-1", "sip-1"}
    assert by_name["vpn-a"].address == netaddr.IPNetwork("10.30.0.11/24")
    assert by_name["vpn-a"].gateway == netaddr.IPAddress("10.30.0.1")
    assert by_name["vpn-a"].public_address == netaddr.IPAddress("198.51.100.30")
    assert by_name["radius-1"].public_address is None


def test_network_without_gateway_uses_first_host_address():
    """A network with no `gateway` gets its first host address in the core router."""
    topo = topology()
    gis = next(n for n in topo.hostless_networks if n.name == "gis-bauhof")
    assert gis.gateway == netaddr.IPAddress("10.31.0.1")


def test_notebooks_only_on_request_and_behind_their_own_home():
    """Notebooks are optional; each endpoint sits behind its own FRITZ!Box-like home router."""
    assert "nb-0001" not in {h.name for h in topology().hosts}
    topo = topology(include_notebooks=True)
    nb = topo.host("nb-0001")
    assert nb.home == "home-nb-0001" and nb.address is None
    assert [h.name for h in topo.homes] == ["home-1", "home-nb-0001"]


def test_management_range_avoids_inventory_networks(minimal_copy):
    """The controller's management range never overlaps an inventory network."""
    first = topology(minimal_copy).management
    assert first.prefixlen == 24 and first in netaddr.IPNetwork("10.199.0.0/16")
    edit(minimal_copy / "networks.yml", "prefix: 10.31.0.0/24", "prefix: 10.199.0.0/16")
    second = topology(minimal_copy).management
    assert second in netaddr.IPNetwork("172.31.0.0/16") and second.value & 0xFF00 == first.value & 0xFF00


def test_labs_of_different_organisations_get_different_management_ranges(minimal_copy):
    """The sample's lab and a benchmark's run side by side: the range follows the slug."""
    before = topology(minimal_copy)
    edit(minimal_copy / "organisation.yml", f"slug: {before.slug}", "slug: benchlab")
    after = topology(minimal_copy)
    assert after.management != before.management and after.root_link != before.root_link
    assert topology(minimal_copy).management == after.management  # stable


def test_names_carry_the_lab_prefix_and_fit_the_kernel():
    """Every namespace is tw-<slug>-…, the one root link fits 15 characters."""
    topo = topology(include_notebooks=True)
    names = [topo.switch_netns, topo.core_netns, *(h.netns for h in topo.hosts)]
    names += [h.router_netns for h in topo.homes] + [h.client_netns for h in topo.homes if h.client_netns]
    assert all(n.startswith(f"tw-{topo.slug}-") for n in names)
    assert len(set(names)) == len(names)
    assert topo.root_link.startswith("tw-") and len(topo.root_link) <= 15


def test_wan_addresses_are_on_the_internet_segment_and_unused():
    """Home routers get WAN addresses next to the public addresses, never one of them."""
    topo = topology(include_notebooks=True)
    publics = {h.public_address for h in topo.hosts if h.public_address}
    for home in topo.homes:
        assert home.wan_address in topo.internet and home.wan_address not in publics


def test_overlay_shape():
    """The overlay has exactly the keys the pyinfra adapter reads."""
    data = overlay_data(topology(include_notebooks=True))
    assert data["lab"] == "kleinoed"
    assert set(data["hosts"]["vpn-a"]) == {"ssh_hostname", "ssh_user", "ssh_key", "ssh_known_hosts_file", "apt_proxy",
                                          "base_extra_management_networks"}
    assert data["homes"]["home-1"]["client_address"] == "192.168.178.20"
    assert data["homes"]["home-nb-0001"]["client_netns"] == "tw-kleinoed-nb-0001"


def test_image_key_changes_with_package_list():
    """A changed package list builds a new base image instead of reusing a stale one."""
    assert image_key("http://m/debian") != image_key("http://m/debian", packages=("systemd",))


def test_apt_mirror_reads_deb822_sources(tmp_path):
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d" / "debian.sources").write_text(
        "Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm\n\n"
        "Types: deb\nURIs: http://mirror.example/debian-security\n")
    assert apt_mirror(tmp_path) == "http://mirror.example/debian"


def test_not_root_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(lab_impl.os, "geteuid", lambda: 1000)
    with pytest.raises(LabNotRoot, match="needs root"):
        lab_impl.preflight()


def test_missing_tool_names_the_apt_command(monkeypatch):
    monkeypatch.setattr(lab_impl.os, "geteuid", lambda: 0)
    monkeypatch.setattr(lab_impl.shutil, "which", lambda t: None if t == "debootstrap" else "/bin/" + t)
    with pytest.raises(LabToolMissing) as exc:
        lab_impl.preflight()
    assert isinstance(exc.value, LabError)
    assert str(exc.value) == (
        "telework lab needs debootstrap which is not installed (fix: apt-get install -y debootstrap "
        "systemd-container apt-cacher-ng nftables iproute2 openssh-client)")


def test_a_lab_suffix_gives_a_second_lab_of_its_own(monkeypatch):
    """$TELEWORK_LAB_SUFFIX: another engineer's lab of the same organisation on the same machine
    shares no namespace, link, range or record with the first."""
    from telework.inventory.loading import load_inventory
    from telework.lab.topology import build_topology

    from tests.conftest import SAMPLE

    inv = load_inventory(SAMPLE).model
    first = build_topology(inv)
    monkeypatch.setenv("TELEWORK_LAB_SUFFIX", "-h1")
    second = build_topology(inv)
    assert (first.slug, second.slug) == ("gruenfelden", "gruenfelden-h1")
    assert not {h.netns for h in first.hosts} & {h.netns for h in second.hosts}
    assert first.root_link != second.root_link and first.management != second.management


def test_the_ums_host_keeps_its_management_address_with_or_without_notebooks():
    """`lab status` lays the lab out with notebooks; the UMS stand-in must be where `up` put it."""
    from telework.lab.topology import UMS_HOST

    loaded = load_inventory(SAMPLE)
    plain, full = build_topology(loaded.model), build_topology(loaded.model, include_notebooks=True)
    assert plain.host(UMS_HOST).management_address == full.host(UMS_HOST).management_address
    assert str(plain.host(UMS_HOST).address) == "10.20.0.41/24"
