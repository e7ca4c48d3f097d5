"""Deadlines, without a clock: the ACD is told the time and asks what is due.

A timer names a subject (an entry or an agent) and the attribute holding the
deadline the subject currently expects (`relax_due`, `max_wait_due`,
`ready_at`, `offer_expires`).  It is live only while that attribute still
equals its due time, so rescheduling or cancelling is just writing the
attribute; stale timers are dropped when they surface.  Handlers must change
the attribute, which also makes a timer fire at most once.
"""

from __future__ import annotations

from collections.abc import Iterator
from heapq import heappop, heappush
from itertools import count


class Timers:
    def __init__(self) -> None:
        self._heap: list[tuple[float, int, str, object]] = []
        self._seq = count()

    def schedule(self, due: float, field: str, subject: object) -> None:
        heappush(self._heap, (due, next(self._seq), field, subject))

    def _drop_stale(self) -> None:
        heap = self._heap
        while heap and getattr(heap[0][3], heap[0][2]) != heap[0][0]:
            heappop(heap)

    def next_due(self) -> float | None:
        self._drop_stale()
        return self._heap[0][0] if self._heap else None

    def pop_due(self, now: float) -> Iterator[tuple[float, str, object]]:
        """Yield live timers due at or before `now`, earliest first.

        Handlers may schedule more timers while this runs; those due by `now`
        are yielded too.
        """
        while (due := self.next_due()) is not None and due <= now:
            _, _, field, subject = heappop(self._heap)
            yield due, field, subject
