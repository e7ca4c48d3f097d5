"""What the ACD reports: offers to ring, and facts for statistics.

Every mutating call returns the events it caused, in order; `tick(now)`
returns those caused by time passing (wrap-ups ending, relaxation, maximum
waits).  They are small frozen values with the time they happened (`at`), so
the IO layer can act on them (ring an agent, move a caller on) and store them
as they are.  Fields are keyword-only: events are built in one place each and
read by name everywhere else.

An entry's life ends in exactly one of `Answered`, `Abandoned`, `TimedOut`,
`LeftEmpty` or `Removed`; each carries the wait and the EWT promises made to
the caller, so EWT error can be measured against what happened
(`accuracy.py`).
"""

from __future__ import annotations

from dataclasses import dataclass

from fsrouter.acd.ewt import Estimate
from fsrouter.acd.model import AgentState, MissReason


@dataclass(frozen=True, kw_only=True)
class EwtPromise:
    """An estimate that was announced to the caller at `at`."""

    at: float
    estimate: Estimate


@dataclass(frozen=True, kw_only=True)
class Offer:
    """Ring `agent_id` for `entry_id`: the agent is reserved until the IO layer
    reports `ringing`, `answered` or `missed` for `offer_id`.

    Carries what the originate and the whisper need.
    """

    offer_id: int
    entry_id: str
    agent_id: str
    queue: str
    dial: str
    ring_timeout: float
    at: float
    waited: float
    is_callback: bool
    priority: int


@dataclass(frozen=True, kw_only=True)
class OfferCancelled:
    """The entry left while its agent was reserved or ringing: hang up the agent leg."""

    offer_id: int
    entry_id: str
    agent_id: str
    at: float
    reason: str


@dataclass(frozen=True, kw_only=True)
class Queued:
    """An entry joined a queue (the call-centre "offered" count)."""

    entry_id: str
    queue: str
    at: float
    arrival: float
    priority: int
    is_callback: bool


@dataclass(frozen=True, kw_only=True)
class Refused:
    """An entry was not let in: nobody who could take it is serving (join_empty off)."""

    entry_id: str
    queue: str
    at: float
    destination: str


@dataclass(frozen=True, kw_only=True)
class Transferred:
    """A waiting entry moved to another queue, keeping its arrival (its place in time)."""

    entry_id: str
    from_queue: str
    to_queue: str
    at: float
    waited: float


@dataclass(frozen=True, kw_only=True)
class RelaxStepActive:
    """Relaxation step `step` (1-based) is now in force for the entry."""

    entry_id: str
    queue: str
    at: float
    step: int


@dataclass(frozen=True, kw_only=True)
class _Left:
    entry_id: str
    queue: str
    at: float
    waited: float
    promises: tuple[EwtPromise, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Answered(_Left):
    agent_id: str


@dataclass(frozen=True, kw_only=True)
class Abandoned(_Left):
    """The caller hung up while waiting, at `position`."""

    position: int


@dataclass(frozen=True, kw_only=True)
class TimedOut(_Left):
    """Maximum wait reached: the flow sends the caller to `destination`."""

    destination: str


@dataclass(frozen=True, kw_only=True)
class LeftEmpty(_Left):
    """The last agent who could take the entry stopped serving (leave_when_empty)."""

    destination: str


@dataclass(frozen=True, kw_only=True)
class Removed(_Left):
    """The flow took the entry out (exit key, callback accepted, ...), for `reason`."""

    reason: str


@dataclass(frozen=True, kw_only=True)
class AgentMissed:
    """An offered agent did not take the call; `consecutive` counts the misses
    in a row held against the agent (a `lost` one is reported but not counted)."""

    offer_id: int
    agent_id: str
    entry_id: str
    queue: str
    at: float
    reason: MissReason
    consecutive: int


@dataclass(frozen=True, kw_only=True)
class CallEnded:
    """An answered call is over after `talked` seconds (the agent's handle time)."""

    entry_id: str
    queue: str
    agent_id: str
    at: float
    talked: float


@dataclass(frozen=True, kw_only=True)
class CallbackBooked:
    """A waiting caller's callback is committed to the store (`entry_id` is
    the callback's entry, `callback:<id>`)."""

    entry_id: str
    queue: str
    at: float


@dataclass(frozen=True, kw_only=True)
class CallbackFinished:
    """A callback reached its customer (`completed`) or was given up."""

    entry_id: str
    queue: str
    at: float
    completed: bool
    attempts: int


@dataclass(frozen=True, kw_only=True)
class AgentStateChanged:
    """`ready_at` is set while the agent waits out a wrap-up or a miss delay."""

    agent_id: str
    at: float
    old: AgentState
    new: AgentState
    reason: str
    ready_at: float | None = None


Outcome = Answered | Abandoned | TimedOut | LeftEmpty | Removed

Event = (
    Offer
    | OfferCancelled
    | Queued
    | Refused
    | Transferred
    | RelaxStepActive
    | Outcome
    | AgentMissed
    | CallEnded
    | CallbackBooked
    | CallbackFinished
    | AgentStateChanged
)
