"""Time for the IMI client and the fake UMS: a real clock, a fake one, and the command throttle.

Commands (`settings2tc`, `reboot`, ...) make devices contact the UMS; sent to a whole fleet at
once they can overload the UMS or the ICG (IGEL-Community/IGEL-Custom-Partitions PR #23 removed
scripts that took customer environments down that way). The throttle spaces batches so that a
rate set by the caller is never exceeded. Both take a `Clock`, so tests advance time instead of
sleeping, and the fake UMS can stamp its request log with the same clock.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The machine's monotonic clock."""

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class FakeClock:
    """A clock that only moves when told to (`advance`) or when someone sleeps on it."""

    def __init__(self, start: float = 1000.0) -> None:
        self._now = start
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        with self._lock:
            return self._now

    def sleep(self, seconds: float) -> None:
        self.advance(max(0.0, seconds))

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds


class Throttle:
    """Spaces batches so that at most `rate` items per second are sent, over any run of batches.

    A batch starts no earlier than `start of the previous batch + its size / rate`. The state
    lives in the throttle, so the rate holds across calls (e.g. one `settings2tc` per ring).
    """

    def __init__(self, rate: float, clock: Clock) -> None:
        if not rate > 0:
            raise ValueError(f"command rate must be > 0 devices per second, not {rate!r}")
        self.rate = rate
        self.clock = clock
        self._next_allowed: float | None = None
        self._lock = threading.Lock()

    def wait_for(self, items: int) -> float:
        """Block until a batch of `items` may go; returns the seconds waited."""
        with self._lock:
            waited = 0.0
            now = self.clock.monotonic()
            if self._next_allowed is not None and now < self._next_allowed:
                waited = self._next_allowed - now
                self.clock.sleep(waited)
                now = self.clock.monotonic()
            self._next_allowed = now + items / self.rate
            return waited
