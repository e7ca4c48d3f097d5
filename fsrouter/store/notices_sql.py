"""The notices part of `SqlStore`, in SQL both SQLite and PostgreSQL accept.

One notice is on per scope (the unique index `notices_on`): switching a new
one on clears the old one in the same transaction, so the database never
holds two and a crash between the two steps cannot leave both.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from fsrouter.notices import Notice

_COLUMNS = "id, scope, prompt, created_at, expires_at, cleared_at"


class SqlNotices:
    """Mixed into `SqlStore`, whose `_run` runs each function in one transaction."""

    _run: Callable[..., Any]

    def add_notice(self, scope: str, prompt: str, now: float, expires_at: float | None) -> Notice:
        def switch_on(tx) -> Mapping[str, Any]:
            tx.run("UPDATE notices SET cleared_at = :now WHERE scope = :scope AND cleared_at IS NULL",
                   now=now, scope=scope)
            return tx.row(
                "INSERT INTO notices (scope, prompt, created_at, expires_at)"
                f" VALUES (:scope, :prompt, :now, :expires_at) RETURNING {_COLUMNS}",
                scope=scope, prompt=prompt, now=now, expires_at=expires_at)

        return _notice(self._run(switch_on))

    def clear_notices(self, now: float, *, notice_id: int | None = None, scope: str | None = None) -> list[Notice]:
        if (notice_id is None) == (scope is None):
            raise ValueError("clear_notices wants a notice_id or a scope, not both or neither")
        which = "id = :id" if notice_id is not None else "scope = :scope"
        rows = self._run(lambda tx: tx.rows(
            f"UPDATE notices SET cleared_at = :now WHERE {which} AND cleared_at IS NULL RETURNING {_COLUMNS}",
            now=now, id=notice_id, scope=scope))
        return [_notice(r) for r in rows]

    def notices_on(self) -> list[Notice]:
        rows = self._run(lambda tx: tx.rows(f"SELECT {_COLUMNS} FROM notices WHERE cleared_at IS NULL ORDER BY id"),
                         write=False)
        return [_notice(r) for r in rows]


def _notice(r: Mapping[str, Any]) -> Notice:
    return Notice(
        id=r["id"],
        scope=r["scope"],
        prompt=r["prompt"],
        created_at=float(r["created_at"]),
        # SQLite hands back an int written to a REAL column as int.
        expires_at=None if r["expires_at"] is None else float(r["expires_at"]),
        cleared_at=None if r["cleared_at"] is None else float(r["cleared_at"]),
    )
