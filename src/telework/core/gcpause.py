"""Bulk object building without the cyclic garbage collector stopping it again and again.

Loading and rendering an inventory creates millions of objects that all survive (the model,
the views, their rendered lines). Every few hundred allocations the collector walks the young
ones, and every so often the whole growing heap: at 50,000 people a render took 20 s with the
collector on and 12 s with it off (benchmarks/RESULTS.md). Nothing built here makes garbage
cycles worth collecting midway; the collector is back on as soon as the work is done.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import TypeVar

T = TypeVar("T")


@contextmanager
def gc_paused() -> Iterator[None]:
    """The collector off for the block (nested blocks leave it as the outer one decides)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def without_gc_pauses(func: Callable[..., T]) -> Callable[..., T]:
    """`func` runs inside `gc_paused()`."""

    @wraps(func)
    def wrapper(*args, **kwargs):
        with gc_paused():
            return func(*args, **kwargs)

    return wrapper
