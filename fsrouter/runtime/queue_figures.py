"""Live figures per queue, computed once for everyone who shows them: the
admin API (`GET /queues`), the wallboard and Prometheus' `/metrics`.

They are read from the queue runtime's ACD at the moment they are asked for
(`InMemoryAcd.queue_detail`) and joined with what the runtime knows of each
call (the caller's number); nothing is kept or counted here, so the figures
cannot drift from what the ACD decides.  The cost is one pass over each
queue's entries (a position each, O(log n)) and one over the agents.

Queues are the ACD's: a rules queue with templated skills is one ACD queue
per binding (`billing[language=de]`), since positions and waits are per
binding; a queue a reload removed is listed while callers still wait in it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fsrouter.acd.ewt import Estimate
from fsrouter.acd.model import AgentState
from fsrouter.acd.views import AgentStatus, QueueDetail

if TYPE_CHECKING:
    from fsrouter.runtime.queue_runtime import QueueRuntime

#: The groups agents are counted in, each with the ACD states it holds: an
#: agent reserved for an offer or ringing is busy with a call already.
AGENT_GROUPS: Mapping[str, frozenset[AgentState]] = {
    "available": frozenset({AgentState.AVAILABLE}),
    "on_call": frozenset({AgentState.RESERVED, AgentState.RINGING, AgentState.ON_CALL}),
    "wrap_up": frozenset({AgentState.WRAP_UP}),
    "paused": frozenset({AgentState.PAUSED}),
    "logged_out": frozenset({AgentState.LOGGED_OUT}),
}
_GROUP_OF = {state: group for group, states in AGENT_GROUPS.items() for state in states}


@dataclass(frozen=True)
class WaitingCaller:
    """A call (or a callback) in a queue, by position."""

    id: str  # the call's uuid, or the callback's id
    caller: str  # the caller's number ("" for a callback: the dialler has it)
    position: int
    waited: float  # seconds since the caller's wait began (a callback keeps the call's)
    ringing: bool  # an agent is being offered it
    callback: bool
    ewt: Estimate | None

    def to_json(self) -> dict:
        return {"id": self.id, "caller": self.caller, "position": self.position, "waited": round(self.waited, 1),
                "ringing": self.ringing, "callback": self.callback, **_ewt_json(self.ewt)}


@dataclass(frozen=True)
class AgentFigure:
    id: str
    name: str
    state: str  # the ACD's own state (ringing, reserved... are finer than the group)
    group: str  # one of AGENT_GROUPS
    reason: str
    reachable: bool

    def to_json(self) -> dict:
        return {"id": self.id, "name": self.name, "state": self.state, "group": self.group,
                "reason": self.reason, "reachable": self.reachable}


@dataclass(frozen=True)
class QueueFigures:
    queue: str
    waiting: int  # callers waiting for an agent (not counting those being offered)
    ringing: int  # callers an agent is being offered
    longest_wait: float  # seconds, of every caller in the queue
    serving_agents: int  # logged in, not paused, reachable, admitted at the queue's last stage
    agents: Mapping[str, int]  # agents the queue admits, counted by group (every group present)
    ewt: Estimate | None  # what a caller joining now would be told
    callers: tuple[WaitingCaller, ...]  # by position (empty when not asked for)
    agent_list: tuple[AgentFigure, ...]

    def to_json(self, *, details: bool = True) -> dict:
        """The JSON the API answers; without `details`, the counts only."""
        figures = {"queue": self.queue, "waiting": self.waiting, "ringing": self.ringing,
                   "longest_wait": round(self.longest_wait, 1), "serving_agents": self.serving_agents,
                   "agents": dict(self.agents), **_ewt_json(self.ewt)}
        if details:
            figures["callers"] = [caller.to_json() for caller in self.callers]
            figures["agent_list"] = [agent.to_json() for agent in self.agent_list]
        return figures


def _ewt_json(ewt: Estimate | None) -> dict:
    if ewt is None:
        return {"ewt": None, "ewt_phrase": None}
    return {"ewt": round(ewt.seconds, 1), "ewt_phrase": ewt.phrase}


def all_queues(runtime: QueueRuntime) -> list[QueueFigures]:
    """Every queue's figures, in the rules' order: the counts alone, no
    list of callers or agents (`GET /queues`, the board, /metrics; one
    queue's lists are `one_queue`'s)."""
    now = runtime.now()
    agents: dict[str, AgentStatus] = {}
    return [_figures(runtime, detail, now, agents, False)
            for detail in runtime.acd.queue_details(now, entries=False)]


def one_queue(runtime: QueueRuntime, name: str) -> QueueFigures:
    """The figures of queue `name`; `UnknownQueue` when there is none."""
    now = runtime.now()
    return _figures(runtime, runtime.acd.queue_detail(name, now), now, {}, True)


def _figures(runtime: QueueRuntime, detail: QueueDetail, now: float,
             agents: dict[str, AgentStatus], lists: bool) -> QueueFigures:
    """`agents` caches each agent's status across the queues of one reading."""
    counts = dict.fromkeys(AGENT_GROUPS, 0)
    listed = []
    for agent_id in detail.agent_ids:
        agent = agents.get(agent_id)
        if agent is None:
            agent = agents[agent_id] = runtime.acd.agent_status(agent_id)
        group = _GROUP_OF[agent.state]
        counts[group] += 1
        if lists:
            listed.append(AgentFigure(agent.agent_id, agent.name, str(agent.state), group, agent.reason,
                                      agent.reachable))
    callers = []
    for entry in detail.entries:
        held = runtime.caller(entry.entry_id)
        number = held.variables.get("caller_id_number", "") if held is not None else ""
        callers.append(WaitingCaller(entry.entry_id, number, entry.position, now - entry.arrival, entry.offered,
                                     entry.is_callback, entry.estimate))
    status = detail.status
    return QueueFigures(status.queue, status.waiting, status.ringing, status.longest_wait, status.serving_agents,
                        counts, detail.estimate, tuple(callers), tuple(listed))
