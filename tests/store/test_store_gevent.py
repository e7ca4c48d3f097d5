"""GeventStore: calls leave the gevent hub running, whatever the backend and
whether the process is monkey-patched (see hub_probe.py for how that is
checked).  Timing figures are the benchmark's business
(bench/store_latency.py), not asserted here.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import gevent
import pytest
from hub_probe import book_while_locked, with_lock_timeout

from fsrouter.store import Store, StoreError
from fsrouter.store.gevent_wrapper import GeventStore


def test_waiting_call_leaves_the_hub_running(backend):
    url = with_lock_timeout(backend.url)
    wrapped = GeventStore(backend.open(url))
    assert wrapped.mode == {"sqlite": "worker thread", "postgresql": "thread pool"}[backend.name]
    assert book_while_locked(wrapped, url) == ["released", "booked"]
    wrapped.close()


def test_calls_run_off_the_hub_thread(store):
    wrapped = GeventStore(store)
    assert wrapped._run(threading.get_ident) != threading.get_ident()
    greenlets = [
        gevent.spawn(wrapped.book_callback, "q", "+30210", "+30210", float(i), 0, {})
        for i in range(20)
    ]
    gevent.joinall(greenlets, raise_error=True)
    assert len(wrapped.list_callbacks()) == 20
    wrapped.close()


_PATCHED_CHILD = textwrap.dedent(
    """
    import json, sys
    url, import_order, probe_dir = sys.argv[1:]
    if import_order == "late":
        import psycopg  # imported before patching: psycopg picks blocking waits
    from gevent import monkey
    monkey.patch_all()
    import gevent
    sys.path.insert(0, probe_dir)
    from hub_probe import book_while_locked
    from fsrouter.store import open_store, StoreError
    from fsrouter.store.gevent_wrapper import GeventStore

    try:
        wrapped = GeventStore(open_store(url))
    except StoreError as e:
        print(json.dumps({"error": str(e)}))
        sys.exit()
    happened = book_while_locked(wrapped, url)
    [booked] = wrapped.due_callbacks(10.0)
    claims = [gevent.spawn(wrapped.claim, booked.id, f"o{i}", 30.0, 10.0) for i in range(5)]
    gevent.joinall(claims, raise_error=True)
    print(json.dumps({
        "mode": wrapped.mode,
        "happened": happened,
        "claimed": sum(1 for c in claims if c.value),
    }))
    wrapped.close()
    """
)


def run_patched_child(url, import_order):
    probe_dir = str(Path(__file__).parent)
    done = subprocess.run(
        [sys.executable, "-c", _PATCHED_CHILD, with_lock_timeout(url), import_order, probe_dir],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


only_postgresql = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)


@only_postgresql
def test_psycopg_in_a_patched_process_runs_directly_and_yields(backend):
    result = run_patched_child(backend.url, "after")
    assert result["mode"] == "direct"
    assert result["happened"] == ["released", "booked"]
    assert result["claimed"] == 1


@only_postgresql
def test_psycopg_imported_before_patching_is_refused(backend):
    result = run_patched_child(backend.url, "late")
    assert "before importing psycopg" in result["error"]


def test_gevent_store_forwards_the_whole_interface(store):
    wrapped = GeventStore(store)
    assert not GeventStore.__abstractmethods__
    assert GeventStore.book_callback.__doc__ == Store.book_callback.__doc__
    with pytest.raises(StoreError):  # errors cross the thread unchanged
        wrapped.get(12345)
    wrapped.close()


def test_a_store_fault_in_a_worker_thread_is_raised_in_the_caller_not_printed(tmp_path, capfd):
    from fsrouter.store.sqlite import SqliteStore

    class Faulty(SqliteStore):
        def due_callbacks(self, now):
            raise StoreError("database file vanished (test)")

    wrapped = GeventStore(Faulty(str(tmp_path / "fsrouter.db")))
    assert wrapped.mode == "worker thread"
    with pytest.raises(StoreError, match="vanished"):
        wrapped.due_callbacks(0.0)
    gevent.sleep(0.05)
    assert "Traceback" not in capfd.readouterr().err  # gevent printed one per failed call
    wrapped.close()
