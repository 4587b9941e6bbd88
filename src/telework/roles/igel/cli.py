"""`telework igel`: files an IGEL administrator needs beside what plan/apply do in the UMS."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import click

from telework.cli.common import console, inventory_argument


@click.group("igel")
def igel_group() -> None:
    """IGEL thin clients: bootstrap files for devices that have not met the UMS yet."""


@igel_group.command("bootstrap")
@inventory_argument
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="directory for <site>/os12/setup.ini and <site>/os11/setup.ini")
def bootstrap(inventory: Path, out: Path) -> None:
    """The setup.ini of a new device's first contact, per site and IGEL OS (for the OS Creator's
    initial settings): only where the UMS is and the structure tag (the site); every other
    setting comes from the UMS profiles once the device is registered."""
    from telework.core.atomicfile import write_atomic
    from telework.inventory.loading import require_inventory
    from telework.roles.igel.profiles import render_setup_ini

    model = require_inventory(inventory).model
    if model.ums is None:
        raise click.ClickException(f"{inventory} has no ums: section: no UMS to point devices at")
    parts = urlsplit(model.ums.url)
    sites = sorted({d.site for d in model.igel_devices})
    written = 0
    for site in sites:
        for os_major in (12, 11):
            params = {"ums": parts.hostname, "structure_tag": site}
            if os_major == 12 and parts.port:
                params["port"] = parts.port  # OS 11 devices use the UMS's own port 30001
            path = out / site / f"os{os_major}" / "setup.ini"
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(path, render_setup_ini(os_major, params), mode=0o644)
            written += 1
    console.print(f"{written} setup.ini file(s) for {len(sites)} site(s) in {out}")
