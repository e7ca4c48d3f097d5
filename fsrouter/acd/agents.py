"""Agents at run time: the state machine as one table, and the agent record.

Every agent state change goes through `TRANSITIONS`; an event the table lacks
is an `InvalidTransition` naming state and event, and the diagram in
docs/acd.md is generated from the same table (`state_diagram`).

Two rules sit beside the table:

* A pause or logout asked for while the agent is busy (reserved, ringing, on a
  call, in wrap-up) is kept *pending* and applied when the agent would next
  become available, so a call is never cut off by a status change.
* Becoming available after a miss may instead pause the agent, when the
  misses in a row reach the policy's `max_misses`.

"Available" with a `ready_at` in the future means waiting out a miss delay:
the agent is not offered anything until then.  An agent is *serving* while
logged in, not paused, reachable and with no pause or logout pending; serving
agents are the ones counted for EWT and for "is anybody there" (join_empty /
leave_when_empty).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING

from fsrouter.acd.errors import InvalidTransition
from fsrouter.acd.model import AgentSpec, AgentState

if TYPE_CHECKING:
    from fsrouter.acd.events import Offer
    from fsrouter.acd.queues import QueueState

S = AgentState

TRANSITIONS: Mapping[tuple[AgentState, str], AgentState] = MappingProxyType({
    (S.LOGGED_OUT, "login"): S.AVAILABLE,
    (S.LOGGED_OUT, "pause"): S.PAUSED,
    (S.AVAILABLE, "pause"): S.PAUSED,
    (S.PAUSED, "pause"): S.PAUSED,
    (S.PAUSED, "resume"): S.AVAILABLE,
    (S.AVAILABLE, "logout"): S.LOGGED_OUT,
    (S.PAUSED, "logout"): S.LOGGED_OUT,
    (S.AVAILABLE, "reserve"): S.RESERVED,
    (S.RESERVED, "ring"): S.RINGING,
    (S.RESERVED, "answer"): S.ON_CALL,
    (S.RINGING, "answer"): S.ON_CALL,
    (S.RESERVED, "miss"): S.AVAILABLE,
    (S.RINGING, "miss"): S.AVAILABLE,
    (S.RESERVED, "cancel"): S.AVAILABLE,
    (S.RINGING, "cancel"): S.AVAILABLE,
    (S.ON_CALL, "hang_up"): S.WRAP_UP,
    (S.WRAP_UP, "wrap_up_over"): S.AVAILABLE,
})

BUSY = frozenset({S.RESERVED, S.RINGING, S.ON_CALL, S.WRAP_UP})
"""States in which a pause or logout waits (is pending)."""

DEFERRABLE = frozenset({"pause", "logout"})

NEW_IDLE_PERIOD = frozenset({"login", "resume", "miss", "wrap_up_over"})
"""Events after which the agent's idle time (longest_idle) starts again.

A cancelled offer (the caller hung up while the agent rang) is not one: the
agent did nothing wrong and keeps their turn; a `lost` miss (the connection
to FreeSWITCH went down) frees the agent with "cancel" for the same reason.
A miss is one: the agent goes to the back of the line, on top of the miss
delay.
"""


def next_state(agent_id: str, state: AgentState, event: str) -> AgentState:
    try:
        return TRANSITIONS[(state, event)]
    except KeyError:
        raise InvalidTransition(agent_id, state, event) from None


def state_diagram() -> str:
    """The agent state machine as a Mermaid diagram, from `TRANSITIONS`."""
    lines = ["stateDiagram-v2", f"    [*] --> {S.LOGGED_OUT}"]
    lines += [f"    {old} --> {new}: {event}" for (old, event), new in TRANSITIONS.items()]
    return "\n".join(lines)


class Agent:
    """The runtime record of one agent; only `memory.py` and `dispatch.py` touch it."""

    __slots__ = (
        "spec", "ordinal", "bit", "state", "reason", "ready_at", "reachable", "pending",
        "offer", "offer_expires", "idle_since", "calls", "talk_time", "misses",
        "answered_at", "last_queue", "eligibility", "present", "pooled", "pool_token", "retiring",
    )

    def __init__(self, spec: AgentSpec, ordinal: int) -> None:
        self.spec = spec
        self.ordinal = ordinal
        self.bit = 1 << ordinal
        self.state = S.LOGGED_OUT
        self.reason = ""
        self.ready_at: float | None = None
        self.reachable = True
        self.pending: tuple[str, str] | None = None  # deferred (event, reason)
        self.offer: Offer | None = None
        self.offer_expires: float | None = None
        self.idle_since = 0.0
        self.calls = 0
        self.talk_time = 0.0
        self.misses = 0
        self.answered_at = 0.0
        self.last_queue: QueueState | None = None
        self.eligibility: dict[QueueState, int] = {}  # queue -> first stage admitting the agent
        self.present = False  # counted in the queues' serving masks
        self.pooled = False  # in the queues' pools of offerable agents
        self.pool_token = 0  # bumped when leaving the pools: older pool items are stale
        self.retiring = False  # removed by a reload: goes once its current call is over

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def serving(self) -> bool:
        """Logged in, not paused, reachable, and not on their way out: an
        agent finishing a call after asking to pause or log out takes no
        new one, so they no longer count for "is anybody there"."""
        return self.reachable and self.state not in (S.LOGGED_OUT, S.PAUSED) and self.pending is None

    @property
    def offerable(self) -> bool:
        return self.reachable and self.state is S.AVAILABLE and self.ready_at is None
