"""Admin API request time with a busy centre: /queues, /queues/{name}, /metrics.

    .venv/bin/python bench/api_figures.py [--queues 20] [--agents 500] [--callers 5000] [--requests 200]

Builds the real `Service` on generated rules (`--queues` queues, each
requiring one skill; `--agents` agents with three skills each, all logged
in) and starts only its admin API; FreeSWITCH is not contacted, so nobody is
offered a call and `--callers` callers wait, spread evenly over the queues.
Each figure is the wall time of one request over loopback, connect to last
byte, in this process (and, beside it, of its handler alone): what a wallboard poll or a Prometheus scrape costs
the event loop that carries the calls.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

from gevent import socket

from fsrouter.api.resources import build_router
from fsrouter.config import load_config
from fsrouter.runtime.service import Service
from status_request import report  # bench/, the script's own folder

REPO = Path(__file__).resolve().parents[1]


def rules(queues: int, agents: int) -> str:
    rng = random.Random(7)
    lines = ["settings: {timezone: UTC, language: en, agent_login: auto}", "lines:"]
    lines += [f'  "{5000 + n}": {{brand: acme, language: en, flow: f{n}}}' for n in range(queues)]
    lines += ["flows:"] + [f"  f{n}:\n    - queue: q{n}" for n in range(queues)]
    lines += ["queues:"] + [f"  q{n}:\n    require: {{s{n}: 1}}\n    max_wait: {{after: 1h, then: {{hangup: NORMAL_CLEARING}}}}"
                            for n in range(queues)]
    lines += ["agents:"]
    for n in range(agents):
        skills = ", ".join(f"s{s}: {rng.randint(1, 10)}" for s in rng.sample(range(queues), 3))
        lines.append(f'  "{1000 + n}": {{name: A{n}, dial: "user/{1000 + n}", skills: {{{skills}}}}}')
    return "\n".join(lines) + "\n"


def service_in(workdir: Path, queues: int, agents: int) -> Service:
    (workdir / "rules.yaml").write_text(rules(queues, agents))
    config = workdir / "fsrouter.yaml"
    config.write_text(json.dumps({
        "listen": {"host": "127.0.0.1", "port": 0},
        "rules": str(workdir / "rules.yaml"),
        "sounds": str(REPO / "sounds"),
        "freeswitch": {"inbound": {"host": "127.0.0.1", "port": 9, "password": "x"}},
        "api": {"host": "127.0.0.1", "port": 0},
        "database": {"url": f"sqlite:///{workdir}/fsrouter.db"},
    }))
    return Service(load_config(str(config)))


def get(address, path: str) -> float:
    started = time.perf_counter()
    with socket.create_connection(address, timeout=10) as sock:
        sock.sendall(f"GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".encode())
        head = sock.recv(65536)
        assert head.startswith(b"HTTP/1.1 200"), head[:200]
        while sock.recv(65536):
            pass
    return time.perf_counter() - started


def handled(router, path: str) -> float:
    """The handler's own cost: no socket, no encoding."""
    started = time.perf_counter()
    router.dispatch("GET", path)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--queues", type=int, default=20)
    parser.add_argument("--agents", type=int, default=500)
    parser.add_argument("--callers", type=int, default=5000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        service = service_in(Path(tmp), args.queues, args.agents)
        service.api.start()
        try:
            for n in range(args.callers):
                service.queues.join(f"call-{n}", f"q{n % args.queues}",
                                    {"caller_id_number": f"+30697{n:07d}"}, lambda message: None)
            size = len(service.queues.acd.queue_detail("q0", service.queues.now()).entries)
            print(f"{args.queues} queues, {args.agents} agents logged in, {args.callers} callers waiting "
                  f"({size} in q0)")
            print("| request | n | p50 ms | p99 ms | max ms |\n| --- | ---: | ---: | ---: | ---: |")
            address = service.api.address
            router = build_router(service)
            for path in ("/status", "/queues", "/queues/q0", "/metrics"):
                report(f"GET {path}", [get(address, path) for _ in range(args.requests)])
                report(f"{path} handler alone, in-process", [handled(router, path) for _ in range(args.requests)])
        finally:
            service.api.stop()
            service.store.close()
    sys.stdout.flush()


if __name__ == "__main__":
    main()
