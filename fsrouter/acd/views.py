"""Read-only snapshots for the admin API and the CLI (`agents`, `queues`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from fsrouter.acd.ewt import Estimate
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


@dataclass(frozen=True, kw_only=True)
class EntryStatus:
    """One entry of a queue as the admin API shows it."""

    entry_id: str
    arrival: float
    position: int
    offered: bool  # an agent is being offered it (reserved or ringing)
    is_callback: bool
    estimate: Estimate | None


@dataclass(frozen=True, kw_only=True)
class QueueDetail:
    """A queue in full: its status, its entries by position, the agents it
    admits at some stage (ids), and the wait a caller joining now would be told."""

    status: QueueStatus
    entries: tuple[EntryStatus, ...]
    agent_ids: tuple[str, ...]
    estimate: Estimate | None
