"""Dispatch: pair waiting entries with offerable agents, smallest order key first.

The rule: repeatedly take the waiting entry with the smallest key (see
`ordering.py`) that some offerable agent admits, and give it the agent its
queue's strategy ranks best among those.  One agent, one entry at a time:
the agent is reserved and the entry is offered before the next pair is
chosen.

Doing that by scanning everything would cost O(entries × agents).  Instead
an invariant is kept between dispatches: no *pooled* agent admits any
*waiting* entry (otherwise they would have been paired).  So only what
changed since can produce a pair:

* a *fresh agent* (just became offerable) can take any waiting entry: its
  best is the smallest of the queues' heads from the first stage that admits
  it (one lookup per queue, see `QueueState.heads`);
* a *fresh entry* (just joined, relaxed, or returned after a miss) can take
  any pooled agent: its best is the best head over its queue's pools.

A fresh agent that finds nothing joins the pools; a fresh entry that finds
nothing just waits.  With one change at a time (the normal case) a decision
is a few hundred list peeks, independent of the number of waiting entries
and agents; a burst of k changes costs O(k) per pair.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from fsrouter.acd.strategies import pool_item

if TYPE_CHECKING:
    from fsrouter.acd.agents import Agent
    from fsrouter.acd.ordering import OrderKey
    from fsrouter.acd.pools import PoolItem
    from fsrouter.acd.queues import Entry


class Dispatcher:
    def __init__(self, entries: Mapping[str, Entry]) -> None:
        self._entries = entries
        self._fresh_agents: dict[str, Agent] = {}
        self._fresh_entries: dict[str, Entry] = {}

    def agent_offerable(self, agent: Agent) -> None:
        if not agent.pooled:
            self._fresh_agents.setdefault(agent.id, agent)

    def agent_withdrawn(self, agent: Agent) -> None:
        self._fresh_agents.pop(agent.id, None)
        if agent.pooled:
            agent.pooled = False
            agent.pool_token += 1
            for queue, first in agent.eligibility.items():
                queue.pools[first].live -= 1

    def withdraw_all(self, agents: Iterable[Agent]) -> None:
        """Every agent out of the pools at once, which are being rebuilt
        empty (a reload): nothing to count down in them."""
        self._fresh_agents.clear()
        for agent in agents:
            if agent.pooled:
                agent.pooled = False
                agent.pool_token += 1

    def entry_waiting(self, entry: Entry) -> None:
        self._fresh_entries[entry.id] = entry

    def entry_withdrawn(self, entry: Entry) -> None:
        self._fresh_entries.pop(entry.id, None)

    def next_pair(self) -> tuple[Entry, Agent] | None:
        """The next entry to offer and the agent to offer it to, or None when done."""
        best: OrderKey | None = None
        for agent in list(self._fresh_agents.values()):
            key = self._best_entry(agent)
            if key is None:
                self._pool(agent)
            elif best is None or key < best:
                best = key
        for entry in list(self._fresh_entries.values()):
            if best is not None and entry.key >= best:
                continue  # cannot come first now; stays fresh for the next pair
            if self._best_agent(entry, with_fresh=False) is None:
                del self._fresh_entries[entry.id]
            else:
                best = entry.key
        if best is None:
            return None
        entry = self._entries[best[-1]]
        item = self._best_agent(entry, with_fresh=True)
        assert item is not None, "an entry chosen for dispatch has an eligible agent"
        return entry, item[-1]

    def _pool(self, agent: Agent) -> None:
        del self._fresh_agents[agent.id]
        agent.pooled = True
        for queue, first in agent.eligibility.items():
            pool = queue.pools[first]
            pool.live += 1
            pool.push(pool_item(queue, agent))

    @staticmethod
    def _best_entry(agent: Agent) -> OrderKey | None:
        best = None
        for queue, first in agent.eligibility.items():
            head = queue.heads[first]
            if head is not None and (best is None or head < best):
                best = head
        return best

    def _best_agent(self, entry: Entry, with_fresh: bool) -> PoolItem | None:
        queue = entry.queue
        best = None
        for stage in range(entry.stage + 1):
            item = queue.pools[stage].peek()
            if item is not None and (best is None or item < best):
                best = item
        if with_fresh:
            for agent in self._fresh_agents.values():
                first = agent.eligibility.get(queue)
                if first is not None and first <= entry.stage:
                    item = pool_item(queue, agent)
                    if best is None or item < best:
                        best = item
        return best
