"""Persistence: callbacks and queue statistics.

`open_store(url)` returns a `Store` (SQLite by default, PostgreSQL for
several processes); wrap it in `fsrouter.store.gevent_wrapper.GeventStore`
inside the gevent process.  See docs/store.md.
"""

from fsrouter.store.errors import (
    CallbackNotFound,
    CommitUnknown,
    InvalidTransition,
    LeaseLost,
    SchemaTooNew,
    StoreError,
    StoreUnavailable,
    UnsupportedURL,
)
from fsrouter.store.interface import Store
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
from fsrouter.store.url import open_store, resolve_url

__all__ = [
    "AgentDeskState",
    "AttemptOutcome",
    "CallbackAttempt",
    "CallbackNotFound",
    "CallbackRecord",
    "CommitUnknown",
    "CallbackStatus",
    "InvalidTransition",
    "LeaseLost",
    "NewQueueEvent",
    "QueueEvent",
    "QueueEventKind",
    "SchemaTooNew",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "SurveyScore",
    "UnsupportedURL",
    "open_store",
    "resolve_url",
]
