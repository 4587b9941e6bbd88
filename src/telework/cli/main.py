"""Entry point: `telework <command>`. Each command group lives in its own module."""

from __future__ import annotations

import click

from .. import __version__
from .common import TeleworkGroup
from .inventory_cmds import inventory, schema, validate


@click.group(cls=TeleworkGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="telework")
def cli() -> None:
    """Infrastructure as code for a public administration's home-office estate."""


cli.add_command(validate)
cli.add_command(inventory)
cli.add_command(schema)


def main() -> None:
    cli(prog_name="telework")
