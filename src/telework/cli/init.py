"""`telework init ORG DIR`: a new organisation repository from the built-in sample."""

from __future__ import annotations

from pathlib import Path

import click
from rich.markup import escape

from telework.cli.common import console


@click.command()
@click.argument("organisation")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def init(organisation: str, directory: Path) -> None:
    """Make DIRECTORY an inventory repository for ORGANISATION (a slug such as kreis-nordheim):
    the sample organisation to edit, the example CI pipeline, the JSON Schema for editors."""
    from telework.inventory.organisation_repo import make_organisation_repo

    written = make_organisation_repo(organisation, directory)
    for path in written:
        console.print(escape(f"wrote {path}"), soft_wrap=True)
    console.print(escape(
        f"next: edit {directory}/inventory (organisation.yml first), `telework validate {directory}/inventory`, "
        f"`telework secret init {directory}/inventory`, then commit"), soft_wrap=True)
