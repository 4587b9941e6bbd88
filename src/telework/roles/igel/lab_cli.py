"""`telework lab fake-ums`: start the lab's stand-in for the UMS (telework.roles.igel.lab)."""

from __future__ import annotations

from pathlib import Path

import click

from telework.cli.common import console, inventory_argument


@click.command("fake-ums")
@inventory_argument
@click.option("--firmware", "firmwares", multiple=True, metavar="VERSION",
              help="an IGEL OS version the fake UMS knows (repeat); default: every version the "
                   "inventory's devices and rings name")
def fake_ums(inventory: Path, firmwares: tuple[str, ...]) -> None:
    """Start the FAKE UMS (a test double of IGEL's IMI v3, not an IGEL product) on the lab host
    `ums`, with a certificate from the organisation's CA and the inventory's profiles imported,
    as an administrator would have them; its state starts empty. Then `telework plan|apply`
    with the lab's overlay reach it over the lab network."""
    from telework.inventory.loading import require_inventory
    from telework.lab.lab import is_up, load_topology
    from telework.roles.igel.lab import start_fake_ums
    from telework.secrets.store import SecretStore

    model = require_inventory(inventory).model
    if model.ums is None:
        raise click.ClickException(f"{inventory} has no ums: section: nothing to stand in for")
    topo = load_topology(inventory)
    if not is_up(topo):
        raise click.ClickException(f"lab {topo.slug} is not up: `telework lab up {inventory}` first")
    versions = list(firmwares) or sorted({d.firmware for d in model.igel_devices}
                                         | {v for vs in model.ums.ring_firmware.values() for v in vs})
    majors = {int(v.split(".")[0]): v for v in sorted(versions)}
    profiles = [{"name": n, "firmware": majors.get(12, versions[0])} for n in model.ums.os12_profiles]
    profiles += [{"name": n, "firmware": majors.get(11, versions[0])} for n in model.ums.os11_profiles]
    url = start_fake_ums(topo, inventory, SecretStore(inventory), firmwares=versions, profiles=profiles)
    console.print(f"FAKE UMS on lab host ums: {url} (the lab overlay names it)")
