"""Keep the gevent hub running while the database works.

Every call sharing the hub with the ESL connections must yield while it
waits; a blocked hub stalls every caller's prompts and every timer.  How a
store call waits decides how to run it (figures in
docs/decisions/0002-store-gevent.md):

- SQLite blocks in C (fsync, busy waits) and never yields: its calls run
  on a dedicated worker thread, one at a time (one connection).
- psycopg, imported after `gevent.monkey.patch_all()`, waits through the
  patched `select`, and psycopg_pool's locks and workers are greenlets: its
  calls run directly in the calling greenlet, no thread hop.
- psycopg in a process that is not monkey-patched blocks in C: its calls
  run on a pool of worker threads (the connection pool is thread-safe).
- A patched process where psycopg was imported before patching would mix
  C waits with green locks; that is refused with instructions.

`GeventStore` forwards every `Store` method through the chosen runner; the
wrapped store stays plain and synchronous.  It is also the last boundary
before the runtime: whatever else a backend lets out (a thread that could
not start, an OS error) leaves as a `StoreError`, so a store fault never
ends a call.  The caller's own mistakes (`ValueError`, `TypeError`) pass
unchanged.
"""

from __future__ import annotations

import functools
from abc import update_abstractmethods
from collections.abc import Callable
from typing import Any

from gevent import monkey
from gevent.threadpool import ThreadPool

from fsrouter.store.errors import StoreError
from fsrouter.store.interface import Store


class GeventStore(Store):
    """A `Store` whose calls yield to the gevent hub instead of blocking it.

    `mode` says which runner was chosen: "direct", "worker thread" or
    "thread pool".
    """

    def __init__(self, store: Store, *, threads: int = 10):
        self._store = store
        self._pool: ThreadPool | None = None
        if not store.thread_safe:
            self.mode = "worker thread"
            self._pool = ThreadPool(1)
        elif not monkey.is_module_patched("threading"):
            self.mode = "thread pool"
            self._pool = ThreadPool(threads)
        elif store.waits_cooperatively:
            self.mode = "direct"
        else:
            raise StoreError(
                f"{type(store).__name__} would block the gevent hub: the process is"
                " monkey-patched but the driver was imported before patching; call"
                " gevent.monkey.patch_all() before importing psycopg"
            )

    def _run(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            if self._pool is None:
                return method(*args, **kwargs)
            ok, value = self._pool.apply(_outcome, (method, args, kwargs))
            if not ok:
                raise value
            return value
        except (StoreError, ValueError, TypeError):
            raise
        except Exception as e:
            raise StoreError(f"store {method.__name__} failed: {type(e).__name__}: {e}") from e

    def close(self) -> None:
        try:
            self._run(self._store.close)
        finally:
            if self._pool is not None:
                self._pool.kill()


def _forward(name: str) -> Callable[..., Any]:
    @functools.wraps(getattr(Store, name), updated=())  # not its abstract mark
    def method(self: GeventStore, *args: Any, **kwargs: Any) -> Any:
        return self._run(getattr(self._store, name), *args, **kwargs)

    return method


for _name in Store.__abstractmethods__ - {"close"}:
    setattr(GeventStore, _name, _forward(_name))
update_abstractmethods(GeventStore)


def _outcome(method: Callable[..., Any], args: tuple, kwargs: dict) -> tuple[bool, Any]:
    """Run in a worker thread: the result, or the exception, as a value.
    gevent's pool prints an exception escaping a worker as an error (a
    traceback per failed call: a vanished database made one a second)
    before handing it back; a store fault is the caller's to report."""
    try:
        return True, method(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - re-raised in the calling greenlet
        return False, exc
