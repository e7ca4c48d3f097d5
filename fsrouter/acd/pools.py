"""Pools of offerable agents, one per queue stage, best agent first.

An agent sits in the pool of the first stage of each queue that admits it,
ordered by the queue's strategy key.  The best agent for an entry at stage s
is the best head among pools 0..s: a few heap peeks, whatever the number of
agents.

Pools are heaps with lazy deletion: an agent leaving (reserved, paused) only
bumps its `pool_token` and the pools' live counts, and items carrying an old
token are dropped when they surface.  Leaving is then a counter decrement per
queue instead of a list deletion per queue (agents often belong to a hundred
queues or more).  A pool with no live agent is emptied at once, and one whose
stale items outnumber its live ones is rebuilt, which bounds both the memory
and the stale items a peek may have to pop.
"""

from __future__ import annotations

from heapq import heapify, heappop, heappush
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fsrouter.acd.agents import Agent

PoolItem = tuple
"""(*strategy key, agent ordinal, pool token, agent): ordinals are unique, so
comparison never reaches the agent."""


def is_live(item: PoolItem) -> bool:
    agent: Agent = item[-1]
    return agent.pooled and agent.pool_token == item[-2]


class AgentPool:
    __slots__ = ("_heap", "live")

    def __init__(self) -> None:
        self._heap: list[PoolItem] = []
        self.live = 0  # agents in the pool; kept by the dispatcher

    def push(self, item: PoolItem) -> None:
        heappush(self._heap, item)
        if len(self._heap) > 2 * self.live + 16:
            self._heap = [kept for kept in self._heap if is_live(kept)]
            heapify(self._heap)

    def peek(self) -> PoolItem | None:
        heap = self._heap
        if not self.live:
            heap.clear()
            return None
        while heap:
            if is_live(heap[0]):
                return heap[0]
            heappop(heap)
        return None
