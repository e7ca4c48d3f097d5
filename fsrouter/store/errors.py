"""Errors the store raises on purpose.

Each one names the callback and says what state it is in, so a CLI or API
user reading the message knows why the request was refused.
"""

from __future__ import annotations


class StoreError(Exception):
    """Base of every error the store raises deliberately."""


class UnsupportedURL(StoreError):
    """`open_store` does not know the URL's scheme or cannot parse it."""


class SchemaTooNew(StoreError):
    """The database was migrated by a newer fsrouter; refusing to touch it."""


class CallbackNotFound(StoreError, LookupError):
    """No callback has that id."""


class InvalidTransition(StoreError):
    """The callback's status does not allow the requested change."""


class LeaseLost(StoreError):
    """The caller no longer holds the callback's lease (it expired and another
    owner claimed it, or a supervisor cancelled and retried it)."""


class StoreUnavailable(StoreError):
    """The database could not be reached or stayed locked, or the connection
    was lost and the operation could not safely be run again.

    Nothing was written, except for its subclass `CommitUnknown`.  Trying
    again later is the remedy.
    """


class CommitUnknown(StoreUnavailable):
    """The PostgreSQL connection was lost during `COMMIT` and whether the
    change was applied could not be found out.

    A booking with an `idempotency_key` is resolved by booking again under
    the same key once the database answers: that returns the booking if
    the lost commit applied it, or makes it now (see docs/store.md).
    """
