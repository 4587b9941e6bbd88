"""What every command shares: the inventory argument, error reporting, the console."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from rich.console import Console

from ..problems import TeleworkError

#: Commands take the inventory directory as an optional argument; this is the default.
DEFAULT_INVENTORY = os.environ.get("TELEWORK_INVENTORY", "inventory/sample")

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


def inventory_argument(func):
    return click.argument(
        "inventory", required=False, default=DEFAULT_INVENTORY,
        type=click.Path(file_okay=False, path_type=Path),
    )(func)


def fail(message: str, code: int = 1) -> None:
    err_console.print(f"[bold red]error:[/] {message}", markup=True, soft_wrap=True)
    sys.exit(code)


class TeleworkGroup(click.Group):
    """Turns every `TeleworkError` into a clear message and exit code 1, never a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except TeleworkError as exc:
            err_console.print(f"[bold red]error:[/] {exc}", markup=True, soft_wrap=True)
            sys.exit(1)
