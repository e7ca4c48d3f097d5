"""Queues at run time: who waits, at which stage, and who serves.

Per stage a queue keeps two sorted lists of order keys (`ordering.py`):
entries *waiting* for an agent and entries *offered* to one (ringing).
Dispatch reads only the waiting heads; position counts both, since an
offered entry will most likely be served first.  Sorted lists (bisect) give
both the head and "how many are ahead of this key" in O(log n).  `keys`
holds every entry of the queue, whatever its stage, so that counting a
whole queue ahead of a key is one bisect.  `heads[s]` is the smallest
waiting key at stage s or later: an agent admitted from stage s takes its
candidate from this queue in one lookup.

`serving[s]` is a bit set of the serving agents admitted at stage s (bit =
agent ordinal): its population count is the n of the EWT, a non-zero AND of
two stages' sets means those entries compete for the same agents, and an
empty final stage means nobody who could ever take the entry is there.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from itertools import count
from typing import TYPE_CHECKING

from fsrouter.acd.ewt import HandleTimes
from fsrouter.acd.model import QueueSpec
from fsrouter.acd.pools import AgentPool
from fsrouter.acd.skills import Stage

if TYPE_CHECKING:
    from fsrouter.acd.events import EwtPromise, Offer
    from fsrouter.acd.ordering import OrderKey


class Entry:
    """A caller (or a callback) waiting in a queue; only the ACD touches it."""

    __slots__ = (
        "id", "queue", "arrival", "priority", "is_callback", "seq", "key", "stage", "offer",
        "announced", "promises", "relax_due", "max_wait_due", "overdue",
    )

    def __init__(self, entry_id: str, arrival: float, priority: int, is_callback: bool, seq: int) -> None:
        self.id = entry_id
        self.arrival = arrival
        self.priority = priority
        self.is_callback = is_callback
        self.seq = seq
        self.queue: QueueState
        self.key: OrderKey
        self.stage = 0
        self.offer: Offer | None = None
        self.announced: int | None = None  # lowest position announced so far
        self.promises: list[EwtPromise] = []
        self.relax_due: float | None = None
        self.max_wait_due: float | None = None
        self.overdue = False  # max wait reached while offered: time out if the offer fails


class QueueState:
    def __init__(self, spec: QueueSpec, stages: tuple[Stage, ...]) -> None:
        self.handle_times = HandleTimes(spec.ewt.window)
        self.last_turn: dict[str, int] = {}  # agent id -> this queue's latest offer to them
        self._turns = count()
        self.respecify(spec, stages)

    def respecify(self, spec: QueueSpec, stages: tuple[Stage, ...]) -> None:
        """Take a (reloaded) spec, emptied of entries, agents and serving
        masks, which the ACD then files again; what the queue has learnt
        (handle times, round-robin turns) is kept."""
        if spec.ewt.window != self.handle_times.window:
            self.handle_times = self.handle_times.resized(spec.ewt.window)
        self.spec = spec
        self.stages = stages
        self.waiting: list[list[OrderKey]] = [[] for _ in stages]
        self.offered: list[list[OrderKey]] = [[] for _ in stages]
        self.keys: list[OrderKey] = []  # all entries, waiting or offered, any stage
        self.heads: list[OrderKey | None] = [None] * len(stages)
        self.pools = [AgentPool() for _ in stages]
        self.serving = [0] * len(stages)
        self.waiting_count = 0

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def staffed(self) -> bool:
        return self.serving[-1] != 0

    def _list(self, entry: Entry) -> list[OrderKey]:
        return (self.offered if entry.offer else self.waiting)[entry.stage]

    @property
    def size(self) -> int:
        return len(self.keys)

    def add(self, entry: Entry) -> None:
        insort(self.keys, entry.key)
        self.place(entry)

    def discard(self, entry: Entry) -> None:
        self.unplace(entry)
        del self.keys[bisect_left(self.keys, entry.key)]

    def place(self, entry: Entry) -> None:
        """File the entry under its current stage and offer state."""
        insort(self._list(entry), entry.key)
        if entry.offer is None:
            self.waiting_count += 1
            self._update_heads()

    def unplace(self, entry: Entry) -> None:
        """Unfile the entry, before its stage or offer state changes."""
        keys = self._list(entry)
        del keys[bisect_left(keys, entry.key)]
        if entry.offer is None:
            self.waiting_count -= 1
            self._update_heads()

    def _update_heads(self) -> None:
        best = None
        for stage in range(len(self.stages) - 1, -1, -1):
            keys = self.waiting[stage]
            if keys and (best is None or keys[0] < best):
                best = keys[0]
            self.heads[stage] = best

    def entry_ids(self) -> list[str]:
        return [key[-1] for key in self.keys]

    def stage_at(self, arrival: float, now: float) -> int:
        """Relaxation steps in force for an entry that arrived at `arrival`."""
        return sum(1 for step in self.spec.relax if arrival + step.after <= now)

    def relax_due(self, arrival: float, stage: int) -> float | None:
        """When the step after `stage` comes into force, if there is one."""
        steps = self.spec.relax
        return arrival + steps[stage].after if stage < len(steps) else None

    def take_turn(self, agent_id: str) -> None:
        self.last_turn[agent_id] = next(self._turns)

    def set_serving(self, first: int, bit: int, serving: bool) -> None:
        for stage in range(first, len(self.stages)):
            if serving:
                self.serving[stage] |= bit
            else:
                self.serving[stage] &= ~bit
