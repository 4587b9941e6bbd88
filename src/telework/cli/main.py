"""Entry point: `telework <command>`. Each command group lives in its own module.

Commands are imported when they run, not at start-up: `telework plan` in every merge request
should not pay for the PKI, audit and enrolment code (importing every command took 0.34 s).
"""

from __future__ import annotations

import importlib

import click

from .. import __version__
from .common import TeleworkGroup

#: command name -> "module:attribute" (relative to telework.cli), in `telework --help` order
COMMANDS = {
    "validate": "inventory_cmds:validate",
    "inventory": "inventory_cmds:inventory",
    "schema": "inventory_cmds:schema",
    "generate": "generate:generate",
    "ipam": "ipam:ipam",
    "secret": "secret:secret",
    "pki": "pki:pki_group",
    "person": "person:person",
    "lab": "..lab.cli:lab",
    "plan": "plan:plan",
    "apply": "plan:apply",
    "verify": "plan:verify",
    "audit": "audit:audit",
    "pull": "pull:pull_group",
}


class LazyGroup(TeleworkGroup):
    """A click group whose subcommands are imported on first use (click's documented pattern)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        target = COMMANDS.get(name)
        if target is None:
            return None
        module, attribute = target.split(":")
        return getattr(importlib.import_module(_absolute(module)), attribute)


def _absolute(module: str) -> str:
    return "telework" + module[1:] if module.startswith("..") else f"telework.cli.{module}"


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="telework")
def cli() -> None:
    """Infrastructure as code for a public administration's home-office estate."""


def main() -> None:
    cli(prog_name="telework")
