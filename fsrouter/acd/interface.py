"""The ACD contract: what the IO layer and the admin API may call.

`InMemoryAcd` (memory.py) is the single-node implementation; a
PostgreSQL-coordinated one (agents reserved with row locks and SKIP LOCKED,
waiters woken by LISTEN/NOTIFY) is meant to sit behind the same calls, which
is why the contract is shaped as it is:

* every call is given the time (`now`, float seconds, one clock for the
  whole deployment) and reads no clock;
* ids come from the caller (entry id = call UUID or callback id), never from
  the core, so several nodes never disagree about names;
* outcomes are returned as events (frozen values, `events.py`) to be acted
  on and stored; nothing is pushed through callbacks;
* offers are claims: an agent is reserved by `dispatch` until the IO layer
  reports `ringing`, `answered` or `missed` for the offer id, and a report on
  an offer that is no longer outstanding raises `UnknownOffer`.

The IO layer's loop is: after feeding any report, and whenever
`next_deadline()` passes, call `tick(now)` (act on what it returns: callers
timed out, agents back from wrap-up) and `dispatch(now)` (originate the
offers).  Calls that take `now` apply the deadlines due by then before doing
anything else, so decisions are never taken on stale state; what the
deadlines caused is returned by the next `tick`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Protocol

from fsrouter.acd.events import Event, Offer
from fsrouter.acd.ewt import Estimate
from fsrouter.acd.model import AgentSpec, AgentState, MissReason
from fsrouter.acd.views import AgentStatus, QueueDetail, QueueStatus


class Acd(Protocol):
    # -- entries -------------------------------------------------------------

    def enqueue(
        self,
        entry_id: str,
        queue: str,
        now: float,
        *,
        priority: int = 0,
        arrival: float | None = None,
        is_callback: bool = False,
    ) -> list[Event]:
        """Join `queue`: returns `[Queued]`, or `[Refused]` when join_empty is off and
        nobody who could take the entry serves.

        `arrival` (default `now`) is when the caller's wait began: a callback
        passes the original call's arrival and so keeps its place.  Callback
        entries never time out and never leave for lack of agents (the
        callback is owed); they are always let in.
        """
        ...

    def transfer(self, entry_id: str, queue: str, now: float) -> list[Event]:
        """Move a waiting entry to another queue, keeping its arrival; its max
        wait restarts there.  Cancels an outstanding offer."""
        ...

    def abandon(self, entry_id: str, now: float) -> list[Event]:
        """The caller hung up while waiting (or while an agent rang)."""
        ...

    def remove(self, entry_id: str, now: float, reason: str = "") -> list[Event]:
        """The flow takes the entry out (exit key, accepted a callback, ...)."""
        ...

    # -- dispatch and reports --------------------------------------------------

    def dispatch(self, now: float) -> list[Offer]:
        """Pair waiting entries with free agents; each offered agent is reserved."""
        ...

    def ringing(self, offer_id: int, now: float) -> list[Event]:
        ...

    def connecting(self, offer_id: int, now: float, hold_for: float) -> list[Event]:
        """The agent's phone answered and is hearing the whisper: keep the
        offer open `hold_for` seconds more.  The entry keeps its place until
        `answered` (the agent may still hang up, which is a `missed`)."""
        ...

    def answered(self, offer_id: int, now: float) -> list[Event]:
        """The agent took the call: the entry leaves the queue (`Answered`)."""
        ...

    def missed(self, offer_id: int, reason: MissReason | str, now: float) -> list[Event]:
        """The agent did not take it: the entry keeps its place; the agent gets
        the delay for `reason`, or is paused after too many misses in a row.
        `lost` (the connection to FreeSWITCH went down) costs the agent nothing."""
        ...

    def call_ended(self, offer_id: int, now: float) -> list[Event]:
        """The answered call is over (either side hung up): the agent wraps up."""
        ...

    def tick(self, now: float) -> list[Event]:
        """Apply deadlines due by `now` and return everything deadlines caused
        since the last tick: wrap-ups over, relaxation steps, max waits reached,
        offers nobody reported on."""
        ...

    def next_deadline(self) -> float | None:
        """When the next deadline falls, so the IO layer knows when to tick."""
        ...

    # -- what callers hear -----------------------------------------------------

    def position(self, entry_id: str, now: float) -> int:
        """1 + competing entries served before this one (see `ordering.py`)."""
        ...

    def announce_position(self, entry_id: str, now: float) -> int:
        """The position to say: never more than what this caller was told before."""
        ...

    def estimate_wait(self, entry_id: str, now: float) -> Estimate | None:
        """Conservative EWT, or None when there is nothing sound to say (`ewt.py`)."""
        ...

    def announce_wait(self, entry_id: str, now: float) -> Estimate | None:
        """As `estimate_wait`, and records the promise on the entry's outcome."""
        ...

    # -- agents ----------------------------------------------------------------

    def upsert_agent(self, spec: AgentSpec, now: float) -> list[Event]:
        """Declare an agent (logged out), or replace the spec of a known one
        keeping its state."""
        ...

    def set_skills(self, agent_id: str, skills: Mapping[str, int], now: float) -> list[Event]:
        ...

    def remove_agent(self, agent_id: str, now: float) -> list[Event]:
        """Forget a logged-out agent."""
        ...

    def set_agent_state(self, agent_id: str, state: AgentState | str, now: float, reason: str = "") -> list[Event]:
        """Log in (available), pause (with a reason) or log out; while the agent
        is busy, a pause or logout is kept pending until the agent is free."""
        ...

    def agent_unreachable(self, agent_id: str, now: float) -> list[Event]:
        """The agent's phone unregistered: stop offering them calls."""
        ...

    def agent_reachable(self, agent_id: str, now: float) -> list[Event]:
        ...

    # -- reconfiguration -------------------------------------------------------

    def reconfigure(self, queues: Iterable[QueueSpec], agents: Iterable[AgentSpec], now: float) -> list[Event]:
        """Apply a reloaded layout in place, for the next offers; raises
        `SpecError` before changing anything if the layout cannot run.

        * Queues: new ones open; kept ones take their new spec (requirement,
          relax steps, strategy, max wait for new joins) and their waiting
          entries keep their place, each at the stage the new steps give
          it; a removed queue takes no new entries (`UnknownQueue`) but
          keeps serving the ones waiting, with its last spec, until the
          last has left.
        * Agents: new ones are declared logged out; kept ones take their new
          spec (skills count from the next offer) and keep their state and
          statistics; a removed one is logged out and forgotten, at once if
          free, else once its current offer or call and wrap-up are over.
        * Offers outstanding go on as they are.

        Returns what followed: logouts of removed agents, and callers sent
        away from `leave_when_empty` queues nobody can serve any more.
        """
        ...

    # -- snapshots -------------------------------------------------------------

    def is_staffed(self, queue: str, now: float) -> bool:
        """Whether anyone able to serve the queue (at its last relaxation
        stage) is logged in, unpaused and reachable: `queue_status(...)
        .serving_agents > 0` without building the whole snapshot, for
        questions asked per caller."""
        ...

    def has_entry(self, entry_id: str) -> bool:
        """Whether the entry is still in the ACD: waiting, or being offered to
        an agent (an answered entry has left).  Takes no `now`, so a deadline
        not yet applied (a max wait just reached) shows only after the next
        call that takes one."""
        ...

    def agent_status(self, agent_id: str) -> AgentStatus:
        ...

    def queue_status(self, queue: str, now: float) -> QueueStatus:
        ...

    def queue_names(self) -> list[str]:
        """Every queue: those of the rules, then those a reload removed
        whose callers still wait."""
        ...

    def queue_detail(self, queue: str, now: float, *, entries: bool = True) -> QueueDetail:
        """`queue_status` with the entries by position (each with its
        conservative wait; skipped without `entries`), the ids of the agents
        the queue admits at some stage, and the wait a caller joining now at
        priority 0 would be told (None when there is nothing sound to say)."""
        ...

    def queue_details(self, now: float, *, entries: bool = True) -> list[QueueDetail]:
        """`queue_detail` of every queue, in `queue_names` order, in one pass
        over the agents."""
        ...
