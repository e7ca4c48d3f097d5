"""The one ordering of waiting entries, shared by dispatch and by position.

An entry's key is its *virtual arrival* (when it arrived, minus the time
credit its priority buys: `QueueSpec.credit_seconds`), then its enqueue
sequence, then its id.  Dispatch serves, among entries that have an eligible
agent, the smallest key; position counts the competing keys below yours.
Both read the same key, so what a caller is told is what happens.  Callback
entries carry their original arrival and so take the place they left.

Position, precisely: 1 + the number of entries, waiting or ringing, whose
key is smaller and which compete with this one, i.e. are in the same queue,
or are admitted (at their current stage) by at least one serving agent who
also admits this entry (at its current stage).  Entries of another queue
count when they wait for some of the same agents, since those agents will
serve them first; entries that no agent of yours can take do not.  While no
agent serves the queue, only its own line counts.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable
from typing import TYPE_CHECKING

from fsrouter.acd.model import QueueSpec

if TYPE_CHECKING:
    from fsrouter.acd.queues import Entry, QueueState

OrderKey = tuple[float, int, str]
"""(virtual arrival, enqueue sequence, entry id)."""


def order_key(arrival: float, priority: int, spec: QueueSpec, seq: int, entry_id: str) -> OrderKey:
    return (arrival - spec.credit_seconds(priority), seq, entry_id)


class Competition:
    """Which queue stages compete with which, cached until serving agents change.

    `of(queue, stage)` lists (queue, first competing stage) pairs: the
    entry's own queue from stage 0, and every other queue from the first
    stage whose serving agents include one who serves the entry.  Stages
    only widen, so every later stage of that queue competes too.
    """

    def __init__(self, queues: Iterable[QueueState]) -> None:
        self._queues = list(queues)
        self._cache: dict[tuple[QueueState, int], list[tuple[QueueState, int]]] = {}

    def changed(self) -> None:
        self._cache.clear()

    def of(self, queue: QueueState, stage: int) -> list[tuple[QueueState, int]]:
        found = self._cache.get((queue, stage))
        if found is None:
            mine = queue.serving[stage]
            found = [(queue, 0)]
            for other in self._queues:
                if other is not queue and other.serving[-1] & mine:
                    found.append((other, next(n for n, agents in enumerate(other.serving) if agents & mine)))
            self._cache[(queue, stage)] = found
        return found


def position(entry: Entry, competition: Competition) -> int:
    return position_of(entry.key, entry.queue, entry.stage, competition)


def position_of(key: OrderKey, queue: QueueState, stage: int, competition: Competition) -> int:
    """The position an entry with `key` at `stage` of `queue` has, whether
    it waits or not (the admin API asks it for a caller who would join now)."""
    ahead = 0
    for queue, first in competition.of(queue, stage):
        if not queue.keys:
            continue
        if first == 0:
            ahead += bisect_left(queue.keys, key)
            continue
        for stage in range(first, len(queue.stages)):
            for keys in (queue.waiting[stage], queue.offered[stage]):
                if keys:
                    ahead += bisect_left(keys, key)
    return ahead + 1
