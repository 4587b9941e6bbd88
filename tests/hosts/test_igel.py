"""IGEL devices as the UMS reports them (IMI v3, read only): placed and assigned as policy says.

IGEL devices are not reached over SSH; this suite asks the organisation's UMS, logged in as
the inventory's `ums:` section says (its CA verified, the password from the age secrets). It
checks bounds, not the values telework rendered: every active device of the inventory has
exactly one live record, inside the managed root and inside its ring's directory; no device
of IGEL OS 11 has an IGEL OS 12 profile assigned to it (the UMS would not apply it).
"""

from __future__ import annotations

import os

import pytest

pytestmark = pytest.mark.role("igel_devices")


@pytest.fixture(scope="module")
def ums(inventory):
    from telework.resources import sample_inventory
    from telework.roles.igel.verify import UmsView
    from telework.verify.hosts import INVENTORY_ENV

    if inventory.ums is None:
        pytest.fail("the inventory has IGEL devices but no `ums:` section: nothing says where they are managed")
    view = UmsView(os.environ.get(INVENTORY_ENV) or sample_inventory())
    yield view
    view.close()


def test_every_active_device_has_one_record_in_its_ring_directory(ums, inventory):
    """OPS.1.1.3.A15: each device is known to the UMS once, in its ring's directory, where the
    ring's firmware update reaches it."""
    wrong = []
    for device in inventory.igel_devices:
        if device.status.value != "active":
            continue
        records = ums.records(device.mac)
        if len(records) != 1:
            wrong.append(f"{device.name}: {len(records)} live UMS records")
        elif not ums.path(records[0]).startswith(f"{inventory.ums.root}/{device.ring}"):
            wrong.append(f"{device.name}: at {ums.path(records[0])}, not below {inventory.ums.root}/{device.ring}")
    assert not wrong, "; ".join(wrong[:10])


def test_the_telework_profiles_reach_each_device_for_its_igel_os(ums, inventory):
    """OPS.1.2.4.A2: the inventory's profiles (VPN, screen lock, USB storage) are assigned for the
    device's own IGEL OS, and never a profile of the other IGEL OS to the device itself."""
    wrong = []
    for d in inventory.igel_devices:
        if d.status.value != "active":
            continue
        major = int(d.firmware.split(".")[0])
        wanted = inventory.ums.os11_profiles if major == 11 else inventory.ums.os12_profiles
        for rec in ums.records(d.mac):
            direct = ums.direct_profiles(rec)
            crossed = [p for p in direct if ums.profile_major(p) not in (None, major)]
            missing = [p for p in wanted if p not in direct + ums.inherited_profiles(rec)]
            if crossed or missing:
                wrong.append(f"{d.name}: other IGEL OS {crossed}, missing {missing}")
    assert not wrong, "; ".join(wrong[:10])
