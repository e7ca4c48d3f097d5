"""Versioned schema migrations, shared by every backend.

Migrations are applied in order, each recorded in `schema_migrations`, all
pending ones in a single transaction (both SQLite and PostgreSQL have
transactional DDL, so a failed upgrade leaves the old schema intact).  The
DDL is written once; the few words the dialects disagree on are `{names}`
filled from `Dialect.ddl`:

- `{id_pk}`: an auto-assigned integer primary key,
- `{json}`: a JSON document column (TEXT in SQLite, JSONB in PostgreSQL).

Everything else (DOUBLE PRECISION, BOOLEAN, partial indexes, CHECK) is
accepted by both.  A migration that must differ by dialect gives a mapping
from dialect name to SQL instead of a string.  Never edit a released
migration: append a new one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fsrouter.store.errors import SchemaTooNew

if TYPE_CHECKING:
    from fsrouter.store.sql import Dialect, Tx


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: tuple[str | Mapping[str, str], ...]

    def sql_for(self, dialect: Dialect) -> list[str]:
        return [
            (s if isinstance(s, str) else s[dialect.name]).format_map(dialect.ddl)
            for s in self.statements
        ]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "callbacks, attempts, queue events, agent states",
        (
            """
            CREATE TABLE callbacks (
                id {id_pk},
                idempotency_key TEXT UNIQUE,
                queue TEXT NOT NULL,
                number TEXT NOT NULL,
                caller_id TEXT NOT NULL,
                line TEXT,
                brand TEXT,
                arrival_time DOUBLE PRECISION NOT NULL,
                priority INTEGER NOT NULL,
                order_key DOUBLE PRECISION NOT NULL,
                variables {json} NOT NULL,
                status TEXT NOT NULL CHECK (status IN
                    ('pending', 'dialing', 'completed', 'failed', 'cancelled')),
                booked_at DOUBLE PRECISION NOT NULL,
                updated_at DOUBLE PRECISION NOT NULL,
                not_before DOUBLE PRECISION,
                window_start DOUBLE PRECISION,
                window_end DOUBLE PRECISION,
                next_attempt_at DOUBLE PRECISION NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0,
                last_outcome TEXT,
                lease_owner TEXT,
                lease_expires_at DOUBLE PRECISION,
                finished_at DOUBLE PRECISION
            )
            """,
            # The claim query: active callbacks in line order.
            """
            CREATE INDEX callbacks_active ON callbacks (order_key, id)
                WHERE status IN ('pending', 'dialing')
            """,
            "CREATE INDEX callbacks_queue_status ON callbacks (queue, status)",
            """
            CREATE TABLE callback_attempts (
                id {id_pk},
                callback_id BIGINT NOT NULL REFERENCES callbacks (id),
                owner TEXT NOT NULL,
                outcome TEXT NOT NULL,
                at DOUBLE PRECISION NOT NULL,
                next_attempt_at DOUBLE PRECISION,
                gave_up BOOLEAN NOT NULL
            )
            """,
            "CREATE INDEX callback_attempts_callback ON callback_attempts (callback_id, id)",
            """
            CREATE TABLE queue_events (
                id {id_pk},
                kind TEXT NOT NULL,
                queue TEXT NOT NULL,
                entry_id TEXT NOT NULL,
                at DOUBLE PRECISION NOT NULL,
                fields {json} NOT NULL
            )
            """,
            "CREATE INDEX queue_events_at ON queue_events (at, id)",
            "CREATE INDEX queue_events_queue_at ON queue_events (queue, at, id)",
            """
            CREATE TABLE agent_states (
                agent_id TEXT PRIMARY KEY,
                state TEXT NOT NULL,
                reason TEXT,
                skills_override {json},
                updated_at DOUBLE PRECISION NOT NULL
            )
            """,
        ),
    ),
    # Agent state persistence was never wired to the ACD; its design comes
    # with the operations work, in a migration of its own.
    Migration(2, "drop the unused agent states", ("DROP TABLE agent_states",)),
    Migration(
        3,
        "post-call survey scores",
        (
            """
            CREATE TABLE survey_scores (
                id {id_pk},
                call_uuid TEXT NOT NULL,
                queue TEXT NOT NULL,
                agent_id TEXT NOT NULL,
                question INTEGER NOT NULL CHECK (question >= 1),
                score INTEGER NOT NULL CHECK (score BETWEEN 0 AND 9),
                at DOUBLE PRECISION NOT NULL,
                UNIQUE (call_uuid, question)
            )
            """,
            "CREATE INDEX survey_scores_at ON survey_scores (at, id)",
        ),
    ),
    Migration(
        4,
        "agent states chosen by agents and supervisors",
        (
            # One row per agent: the state they chose (logged out, available,
            # paused with its reason), restored when the service starts.
            """
            CREATE TABLE agent_desk (
                agent_id TEXT PRIMARY KEY,
                state TEXT NOT NULL CHECK (state IN ('logged_out', 'available', 'paused')),
                reason TEXT NOT NULL,
                changed_at DOUBLE PRECISION NOT NULL
            )
            """,
        ),
    ),
    Migration(
        5,
        "notices",
        (
            # Rows are kept when cleared (cleared_at set): the history of
            # what callers were told, and when.
            """
            CREATE TABLE notices (
                id {id_pk},
                scope TEXT NOT NULL,
                prompt TEXT NOT NULL,
                created_at DOUBLE PRECISION NOT NULL,
                expires_at DOUBLE PRECISION,
                cleared_at DOUBLE PRECISION
            )
            """,
            # At most one notice on per scope: a new one clears the old first.
            "CREATE UNIQUE INDEX notices_on ON notices (scope) WHERE cleared_at IS NULL",
        ),
    ),
)

LATEST = MIGRATIONS[-1].version

_VERSION_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at DOUBLE PRECISION NOT NULL
)
"""


def current_version(tx: Tx) -> int:
    row = tx.row("SELECT MAX(version) AS v FROM schema_migrations")
    return row["v"] or 0


def migrate(tx: Tx, dialect: Dialect, now: float) -> list[int]:
    """Apply the migrations the database lacks; returns their versions.

    Must run in a write transaction.  `dialect.migration_lock` serialises
    processes starting together (SQLite's write lock already does).
    """
    if dialect.migration_lock:
        tx.run(dialect.migration_lock)
    tx.run(_VERSION_TABLE)
    version = current_version(tx)
    if version > LATEST:
        raise SchemaTooNew(
            f"database schema is at version {version}, newer than this fsrouter "
            f"knows ({LATEST}); upgrade fsrouter or use another database"
        )
    applied = []
    for migration in MIGRATIONS:
        if migration.version <= version:
            continue
        for statement in migration.sql_for(dialect):
            tx.run(statement)
        tx.run(
            "INSERT INTO schema_migrations (version, name, applied_at)"
            " VALUES (:version, :name, :now)",
            version=migration.version,
            name=migration.name,
            now=now,
        )
        applied.append(migration.version)
    return applied
