"""The one interface every store backend implements.

The ACD, the API and the CLI talk to `Store` only; which database sits
behind it is decided by the URL given to `open_store`.  Methods are plain
synchronous calls so the store logic is testable without gevent; a gevent
process wraps the store in `GeventStore`, which keeps the hub running while
the database works.

Every mutating method is one transaction, committed before it returns: when
`book_callback` returns, the callback survives a crash of this process (and,
with the default settings, a power loss), so the caller may be told it is
booked.  Times are injected (seconds since the epoch) like everywhere else.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from fsrouter.notices import Notice
from fsrouter.store.records import (
    AgentDeskState,
    AttemptOutcome,
    CallbackAttempt,
    CallbackRecord,
    CallbackStatus,
    NewQueueEvent,
    QueueEvent,
    QueueEventKind,
    SurveyScore,
)


class Store(ABC):
    """Durable state of fsrouter: callbacks, queue statistics and notices."""

    #: True when one instance may be called from several threads at once
    #: (a connection pool); False when calls must come one at a time.
    thread_safe: ClassVar[bool] = False

    @property
    def waits_cooperatively(self) -> bool:
        """True when the driver waits for the database through Python's
        `select`/`socket` modules (so a gevent-monkey-patched process yields
        instead of blocking); False when it blocks inside C."""
        return False

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @abstractmethod
    def close(self) -> None:
        """Release connections; the store is unusable afterwards."""

    @abstractmethod
    def schema_version(self) -> int:
        """The highest migration applied to the database."""

    # -- callbacks ---------------------------------------------------------

    @abstractmethod
    def book_callback(
        self,
        queue: str,
        number: str,
        caller_id: str,
        arrival_time: float,
        priority: int,
        variables: Mapping[str, Any],
        *,
        line: str | None = None,
        brand: str | None = None,
        order_key: float | None = None,
        not_before: float | None = None,
        idempotency_key: str | None = None,
        booked_at: float | None = None,
    ) -> CallbackRecord:
        """Book a callback, committed before returning.

        `order_key` is the ACD's place-in-line key (arrival time adjusted by
        priority credit); it defaults to `arrival_time`.  The callback is
        first due at the later of `arrival_time` and `not_before`.  With
        `idempotency_key` (the runtime gives the call's UUID and booking
        count) a retried booking returns the callback already booked under
        that key instead of creating a second one.  `booked_at` defaults to
        the wall clock.
        """

    @abstractmethod
    def due_callbacks(self, now: float, queue: str | None = None) -> list[CallbackRecord]:
        """The callbacks a claim at `now` could take, in `order_key` order.

        Pending with `next_attempt_at <= now`, or dialing under a lease
        that expired (its dialer died).  Read-only: the live
        dialer polls this to put due callbacks into the ACD's line, with
        their original arrival, and claims each with `claim` only once an
        agent has answered for it.
        """

    @abstractmethod
    def claim(
        self, callback_id: int, owner: str, lease_seconds: float, now: float
    ) -> CallbackRecord | None:
        """Atomically claim this one callback for `owner`, if it is due.

        Due as in `due_callbacks`; the claimed callback is dialing under a
        lease until `now + lease_seconds`, and a lease-expired one gets its
        lost attempt recorded as `lease_expired` (the history shows that a
        dialer died with it in hand).  None when it is not claimable:
        cancelled, completed, failed, not yet due, or under a live lease
        (anybody's, the caller's own included).  Of concurrent claimers exactly one gets it.  Raises
        `CallbackNotFound` for an unknown id.
        """

    @abstractmethod
    def release(self, callback_id: int, owner: str, now: float) -> CallbackRecord:
        """Give back `owner`'s claim without recording an attempt.

        For a claim that ended before the customer was dialled (the agent
        leg failed): the callback is pending again, due at `now`, keeping its
        `order_key` (its place), lease cleared.  A callback a supervisor
        cancelled meanwhile stays cancelled.  Only the lease owner may
        release (`LeaseLost` otherwise); like `record_attempt`, an owner
        whose lease ran out may as long as nobody took over.
        """

    @abstractmethod
    def record_attempt(
        self,
        callback_id: int,
        owner: str,
        outcome: AttemptOutcome | str,
        now: float,
        next_attempt_at: float | None = None,
        give_up: bool = False,
    ) -> CallbackRecord:
        """Record how a dial attempt ended and release the lease.

        `answered` completes the callback; otherwise `give_up` fails it or
        `next_attempt_at` puts it back to pending for another attempt (one
        of the two is required: the retry schedule is the ACD's).  Only the
        lease owner may record (`LeaseLost` otherwise), but an owner whose
        lease ran out may still record as long as nobody took over: its
        report is true and prevents a needless redial.  On a callback
        cancelled while being dialled the attempt is recorded and the
        status stays cancelled.
        """

    @abstractmethod
    def cancel(self, callback_id: int, now: float | None = None) -> CallbackRecord:
        """Cancel a pending or dialing callback (`InvalidTransition` otherwise).

        A dialer holding the lease can still record its attempt.  `now`
        defaults to the wall clock (supervisor actions have no injected time).
        """

    @abstractmethod
    def retry(self, callback_id: int, now: float) -> CallbackRecord:
        """Make a pending, failed or cancelled callback due again at `now`.

        Refused (`InvalidTransition`) while it is being dialled or once it
        completed.
        """

    @abstractmethod
    def get(self, callback_id: int) -> CallbackRecord:
        """The callback with that id (`CallbackNotFound` otherwise)."""

    @abstractmethod
    def list_callbacks(
        self, status: CallbackStatus | str | None = None, queue: str | None = None
    ) -> list[CallbackRecord]:
        """Callbacks filtered by status and queue, in `order_key` order."""

    @abstractmethod
    def attempts(self, callback_id: int) -> list[CallbackAttempt]:
        """The callback's attempt history, oldest first."""

    # -- queue statistics --------------------------------------------------

    @abstractmethod
    def record_queue_events(self, events: Sequence[NewQueueEvent]) -> list[QueueEvent]:
        """Append several statistics events in one transaction (one commit,
        so one fsync on SQLite, for the lot); all or none are stored."""

    # -- post-call surveys -----------------------------------------------------

    @abstractmethod
    def record_survey(self, call_uuid: str, queue: str, agent_id: str,
                      answers: Sequence[tuple[int, int]], now: float) -> list[SurveyScore]:
        """Store a call's survey answers ((question from 1, score 0-9) each)
        in one transaction.  Recording the same call's answers again changes
        nothing (a retried write after an unknown commit is harmless)."""

    @abstractmethod
    def survey_scores(self, since: float | None = None, until: float | None = None,
                      queue: str | None = None) -> list[SurveyScore]:
        """Answers given at or after `since` and before `until`, oldest
        first, for reports (`fsrouter report`, the API)."""

    @abstractmethod
    def queue_events(
        self,
        since: float | None = None,
        queue: str | None = None,
        kind: QueueEventKind | str | None = None,
        until: float | None = None,
    ) -> list[QueueEvent]:
        """Events at or after `since` and before `until`, oldest first, for reporting."""

    # -- agent states --------------------------------------------------------

    @abstractmethod
    def save_agent_state(self, agent_id: str, state: str, reason: str, at: float) -> AgentDeskState:
        """Record the state an agent chose (`logged_out`, `available` or
        `paused`), replacing the one before; committed before returning."""

    @abstractmethod
    def agent_states(self) -> dict[str, AgentDeskState]:
        """Every recorded agent state, by agent id."""

    # -- notices -------------------------------------------------------------

    @abstractmethod
    def add_notice(self, scope: str, prompt: str, now: float, expires_at: float | None) -> Notice:
        """Switch a notice on for `scope` (its key, e.g. "line:+302101234567"),
        committed before returning; the notice on for that scope before, if
        any, is cleared at `now` in the same transaction."""

    @abstractmethod
    def clear_notices(self, now: float, *, notice_id: int | None = None,
                      scope: str | None = None) -> list[Notice]:
        """Clear the notice with that id, or the one on for that scope; returns
        what was cleared (empty: nothing was on).  Exactly one of the two."""

    @abstractmethod
    def notices_on(self) -> list[Notice]:
        """Every notice not cleared, expired ones included, oldest first:
        what the runtime loads at start (whether one is heard is decided
        per call, by time)."""
