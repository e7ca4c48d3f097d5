"""Durable before acknowledged: SQLite file settings and a SIGKILL right
after `book_callback` returns."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap

from fsrouter.store import CallbackStatus, open_store

_BOOK_THEN_DIE = textwrap.dedent(
    """
    import os, signal, sys
    from fsrouter.store import open_store

    store = open_store(sys.argv[1])
    record = store.book_callback(
        "billing", "+302101234567", "+302101234567", 100.0, 0, {"lang": "el"},
        idempotency_key="call-uuid",
    )
    print(record.id, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)  # no close, no atexit, no flush
    """
)


def test_booking_survives_sigkill_right_after_it_returns(tmp_path):
    url = f"sqlite://{tmp_path}/fsrouter.db"
    done = subprocess.run(
        [sys.executable, "-c", _BOOK_THEN_DIE, url], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    booked_id = int(done.stdout)
    with open_store(url) as store:
        record = store.get(booked_id)
    assert record.status is CallbackStatus.PENDING
    assert record.variables == {"lang": "el"}


def test_sqlite_file_uses_wal_and_full_sync(tmp_path, raw_rows):
    with open_store(f"sqlite://{tmp_path}/fsrouter.db") as store:
        assert raw_rows(store, "PRAGMA journal_mode") == [{"journal_mode": "wal"}]
        assert raw_rows(store, "PRAGMA synchronous") == [{"synchronous": 2}]  # FULL

