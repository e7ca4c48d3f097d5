"""The store logic, written once for every SQL backend.

`SqlStore` implements the whole `Store` interface with SQL both SQLite and
PostgreSQL accept (`:name` parameters, `ON CONFLICT`, `RETURNING`).  A
backend supplies only what genuinely differs, as a `Dialect` and a
`_transaction()`: how to open a connection, begin a transaction that may
write, lock rows, and carry JSON; and it may wrap `_run` to run an
operation again after losing its connection.  Status rules live in
`lifecycle`.

Row-level races are settled by locking: every change, `claim` included,
reads its row with `Dialect.for_update` (PostgreSQL: `FOR UPDATE`, so a
second claimer waits, then finds the callback taken).  SQLite needs no
row locks: its write transactions (`BEGIN IMMEDIATE`) are already serial.
"""

from __future__ import annotations

import time
from abc import abstractmethod
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, TypeVar

from fsrouter.store import lifecycle, migrations
from fsrouter.store.errors import CallbackNotFound
from fsrouter.store.interface import Store
from fsrouter.store.notices_sql import SqlNotices
from fsrouter.store.records import (
    AgentDeskState,
    AttemptOutcome,
    CallbackAttempt,
    CallbackRecord,
    CallbackStatus,
    QueueEvent,
    QueueEventKind,
    SurveyScore,
)

Row = Mapping[str, Any]
T = TypeVar("T")


@dataclass(frozen=True)
class Dialect:
    """What one SQL backend does differently from the shared SQL."""

    name: str
    #: Substitutions for migration DDL (see `migrations`).
    ddl: Mapping[str, str]
    #: Rewrites shared SQL (`:name` parameters) into the driver's style.
    translate: Callable[[str], str]
    #: Suffix locking a row read before it is changed.
    for_update: str
    #: Statement taken before migrating, serialising concurrent starters.
    migration_lock: str | None
    #: Python value -> JSON column parameter, and back.
    json_param: Callable[[Any], Any]
    json_value: Callable[[Any], Any]


class Tx:
    """An open transaction: runs shared SQL through a DB-API cursor."""

    def __init__(self, cursor: Any, dialect: Dialect):
        self._cursor = cursor
        self._dialect = dialect

    def run(self, sql: str, **params: Any) -> None:
        self._cursor.execute(self._dialect.translate(sql), params)

    def rows(self, sql: str, **params: Any) -> list[Row]:
        self.run(sql, **params)
        return self._cursor.fetchall()

    def row(self, sql: str, **params: Any) -> Row | None:
        rows = self.rows(sql, **params)
        return rows[0] if rows else None


# The columns of `callbacks`, in the order RETURNING/SELECT lists them.
_CALLBACK_COLUMNS = (
    "id, idempotency_key, queue, number, caller_id, line, brand, arrival_time,"
    " priority, order_key, variables, status, booked_at, updated_at, not_before,"
    " next_attempt_at, attempts, last_outcome, lease_owner, lease_expires_at, finished_at"
)
# (`window_start`/`window_end`, made by migration 1 for a per-callback window
# nothing used, stay NULL: dropping a column needs SQLite 3.35.)
AGENT_DESK_STATES = ("logged_out", "available", "paused")
"""The states an agent chooses, and so the ones stored (`agent_desk`)."""
# Due (`:now`): pending and its time come; or dialing under a lease that ran
# out (its dialer died).  Claims take only these.
_DUE = (
    "((status = 'pending' AND next_attempt_at <= :now)"
    " OR (status = 'dialing' AND lease_expires_at <= :now))"
)
# What `SqlStore._take` needs of a claimed row.
_CLAIM_COLUMNS = "id, status, lease_owner, lease_expires_at"


def _queue_filter(queue: str | None) -> str:
    return "" if queue is None else " AND queue = :queue"


def _check_lease_length(lease_seconds: float) -> None:
    if lease_seconds <= 0:
        raise ValueError("lease_seconds must be positive")


def _time(value: float | None) -> float | None:
    # SQLite's RETURNING hands back an int written to a REAL column as int.
    return None if value is None else float(value)


