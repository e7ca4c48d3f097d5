"""Simulated time.

Every duration the simulator models (a prompt's length, a caller's pause, a
linger timeout) is in *sim seconds*; `time_scale` maps them onto real time so
a test can run a one-minute call in three seconds (``time_scale=0.05``)
without changing a single number in it.  Everything the simulator reports --
call timelines and the ``Event-Date-*`` headers of the events it sends -- is
in sim seconds too, so assertions read like the scenario they check.
"""

from __future__ import annotations

import math
import time

import gevent.event


class SimClock:
    """Sim seconds since the clock started, and waits measured in them."""

    def __init__(self, time_scale: float = 1.0, epoch: float | None = None) -> None:
        if not time_scale > 0:
            raise ValueError(f"time_scale must be > 0, not {time_scale!r}")
        self.time_scale = time_scale
        #: Wall-clock time (Unix seconds) that sim time 0 stands for.
        self.epoch = time.time() if epoch is None else epoch
        self._start = time.monotonic()

    def now(self) -> float:
        return (time.monotonic() - self._start) / self.time_scale

    def real(self, seconds: float) -> float | None:
        """Real seconds for a sim duration; None for an endless one."""
        return None if math.isinf(seconds) else max(0.0, seconds) * self.time_scale

    def sleep(self, seconds: float) -> None:
        gevent.sleep(self.real(seconds))

    def wait(self, event: gevent.event.Event, seconds: float = math.inf) -> bool:
        """Wait until `event` is set or `seconds` of sim time pass; True if it was set."""
        return event.wait(self.real(seconds))

    def wall(self, t: float | None = None) -> float:
        """The wall-clock time (Unix seconds) that sim time `t` (default: now) stands for."""
        return self.epoch + (self.now() if t is None else t)
