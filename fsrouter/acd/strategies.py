"""Strategies: which of the agents able to take an entry gets it.

A strategy is a sort key over agents, smallest first, read when the agent
enters a queue's pool.  Keys only use facts that cannot change while the
agent sits in the pool (it leaves the pool before any call changes them), so
a pool never needs re-sorting.  Ties go to the longest idle agent, then to
declaration order, so every choice is deterministic and explainable.

- longest_idle: idle the longest (since its last call's wrap-up, login or
  resume; a miss sends it to the back).
- most_skilled: highest sum of levels in the queue's own required skills.
- fewest_calls / least_talk_time: fewest answered calls / least talk time,
  across all queues, since the agent was declared: an agent is one person
  however many queues share them.
- round_robin: the agent this queue offered a call to least recently
  (never first, then declaration order), i.e. rotation with memory.

ring_all is not offered: reserving every free agent for one caller costs the
callers behind them, and "an agent is offered one entry at a time" holds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from fsrouter.acd.model import Strategy

if TYPE_CHECKING:
    from fsrouter.acd.agents import Agent
    from fsrouter.acd.pools import PoolItem
    from fsrouter.acd.queues import QueueState


def _longest_idle(queue: QueueState, agent: Agent) -> tuple:
    return (agent.idle_since,)


def _most_skilled(queue: QueueState, agent: Agent) -> tuple:
    skills = agent.spec.skills
    return (-sum(skills.get(skill, 0) for skill in queue.spec.require), agent.idle_since)


def _fewest_calls(queue: QueueState, agent: Agent) -> tuple:
    return (agent.calls, agent.idle_since)


def _least_talk_time(queue: QueueState, agent: Agent) -> tuple:
    return (agent.talk_time, agent.idle_since)


def _round_robin(queue: QueueState, agent: Agent) -> tuple:
    return (queue.last_turn.get(agent.id, -1),)


KEYS: dict[Strategy, Callable[[QueueState, Agent], tuple]] = {
    Strategy.LONGEST_IDLE: _longest_idle,
    Strategy.MOST_SKILLED: _most_skilled,
    Strategy.FEWEST_CALLS: _fewest_calls,
    Strategy.LEAST_TALK_TIME: _least_talk_time,
    Strategy.ROUND_ROBIN: _round_robin,
}


def pool_item(queue: QueueState, agent: Agent) -> PoolItem:
    return (*KEYS[queue.spec.strategy](queue, agent), agent.ordinal, agent.pool_token, agent)