class SqlStore(SqlNotices, Store):
    """`Store` over a SQL database; subclasses supply the connection.

    Method contracts (and parameter types) are documented on `Store`.  Each
    operation hands its SQL to `_run` as one function of the transaction, so
    a backend can run it again on a fresh connection (see `_run`).
    """

    dialect: Dialect

    @abstractmethod
    def _transaction(self, write: bool = True) -> AbstractContextManager[Tx]:
        """A transaction committed on normal exit, rolled back on error.

        `write=False` promises only reads, letting SQLite skip the write lock.
        """

    def _run(self, work: Callable[[Tx], T], *, write: bool = True, idempotent: bool = False) -> T:
        """Run `work` in one transaction and return its result.

        Every operation goes through here.  `idempotent` says that running
        the work twice leaves the same state and answer as running it once
        (reads always do), so a backend that lost its connection while
        committing, not knowing whether the commit happened, may still run
        it again (`PostgresStore` does).
        """
        with self._transaction(write) as tx:
            return work(tx)

    def _migrate(self) -> None:
        # Idempotent: migrating again finds the versions already applied.
        self._run(lambda tx: migrations.migrate(tx, self.dialect, time.time()), idempotent=True)

    def schema_version(self) -> int:
        return self._run(migrations.current_version, write=False)

    # -- callbacks ---------------------------------------------------------

    def book_callback(
        self,
        queue,
        number,
        caller_id,
        arrival_time,
        priority,
        variables,
        *,
        line=None,
        brand=None,
        order_key=None,
        not_before=None,
        idempotency_key=None,
        booked_at=None,
    ):
        booked_at = time.time() if booked_at is None else booked_at
        params = dict(
            idempotency_key=idempotency_key,
            queue=queue,
            number=number,
            caller_id=caller_id,
            line=line,
            brand=brand,
            arrival_time=arrival_time,
            priority=priority,
            order_key=arrival_time if order_key is None else order_key,
            variables=self.dialect.json_param(dict(variables)),
            booked_at=booked_at,
            not_before=not_before,
            next_attempt_at=arrival_time if not_before is None else max(arrival_time, not_before),
        )
        columns = ", ".join(params)
        values = ", ".join(f":{name}" for name in params)

        def insert(tx: Tx) -> Row:
            row = tx.row(
                f"INSERT INTO callbacks ({columns}, status, updated_at)"
                f" VALUES ({values}, 'pending', :booked_at)"
                " ON CONFLICT (idempotency_key) DO NOTHING"
                f" RETURNING {_CALLBACK_COLUMNS}",
                **params,
            )
            if row is None:  # booked before under this key: the retry gets it
                row = tx.row(
                    f"SELECT {_CALLBACK_COLUMNS} FROM callbacks WHERE idempotency_key = :key",
                    key=idempotency_key,
                )
            return row

        # With a key, booking again returns the first booking: safe to repeat.
        return self._callback(self._run(insert, idempotent=idempotency_key is not None))

    def due_callbacks(self, now, queue=None):
        return self._select_callbacks(f"{_DUE}{_queue_filter(queue)}", now=now, queue=queue)

    def claim(self, callback_id, owner, lease_seconds, now):
        _check_lease_length(lease_seconds)

        def take_one(tx: Tx) -> Row | None:
            # On PostgreSQL a second claimer waits for the first one's lock,
            # then sees the row as the first left it: dialing, not due.
            candidate = tx.row(
                f"SELECT {_CLAIM_COLUMNS} FROM callbacks WHERE id = :id AND {_DUE}"
                f"{self.dialect.for_update}",
                id=callback_id,
                now=now,
            )
            if candidate is None:
                self._get(tx, callback_id, lock="")  # CallbackNotFound if no such id
                return None
            return self._take(tx, candidate, owner, lease_seconds, now)

        row = self._run(take_one)
        return None if row is None else self._callback(row)

    def release(self, callback_id, owner, now):
        def give_back(tx: Tx) -> Row:
            record = self._locked(tx, callback_id)
            lifecycle.check_lease(record, owner)
            status = lifecycle.status_after_release(record)
            return tx.row(
                "UPDATE callbacks SET status = :status, next_attempt_at = :next_attempt_at,"
                " lease_owner = NULL, lease_expires_at = NULL, updated_at = :now"
                f" WHERE id = :id RETURNING {_CALLBACK_COLUMNS}",
                status=status.value,
                next_attempt_at=now if status is CallbackStatus.PENDING else record.next_attempt_at,
                now=now,
                id=callback_id,
            )

        return self._callback(self._run(give_back))

    def record_attempt(self, callback_id, owner, outcome, now, next_attempt_at=None, give_up=False):
        outcome = AttemptOutcome(outcome)

        def record(tx: Tx) -> Row:
            record = self._locked(tx, callback_id)
            lifecycle.check_lease(record, owner)
            status = lifecycle.status_after_attempt(record, outcome, next_attempt_at, give_up)
            self._insert_attempt(tx, callback_id, owner, outcome, now, next_attempt_at, give_up)
            return tx.row(
                "UPDATE callbacks SET status = :status, attempts = attempts + 1,"
                " last_outcome = :outcome, next_attempt_at = :next_attempt_at,"
                " lease_owner = NULL, lease_expires_at = NULL,"
                " finished_at = :finished_at, updated_at = :now"
                f" WHERE id = :id RETURNING {_CALLBACK_COLUMNS}",
                status=status.value,
                outcome=outcome.value,
                next_attempt_at=(
                    record.next_attempt_at if next_attempt_at is None else next_attempt_at
                ),
                finished_at=None if status is CallbackStatus.PENDING else record.finished_at or now,
                now=now,
                id=callback_id,
            )

        return self._callback(self._run(record))

    def cancel(self, callback_id, now=None):
        now = time.time() if now is None else now

        def cancel(tx: Tx) -> Row:
            lifecycle.check_cancellable(self._locked(tx, callback_id))
            # The lease is kept: the dialer of a cancelled call may still report.
            return tx.row(
                "UPDATE callbacks SET status = 'cancelled', finished_at = :now,"
                f" updated_at = :now WHERE id = :id RETURNING {_CALLBACK_COLUMNS}",
                now=now,
                id=callback_id,
            )

        return self._callback(self._run(cancel))

    def retry(self, callback_id, now):
        def make_due(tx: Tx) -> Row:
            lifecycle.check_retryable(self._locked(tx, callback_id))
            return tx.row(
                "UPDATE callbacks SET status = 'pending', next_attempt_at = :now,"
                " lease_owner = NULL, lease_expires_at = NULL, finished_at = NULL,"
                f" updated_at = :now WHERE id = :id RETURNING {_CALLBACK_COLUMNS}",
                now=now,
                id=callback_id,
            )

        # A second run finds it pending and makes it due at the same `now`.
        return self._callback(self._run(make_due, idempotent=True))

    def get(self, callback_id):
        return self._run(lambda tx: self._get(tx, callback_id, lock=""), write=False)

    def list_callbacks(self, status=None, queue=None):
        status = CallbackStatus(status).value if status is not None else None
        return self._select_callbacks(_where({"status = :status": status, "queue = :queue": queue}),
                                      status=status, queue=queue)

    def attempts(self, callback_id):
        rows = self._run(
            lambda tx: tx.rows(
                "SELECT id, callback_id, owner, outcome, at, next_attempt_at, gave_up"
                " FROM callback_attempts WHERE callback_id = :id ORDER BY id",
                id=callback_id,
            ),
            write=False,
        )
        return [
            CallbackAttempt(
                id=r["id"],
                callback_id=r["callback_id"],
                owner=r["owner"],
                outcome=AttemptOutcome(r["outcome"]),
                at=float(r["at"]),
                next_attempt_at=_time(r["next_attempt_at"]),
                gave_up=bool(r["gave_up"]),
            )
            for r in rows
        ]

    # -- queue statistics --------------------------------------------------

    def record_queue_events(self, events):
        # Validate everything before writing anything.
        params = [
            dict(
                kind=QueueEventKind(e.kind).value,
                queue=e.queue,
                entry_id=e.entry_id,
                at=e.at,
                fields=self.dialect.json_param(e.fields),
            )
            for e in events
        ]

        def insert(tx: Tx) -> list[int]:
            return [
                tx.row(
                    "INSERT INTO queue_events (kind, queue, entry_id, at, fields)"
                    " VALUES (:kind, :queue, :entry_id, :at, :fields) RETURNING id",
                    **p,
                )["id"]
                for p in params
            ]

        ids = self._run(insert) if params else []
        return [
            QueueEvent(id_, QueueEventKind(e.kind), e.queue, e.entry_id, float(e.at), dict(e.fields))
            for id_, e in zip(ids, events)
        ]

    def queue_events(self, since=None, queue=None, kind=None, until=None):
        kind = QueueEventKind(kind).value if kind is not None else None
        where = _where({"at >= :since": since, "at < :until": until, "queue = :queue": queue, "kind = :kind": kind})
        rows = self._run(
            lambda tx: tx.rows(
                "SELECT id, kind, queue, entry_id, at, fields FROM queue_events"
                f" WHERE {where} ORDER BY at, id",
                since=since,
                until=until,
                queue=queue,
                kind=kind,
            ),
            write=False,
        )
        return [
            QueueEvent(
                id=r["id"],
                kind=QueueEventKind(r["kind"]),
                queue=r["queue"],
                entry_id=r["entry_id"],
                at=float(r["at"]),
                fields=self.dialect.json_value(r["fields"]),
            )
            for r in rows
        ]

    # -- post-call surveys -----------------------------------------------------

    def record_survey(self, call_uuid, queue, agent_id, answers, now):
        params = [dict(call_uuid=call_uuid, queue=queue, agent_id=agent_id, question=question, score=score,
                       at=now) for question, score in _answers(answers)]

        def insert(tx: Tx) -> list[Row]:
            for p in params:
                tx.run(
                    "INSERT INTO survey_scores (call_uuid, queue, agent_id, question, score, at)"
                    " VALUES (:call_uuid, :queue, :agent_id, :question, :score, :at)"
                    " ON CONFLICT (call_uuid, question) DO NOTHING",
                    **p,
                )
            return tx.rows(f"SELECT {_SURVEY_COLUMNS} FROM survey_scores WHERE call_uuid = :call_uuid"
                           " ORDER BY question", call_uuid=call_uuid)

        return [_survey_score(r) for r in self._run(insert, idempotent=True)]

    def survey_scores(self, since=None, until=None, queue=None):
        where = _where({"at >= :since": since, "at < :until": until, "queue = :queue": queue})
        rows = self._run(
            lambda tx: tx.rows(f"SELECT {_SURVEY_COLUMNS} FROM survey_scores WHERE {where}"
                               " ORDER BY at, id", since=since, until=until, queue=queue),
            write=False,
        )
        return [_survey_score(r) for r in rows]

    # -- agent states --------------------------------------------------------

    def save_agent_state(self, agent_id, state, reason, at):
        if state not in AGENT_DESK_STATES:
            raise ValueError(f"agent state must be one of {', '.join(AGENT_DESK_STATES)}, got {state!r}")

        def upsert(tx: Tx) -> None:
            tx.run(
                "INSERT INTO agent_desk (agent_id, state, reason, changed_at)"
                " VALUES (:agent_id, :state, :reason, :at)"
                " ON CONFLICT (agent_id) DO UPDATE SET state = excluded.state,"
                " reason = excluded.reason, changed_at = excluded.changed_at",
                agent_id=agent_id, state=state, reason=reason, at=at,
            )

        # Writing the same row twice leaves it as writing it once.
        self._run(upsert, idempotent=True)
        return AgentDeskState(agent_id, state, reason, float(at))

    def agent_states(self):
        rows = self._run(
            lambda tx: tx.rows("SELECT agent_id, state, reason, changed_at FROM agent_desk"), write=False
        )
        return {
            r["agent_id"]: AgentDeskState(r["agent_id"], r["state"], r["reason"], float(r["changed_at"]))
            for r in rows
        }

    # -- helpers ------------------------------------------------------------

    def _select_callbacks(self, where: str, **params: Any) -> list[CallbackRecord]:
        rows = self._run(
            lambda tx: tx.rows(
                f"SELECT {_CALLBACK_COLUMNS} FROM callbacks WHERE {where} ORDER BY order_key, id",
                **params,
            ),
            write=False,
        )
        return [self._callback(r) for r in rows]

    def _take(self, tx: Tx, candidate: Row, owner: str, lease_seconds: float, now: float) -> Row:
        """Put a due callback (`_CLAIM_COLUMNS`) under `owner`'s lease.

        Taking over an expired lease records the lost attempt first, so the
        history shows that a dialer died with the callback in hand.
        """
        if candidate["status"] == CallbackStatus.DIALING:
            self._insert_attempt(
                tx,
                candidate["id"],
                candidate["lease_owner"],
                AttemptOutcome.LEASE_EXPIRED,
                candidate["lease_expires_at"],
                next_attempt_at=None,
                gave_up=False,
            )
        return tx.row(
            "UPDATE callbacks SET status = 'dialing', lease_owner = :owner,"
            " lease_expires_at = :expires, updated_at = :now"
            f" WHERE id = :id RETURNING {_CALLBACK_COLUMNS}",
            owner=owner,
            expires=now + lease_seconds,
            now=now,
            id=candidate["id"],
        )

    def _locked(self, tx: Tx, callback_id: int) -> CallbackRecord:
        """The callback's row, locked against concurrent changes until commit."""
        return self._get(tx, callback_id, lock=self.dialect.for_update)

    def _get(self, tx: Tx, callback_id: int, lock: str) -> CallbackRecord:
        row = tx.row(
            f"SELECT {_CALLBACK_COLUMNS} FROM callbacks WHERE id = :id{lock}", id=callback_id
        )
        if row is None:
            raise CallbackNotFound(f"no callback with id {callback_id}")
        return self._callback(row)

    @staticmethod
    def _insert_attempt(tx, callback_id, owner, outcome, at, next_attempt_at, gave_up) -> None:
        tx.run(
            "INSERT INTO callback_attempts"
            " (callback_id, owner, outcome, at, next_attempt_at, gave_up)"
            " VALUES (:callback_id, :owner, :outcome, :at, :next_attempt_at, :gave_up)",
            callback_id=callback_id,
            owner=owner,
            outcome=outcome.value,
            at=at,
            next_attempt_at=next_attempt_at,
            gave_up=gave_up,
        )

    def _callback(self, r: Row) -> CallbackRecord:
        return CallbackRecord(
            id=r["id"],
            queue=r["queue"],
            number=r["number"],
            caller_id=r["caller_id"],
            line=r["line"],
            brand=r["brand"],
            arrival_time=float(r["arrival_time"]),
            priority=r["priority"],
            order_key=float(r["order_key"]),
            variables=self.dialect.json_value(r["variables"]),
            status=CallbackStatus(r["status"]),
            idempotency_key=r["idempotency_key"],
            booked_at=float(r["booked_at"]),
            updated_at=float(r["updated_at"]),
            not_before=_time(r["not_before"]),
            next_attempt_at=float(r["next_attempt_at"]),
            attempts=r["attempts"],
            last_outcome=AttemptOutcome(r["last_outcome"]) if r["last_outcome"] else None,
            lease_owner=r["lease_owner"],
            lease_expires_at=_time(r["lease_expires_at"]),
            finished_at=_time(r["finished_at"]),
        )


_SURVEY_COLUMNS = "id, call_uuid, queue, agent_id, question, score, at"


def _where(conditions: Mapping[str, Any]) -> str:
    """The WHERE clause of the conditions whose parameter is given (not None)."""
    return " AND ".join(["1 = 1", *(sql for sql, value in conditions.items() if value is not None)])


def _answers(answers) -> list[tuple[int, int]]:
    """The answers checked before anything is written: (question >= 1, score 0-9)."""
    checked = []
    for question, score in answers:
        if not (isinstance(question, int) and question >= 1 and isinstance(score, int) and 0 <= score <= 9):
            raise ValueError(f"a survey answer is (question >= 1, score 0-9), not {(question, score)!r}")
        checked.append((question, score))
    return checked


def _survey_score(r: Row) -> SurveyScore:
    return SurveyScore(r["id"], r["call_uuid"], r["queue"], r["agent_id"], r["question"], r["score"], float(r["at"]))
