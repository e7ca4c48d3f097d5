"""Store latency and gevent loop stalls, per backend and way of calling it.

    .venv/bin/python bench/store_latency.py [--greenlets 50] [--seconds 3]

For each scenario a child process (monkey-patched or not, as the scenario
says) runs:

- solo: one greenlet books callbacks one after another: booking latency
  without contention;
- load: N greenlets loop book -> due_callbacks -> claim(first due) ->
  record_attempt(answered) (as the live dialer claims), then yield, for S
  seconds: booking latency under contention and throughput;

while a ticker greenlet sleeps 5 ms at a time and records how late it
wakes: the worst lateness is the longest the hub was stalled, i.e. the
longest every other call's prompts and timers would have frozen.

PostgreSQL runs on a throwaway local server (unix socket, fsync on unless
--pg-fsync off), SQLite on a file in a temporary directory.  The figures and
the decision they support are in docs/decisions/0002-store-gevent.md.
"""

from __future__ import annotations

import sys

if "--patch" in sys.argv:  # before anything imports socket, select or psycopg
    from gevent import monkey

    monkey.patch_all()

import argparse
import json
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import gevent

ROOT = Path(__file__).resolve().parent.parent
TICK = 0.005

# name, backend, monkey-patched, wrapped in GeventStore, store options
SCENARIOS = [
    ("sqlite FULL, GeventStore", "sqlite", False, True, {"synchronous": "FULL"}),
    ("sqlite NORMAL, GeventStore", "sqlite", False, True, {"synchronous": "NORMAL"}),
    ("sqlite FULL, on the hub", "sqlite", False, False, {"synchronous": "FULL"}),
    ("postgresql, patched, GeventStore", "postgresql", True, True, {}),
    ("postgresql, unpatched, GeventStore", "postgresql", False, True, {}),
    ("postgresql, unpatched, on the hub", "postgresql", False, False, {}),
]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run_child(url: str, wrap: bool, options: dict, greenlets: int, seconds: float) -> dict:
    from fsrouter.store import open_store
    from fsrouter.store.gevent_wrapper import GeventStore

    plain = open_store(url, **options)
    store = GeventStore(plain) if wrap else plain
    lateness: list[float] = []
    running = True

    def ticker() -> None:
        while running:
            started = time.perf_counter()
            gevent.sleep(TICK)
            lateness.append(time.perf_counter() - started - TICK)

    def book(latencies: list[float]) -> None:
        started = time.perf_counter()
        now = time.time()
        store.book_callback("q", "+302101234567", "+302101234567", now, 0, {"lang": "el"})
        latencies.append(time.perf_counter() - started)

    ticking = gevent.spawn(ticker)
    solo: list[float] = []
    for _ in range(200):
        book(solo)

    loaded: list[float] = []
    operations = [0]
    deadline = time.perf_counter() + seconds

    def worker(i: int) -> None:
        owner = f"worker-{i}"
        while time.perf_counter() < deadline:
            book(loaded)
            now = time.time()
            for due in store.due_callbacks(now):  # the first one nobody else took
                if claimed := store.claim(due.id, owner, 30.0, now):
                    store.record_attempt(claimed.id, owner, "answered", time.time())
                    break
            operations[0] += 4
            gevent.sleep(0)  # as real code would, between one call's work and the next

    lateness.clear()
    started = time.perf_counter()
    gevent.joinall([gevent.spawn(worker, i) for i in range(greenlets)], raise_error=True)
    elapsed = time.perf_counter() - started
    running = False
    ticking.join()
    store.close()
    ms = 1000.0
    return {
        "mode": getattr(store, "mode", "on the hub"),
        "solo_p50": percentile(solo, 0.5) * ms,
        "solo_p99": percentile(solo, 0.99) * ms,
        "load_p50": percentile(loaded, 0.5) * ms,
        "load_p99": percentile(loaded, 0.99) * ms,
        "ops_per_s": operations[0] / elapsed,
        "stall_max": max(lateness) * ms,
        "stall_p99": percentile(lateness, 0.99) * ms,
        "stall_median": statistics.median(lateness) * ms,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--greenlets", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--pg-fsync", choices=["on", "off"], default="on")
    parser.add_argument("--child", help=argparse.SUPPRESS)  # URL, in a child
    parser.add_argument("--wrap", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--patch", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--options", default="{}", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        result = run_child(
            args.child, args.wrap, json.loads(args.options), args.greenlets, args.seconds
        )
        print(json.dumps(result))
        return

    sys.path.insert(0, str(ROOT / "tests" / "store"))
    from throwaway_pg import ThrowawayPostgres, find_bin_dir

    bin_dir = find_bin_dir()
    with tempfile.TemporaryDirectory() as tmp, ThrowawayPostgres(
        bin_dir, fsync=args.pg_fsync == "on"
    ) as server:
        print(
            f"{args.greenlets} greenlets x {args.seconds:g} s; ticker every {TICK * 1000:g} ms;"
            f" PostgreSQL fsync={args.pg_fsync} (unix socket); SQLite file in {tmp}\n"
        )
        print(
            "| scenario | runs calls | book p50/p99 solo (ms) | book p50/p99 loaded (ms)"
            " | ops/s | hub stall max / p99 (ms) |"
        )
        print("|---|---|---|---|---|---|")
        for i, (name, backend, patch, wrap, options) in enumerate(SCENARIOS):
            url = (
                f"sqlite://{tmp}/bench{i}.db"
                if backend == "sqlite"
                else server.create_database(f"bench{i}")
            )
            command = [
                sys.executable, __file__, "--child", url, "--options", json.dumps(options),
                "--greenlets", str(args.greenlets), "--seconds", str(args.seconds),
            ] + ["--wrap"] * wrap + ["--patch"] * patch
            done = subprocess.run(command, capture_output=True, text=True, check=True)
            r = json.loads(done.stdout)
            print(
                f"| {name} | {r['mode']} | {r['solo_p50']:.2f} / {r['solo_p99']:.2f}"
                f" | {r['load_p50']:.2f} / {r['load_p99']:.2f} | {r['ops_per_s']:.0f}"
                f" | {r['stall_max']:.1f} / {r['stall_p99']:.1f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
