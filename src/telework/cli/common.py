"""What every command shares: the inventory argument, error reporting, the console."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from rich.console import Console

from telework.core.problems import TeleworkError

#: Commands take the inventory directory as an optional argument; this is the default.
DEFAULT_INVENTORY = os.environ.get("TELEWORK_INVENTORY", "inventory/sample")

#: CI logs are not terminals: give tables room instead of rich's 80-column fallback.
_WIDTH = None if sys.stdout.isatty() or "COLUMNS" in os.environ else 160
console = Console(highlight=False, width=_WIDTH)
err_console = Console(stderr=True, highlight=False, width=_WIDTH)


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
