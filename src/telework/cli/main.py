"""Entry point: `telework <command>`. Each command group lives in its own module.

Commands are imported when they run, not at start-up: `telework plan` in every merge request
should not pay for the PKI, audit and enrolment code (importing every command took 0.34 s).
"""

from __future__ import annotations

import importlib

import click

from telework import __version__
from telework.cli.common import TeleworkGroup
from telework.roles.registry import roles

#: telework's own commands, in `telework --help` order (the roles' come between the two groups)
GENERIC = {
    "init": "telework.cli.init:init",
    "validate": "telework.cli.inventory_cmds:validate",
    "inventory": "telework.cli.inventory_cmds:inventory",
    "schema": "telework.cli.inventory_cmds:schema",
    "generate": "telework.cli.generate:generate",
    "ipam": "telework.cli.ipam:ipam",
    "secret": "telework.cli.secret:secret",
    "person": "telework.cli.person:person",
}
WORKFLOW = {
    "lab": "telework.lab.cli:lab",
    "plan": "telework.cli.plan:plan",
    "apply": "telework.cli.plan:apply",
    "verify": "telework.cli.plan:verify",
    "audit": "telework.cli.audit:audit",
}
#: command name -> "module:attribute": telework's own, and each role's (telework.roles.registry)
COMMANDS = {**GENERIC, **{name: target for role in roles() for name, target in role.cli.items()}, **WORKFLOW}


class LazyGroup(TeleworkGroup):
    """A click group whose subcommands are imported on first use (click's documented pattern)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        target = COMMANDS.get(name)
        if target is None:
            return None
        module, attribute = target.split(":")
        return getattr(importlib.import_module(module), attribute)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="telework")
def cli() -> None:
    """Infrastructure as code for a public administration's home-office estate."""


def main() -> None:
    cli(prog_name="telework")
