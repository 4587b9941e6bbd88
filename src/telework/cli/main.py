"""Entry point: `telework <command>`. Each command group lives in its own module."""

from __future__ import annotations

import click

from .. import __version__
from .audit import audit
from .common import TeleworkGroup
from .generate import generate
from .inventory_cmds import inventory, schema, validate
from .ipam import ipam
from .person import person
from .pki import pki_group
from .plan import apply, plan, verify
from .pull import pull_group
from .secret import secret
from ..lab.cli import lab


@click.group(cls=TeleworkGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="telework")
def cli() -> None:
    """Infrastructure as code for a public administration's home-office estate."""


cli.add_command(validate)
cli.add_command(inventory)
cli.add_command(schema)
cli.add_command(generate)
cli.add_command(ipam)
cli.add_command(secret)
cli.add_command(pki_group)
cli.add_command(person)
cli.add_command(lab)
cli.add_command(plan)
cli.add_command(apply)
cli.add_command(verify)
cli.add_command(audit)
cli.add_command(pull_group)


def main() -> None:
    cli(prog_name="telework")
