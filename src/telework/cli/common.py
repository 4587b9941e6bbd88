"""What every command shares: the inventory argument, error reporting, the console."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape

from telework.core.problems import TeleworkError

#: Commands take the inventory directory as an optional argument; this is the default.
DEFAULT_INVENTORY = os.environ.get("TELEWORK_INVENTORY", "inventory/sample")

#: Output into a pipe or a CI log is read by programs and people who scroll sideways: tables
#: never wrap there (rich would wrap at 80 columns). On a terminal rich fits its width.
PIPE_WIDTH = 4096


def _width(stream) -> int | None:
    return None if stream.isatty() else PIPE_WIDTH


console = Console(highlight=False, width=_width(sys.stdout))
err_console = Console(stderr=True, highlight=False, width=_width(sys.stderr))


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
        except OSError as exc:  # a file-system state (read-only, missing, full): a message, not a traceback
            err_console.print(f"[bold red]error:[/] {escape(os_error_message(exc))}", markup=True, soft_wrap=True)
            sys.exit(1)


def os_error_message(exc: OSError) -> str:
    """What failed on which file, and what to do about it."""
    import errno

    name = f" {exc.filename}" if exc.filename else ""
    text = f"{exc.strerror or exc}:{name}" if exc.strerror else str(exc)
    fixes = {
        errno.EACCES: "give the user running telework write access, or work in a writable clone",
        errno.EPERM: "give the user running telework write access, or work in a writable clone",
        errno.EROFS: "the file system is read-only: work in a writable clone",
        errno.ENOENT: "create the missing directory (mkdir -p) or give another path",
        errno.ENOTDIR: "a part of the path is a file, not a directory: give another path",
        errno.ENOSPC: "free some disk space and run the command again",
        errno.EISDIR: "give the path of a file, not of a directory",
    }
    fix = fixes.get(exc.errno or 0)
    return f"{text} (fix: {fix})" if fix else text
