"""A read-only view of the UMS for checks (tests/hosts/test_igel.py, `telework person show`).

Logs in as the inventory's `ums:` section says (CA verified, password from the age secrets) and
reads the device list, directories, firmwares and profiles once; per-device reads only where a
caller asks for one device's assignments.
"""

from __future__ import annotations

from pathlib import Path

from telework.inventory.loading import require_inventory
from telework.roles.igel.imi import Device, ImiClient, normalise_mac
from telework.roles.igel.reconcile import _major
from telework.secrets.store import SecretStore


def client_for(inventory_dir: Path | str, ums, *, identity: Path | str | None = None,
               overlay: dict | None = None, timeout: float = 30.0) -> ImiClient:
    """An IMI client for the inventory's UMS (`ums`: its model section)."""
    from telework.roles.igel.ums_targets import UmsConfigError

    ca = Path(inventory_dir) / ums.ca_file
    if not ca.is_file():
        raise UmsConfigError(f"ums.ca_file: {ca} does not exist; put the PEM certificate of the CA "
                             "that issued the UMS's TLS certificate there")
    password = SecretStore(inventory_dir, identity).get(ums.password_secret)
    url = ((overlay or {}).get("ums") or {}).get("url") or ums.url
    return ImiClient(url, ums.user, password, ca_file=ca, command_rate=ums.command_rate,
                     command_batch=ums.command_batch, timeout=timeout)


class UmsView:
    """What the UMS reports about the inventory's IGEL devices."""

    def __init__(self, inventory_dir: Path | str, *, identity: Path | str | None = None,
                 overlay: dict | None = None):
        from telework.inventory.overlay import load_overlay

        self.inventory_dir = Path(inventory_dir)
        self.model = require_inventory(self.inventory_dir).model
        self.client = client_for(self.inventory_dir, self.model.ums, identity=identity,
                                 overlay=overlay if overlay is not None else load_overlay())
        self.devices = self.client.list_devices("details")
        self.directories = {d.id: d for d in self.client.list_directories()}
        self.firmwares = {f.id: f for f in self.client.list_firmwares()}
        self.profiles = {p.ref: p for p in [*self.client.list_profiles(), *self.client.list_master_profiles()]}

    def close(self) -> None:
        self.client.close()

    def records(self, mac: str) -> list[Device]:
        """Live (not in the recycle bin) records of a MAC."""
        want = normalise_mac(mac)
        return [d for d in self.devices if normalise_mac(d.mac) == want and not d.moved_to_bin]

    def path(self, device: Device) -> str:
        """The device's directory as 'A/B' from the top of the UMS tree ('' = the UMS root)."""
        parts, seen, did = [], set(), device.parent_id
        while did in self.directories and did not in seen:
            seen.add(did)
            parts.append(self.directories[did].name)
            did = self.directories[did].parent_id
        return "/".join(reversed(parts))

    def firmware(self, device: Device) -> str | None:
        fw = self.firmwares.get(device.firmware_id)
        return fw.version if fw else None

    def direct_profiles(self, device: Device) -> list[str]:
        """Names of the profiles assigned to the device itself, in order of application."""
        return [self.profiles[a.assignee].name if a.assignee in self.profiles else a.assignee.id
                for a in self.client.device_assignments(device.id)]

    def inherited_profiles(self, device: Device) -> list[str]:
        """Names of the profiles its directories pass down, from the top of the tree."""
        chain, seen, did = [], set(), device.parent_id
        while did in self.directories and did not in seen:
            seen.add(did)
            chain.append(did)
            did = self.directories[did].parent_id
        out = []
        for did in reversed(chain):
            out += [self.profiles[a.assignee].name if a.assignee in self.profiles else a.assignee.id
                    for a in self.client.directory_assignments(did)]
        return out

    def profile_major(self, name: str) -> int | None:
        for p in self.profiles.values():
            if p.name == name:
                fw = self.firmwares.get(p.firmware_id)
                return _major(fw.version) if fw else None
        return None
