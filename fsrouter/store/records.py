"""What the store hands back: frozen values, never live rows or cursors.

The ACD and the API read these and never mutate them; a change goes back
through a `Store` method, so every change is one transaction.  Times are
seconds since the epoch, as floats, injected by the caller like everywhere
else in fsrouter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class CallbackStatus(StrEnum):
    """Life of a callback.

    pending -> dialing (claimed under a lease) -> completed | failed, or back
    to pending for another attempt; pending/dialing -> cancelled by a
    supervisor; failed/cancelled -> pending again by `retry`.
    """

    PENDING = "pending"
    DIALING = "dialing"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


OWED = (CallbackStatus.PENDING, CallbackStatus.DIALING)
"""The statuses of a callback still owed: waiting for its turn, or being dialled."""


class AttemptOutcome(StrEnum):
    """How one dial attempt ended, as reported by the lease owner.

    `LEASE_EXPIRED` is never reported by a dialer: the store writes it when
    another owner takes over a callback whose lease ran out (its dialer
    crashed or hung), so the history shows the lost attempt.
    """

    ANSWERED = "answered"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    FAILED = "failed"
    INVALID = "invalid"
    LEASE_EXPIRED = "lease_expired"


class QueueEventKind(StrEnum):
    """The vocabulary of queue statistics.

    Closed on purpose: reports group by kind, so a misspelt kind would be a
    silently missing figure.  Add a member here when the ACD needs a new one
    (the column is plain text: no migration needed).
    """

    OFFERED = "offered"
    ANSWERED = "answered"
    ABANDONED = "abandoned"
    TIMED_OUT = "timed_out"
    TRANSFERRED = "transferred"
    OVERFLOWED = "overflowed"
    AGENT_MISSED = "agent_missed"
    CALLBACK_OFFERED = "callback_offered"
    CALLBACK_BOOKED = "callback_booked"
    CALLBACK_ATTEMPTED = "callback_attempted"
    CALLBACK_COMPLETED = "callback_completed"
    CALLBACK_FAILED = "callback_failed"
    CALLBACK_CANCELLED = "callback_cancelled"
    SURVEY = "survey"
    #: The flow took the entry out of line (exit key, callback accepted…).
    REMOVED = "removed"
    #: The last agent able to take the entry stopped serving.
    LEFT_EMPTY = "left_empty"
    #: The caller left the queue by an exit key (`fields["key"]`).
    EXITED = "exited"
    #: The bridged call is recorded into `fields["path"]`.
    RECORDED = "recorded"
    #: An answered call is over: its handle time.
    CALL_ENDED = "call_ended"


@dataclass(frozen=True)
class CallbackRecord:
    """A booked callback and where it stands.

    `order_key` is the ACD's sort key (arrival time minus priority credit),
    stored rather than recomputed so that claims follow exactly the order the
    ACD uses for live callers.  `attempts` counts attempts reported by
    dialers (not lease expiries).
    """

    id: int
    queue: str
    number: str
    caller_id: str
    line: str | None
    brand: str | None
    arrival_time: float
    priority: int
    order_key: float
    variables: dict[str, Any]
    status: CallbackStatus
    idempotency_key: str | None
    booked_at: float
    updated_at: float
    not_before: float | None
    next_attempt_at: float
    attempts: int
    last_outcome: AttemptOutcome | None
    lease_owner: str | None
    lease_expires_at: float | None
    finished_at: float | None


@dataclass(frozen=True)
class CallbackAttempt:
    """One dial attempt (or lost lease) in a callback's history."""

    id: int
    callback_id: int
    owner: str
    outcome: AttemptOutcome
    at: float
    next_attempt_at: float | None
    gave_up: bool


@dataclass(frozen=True)
class QueueEvent:
    """One queue statistics event; `fields` holds kind-specific details
    (wait, position, agent, target…) as stored in the JSON column."""

    id: int
    kind: QueueEventKind
    queue: str
    entry_id: str
    at: float
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class NewQueueEvent:
    """A statistics event to append (`Store.record_queue_events`); the
    store gives it its id."""

    kind: QueueEventKind | str
    queue: str
    entry_id: str
    at: float
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SurveyScore:
    """One answer of a post-call survey: question `question` (1, or 2 for
    the queue's second question) scored `score` by the caller of call
    `call_uuid`, served in rules queue `queue` by agent `agent_id`."""

    id: int
    call_uuid: str
    queue: str
    agent_id: str
    question: int
    score: int
    at: float

@dataclass(frozen=True)
class AgentDeskState:
    """The state an agent (or a supervisor for them) last chose: `logged_out`,
    `available` or `paused` with its `reason`; restored at start, so a
    restart keeps who is logged in and who is on a break."""

    agent_id: str
    state: str
    reason: str
    changed_at: float
