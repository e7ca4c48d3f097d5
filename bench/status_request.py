"""Status API request time with a busy process: O(1), not a walk over every object.

    .venv/bin/python bench/status_request.py [--greenlets 10000] [--requests 300]

Builds the real `Service` (rules tests/rules/good/e2e.yaml, a temporary
SQLite database; FreeSWITCH is not contacted) and starts only its admin API.
`--greenlets` parked greenlets stand for a loaded process (each holds a few
objects, as a waiting call would).  Each figure is the wall time of one
`GET /status` over loopback, connect to last byte, in this process.  For
comparison it also times what each request used to do on top: count the live
greenlets by walking `gc.get_objects()`.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import gevent
import gevent.event
import greenlet
from gevent import socket

from fsrouter.config import load_config
from fsrouter.runtime.service import Service

REPO = Path(__file__).resolve().parents[1]


def service_in(workdir: Path) -> Service:
    config = workdir / "fsrouter.yaml"
    config.write_text(json.dumps({
        "listen": {"host": "127.0.0.1", "port": 0},
        "rules": str(REPO / "tests" / "rules" / "good" / "e2e.yaml"),
        "sounds": str(REPO / "sounds"),
        "freeswitch": {"inbound": {"host": "127.0.0.1", "port": 9, "password": "x"}},
        "api": {"host": "127.0.0.1", "port": 0},
        "database": {"url": f"sqlite:///{workdir}/fsrouter.db"},
    }))
    return Service(load_config(str(config)))


def get_status(address) -> float:
    started = time.perf_counter()
    with socket.create_connection(address, timeout=5) as sock:
        sock.sendall(b"GET /status HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")  # no token: a loopback Host
        while sock.recv(65536):
            pass
    return time.perf_counter() - started


def old_greenlet_count() -> int:
    """What /status used to run per request."""
    return sum(1 for obj in gc.get_objects() if isinstance(obj, greenlet.greenlet) and not obj.dead)


def report(name: str, seconds: list[float]) -> None:
    ms = sorted(s * 1000 for s in seconds)
    print(f"| {name} | {len(ms)} | {statistics.median(ms):.2f} | {ms[int(len(ms) * 0.99) - 1]:.2f} | {ms[-1]:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--greenlets", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        service = service_in(Path(tmp))
        service.api.start()
        parked = gevent.event.Event()
        waiting = [gevent.spawn(parked.wait) for _ in range(args.greenlets)]
        gevent.sleep(0)
        try:
            print(f"{args.greenlets} parked greenlets, {len(gc.get_objects())} objects tracked by gc")
            print("| what | n | p50 ms | p99 ms | max ms |\n| --- | ---: | ---: | ---: | ---: |")
            report("GET /status (now)", [get_status(service.api.address) for _ in range(args.requests)])
            walks = []
            for _ in range(min(args.requests, 50)):
                started = time.perf_counter()
                old_greenlet_count()
                walks.append(time.perf_counter() - started)
            report("gc walk the old /status added per request", walks)
        finally:
            parked.set()
            gevent.joinall(waiting)
            service.api.stop()
            service.store.close()
    sys.stdout.flush()


if __name__ == "__main__":
    main()
