"""The callback status rules, in one place and free of SQL.

Backends lock the row, ask these functions whether the change is allowed
and what follows, then write the answer.  Keeping the rules here means both
backends refuse the same things with the same messages.
"""

from __future__ import annotations

from fsrouter.store.errors import InvalidTransition, LeaseLost
from fsrouter.store.records import AttemptOutcome, CallbackRecord, CallbackStatus

S = CallbackStatus


def check_lease(record: CallbackRecord, owner: str) -> None:
    """Refuse unless `owner` still holds the callback's lease."""
    if record.lease_owner != owner or record.status not in (S.DIALING, S.CANCELLED):
        holder = f"held by {record.lease_owner!r}" if record.lease_owner else "not leased"
        raise LeaseLost(
            f"callback {record.id} is {record.status} and {holder};"
            f" {owner!r} holds no lease on it"
        )


def status_after_attempt(
    record: CallbackRecord,
    outcome: AttemptOutcome,
    next_attempt_at: float | None,
    give_up: bool,
) -> CallbackStatus:
    """Where a reported attempt leaves the callback."""
    if outcome is AttemptOutcome.LEASE_EXPIRED:
        raise ValueError("lease_expired is recorded by the store, not reported")
    if outcome is AttemptOutcome.ANSWERED:
        if give_up or next_attempt_at is not None:
            raise ValueError("an answered attempt completes the callback: no retry or give_up")
        status = S.COMPLETED
    elif give_up:
        if next_attempt_at is not None:
            raise ValueError("give_up and next_attempt_at are exclusive")
        status = S.FAILED
    elif next_attempt_at is None:
        raise ValueError(f"a {outcome} attempt needs next_attempt_at or give_up=True")
    else:
        status = S.PENDING
    # A supervisor's cancel wins over the dialer's report.
    return S.CANCELLED if record.status is S.CANCELLED else status


def status_after_release(record: CallbackRecord) -> CallbackStatus:
    """Where giving back a claim leaves the callback: pending again (nobody
    was dialled, so no attempt counts), unless a supervisor cancelled it
    meanwhile."""
    return S.CANCELLED if record.status is S.CANCELLED else S.PENDING


def check_cancellable(record: CallbackRecord) -> None:
    if record.status not in (S.PENDING, S.DIALING):
        raise InvalidTransition(
            f"callback {record.id} is {record.status}; only pending or dialing can be cancelled"
        )


def check_retryable(record: CallbackRecord) -> None:
    if record.status is S.DIALING:
        raise InvalidTransition(
            f"callback {record.id} is being dialled by {record.lease_owner!r}; "
            "cancel it first or wait for the attempt to end"
        )
    if record.status is S.COMPLETED:
        raise InvalidTransition(f"callback {record.id} completed; book a new one instead")

