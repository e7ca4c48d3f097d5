"""Read-only snapshots for the admin API and the CLI (`agents`, `queues`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from fsrouter.acd.model import AgentState


@dataclass(frozen=True, kw_only=True)
class AgentStatus:
    agent_id: str
    name: str
    state: AgentState
    reason: str
    ready_at: float | None  # wrap-up or miss delay ends then
    reachable: bool
    pending: str | None  # "pause" or "logout", applied once the agent is free
    skills: Mapping[str, int]
    calls: int
    talk_time: float
    consecutive_misses: int
    offer_id: int | None


@dataclass(frozen=True, kw_only=True)
class QueueStatus:
    queue: str
    waiting: int
    ringing: int
    serving_agents: int  # logged in, not paused, reachable, admitted at the queue's last stage
    offerable_agents: int  # of those, free to be offered a call now
    longest_wait: float
    handle_time_samples: int
