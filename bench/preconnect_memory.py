"""Memory a flood of hostile outbound peers can make fsrouter hold before ``connect`` is answered.

    .venv/bin/python bench/preconnect_memory.py [--peers 200] [--attack header|body|garbage]

Starts an `OutboundServer` (default settings: max_pending 64, connect_timeout
5 s) in a subprocess on loopback, then opens `--peers` connections that each
answer the server's ``connect`` with the most a peer may make it buffer:

* ``header``: a header block just under the 64 KiB limit, sent slowly and
  never finished (held until connect_timeout);
* ``body``: a reply claiming ``Content-Length: 16777216`` followed by body
  bytes (the old code buffered all 16 MiB per peer);
* ``garbage``: random bytes without a blank line, sent slowly.

It samples the server's VmRSS from /proc/PID/status while the peers are
connected, prints the peak growth beside the computed bound, then closes the
peers and prints VmRSS again.  RSS seldom shrinks (the allocator keeps freed
pages), so the attack runs `--rounds` times: if closed sessions were freed,
later rounds reuse that memory and the peak does not climb.  `--server-path DIR` runs the server from
another checkout (e.g. the code before the bound, for comparison).
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import time
from pathlib import Path

import gevent
import gevent.event
from gevent import socket

REPO = Path(__file__).resolve().parents[1]
KIB = 1024

SERVER = """
import sys
sys.path.insert(0, sys.argv[1])
import logging
import gevent
logging.basicConfig(level=logging.ERROR)  # each refused peer is a warning: not the point here
from fsrouter.esl.outbound import OutboundServer
server = OutboundServer("127.0.0.1", 0, lambda call: call.command("myevents"))
server.start()
print(server.address[1], flush=True)
gevent.get_hub().threadpool.spawn(sys.stdin.read).get()  # run until the bench closes stdin
"""


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def payload(attack: str, rng: random.Random) -> tuple[bytes, bytes]:
    """(what is sent at once, what is then trickled slowly)."""
    if attack == "header":
        return b"Event-Name: CHANNEL_DATA\nvariable_x: ", b"y" * (63 * KIB)
    if attack == "body":
        return b"Content-Type: command/reply\nContent-Length: 16777216\n\n", b"x" * (16 * 1024 * KIB)
    return b"", rng.randbytes(63 * KIB).replace(b"\n", b" ")


def peer(port: int, attack: str, seed: int, chunk: int, pause: float, hold: gevent.event.Event) -> None:
    rng = random.Random(seed)
    first, rest = payload(attack, rng)
    sock = socket.create_connection(("127.0.0.1", port))
    try:
        if sock.recv(64) != b"connect\n\n":
            return
        sock.sendall(first)
        for start in range(0, len(rest), chunk):
            sock.sendall(rest[start:start + chunk])
            gevent.sleep(pause)
        hold.wait()
    except OSError:
        pass  # the server closed us: the bound at work
    finally:
        sock.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peers", type=int, default=200)
    parser.add_argument("--attack", choices=["header", "body", "garbage"], default="header")
    parser.add_argument("--seconds", type=float, default=12.0, help="how long the peers keep trying")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--server-path", default=str(REPO), help="checkout whose fsrouter serves")
    args = parser.parse_args()

    server = subprocess.Popen([sys.executable, "-c", SERVER, args.server_path],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    bound = 64 * (64 + 64)  # max_pending x (header block limit + one 64 KiB read), KiB
    print(f"{args.peers} peers, attack={args.attack}, server from {args.server_path}")
    try:
        port = int(server.stdout.readline())
        time.sleep(0.5)
        base = rss_kib(server.pid)
        print(f"server RSS at start      {base / 1024:8.1f} MiB; buffer bound: "
              f"64 pending x 128 KiB = {bound / 1024:.0f} MiB")
        for round_ in range(1, args.rounds + 1):
            peak = attack(server.pid, port, args)
            time.sleep(1.0)
            after = rss_kib(server.pid)
            print(f"round {round_}: peak {peak / 1024:8.1f} MiB (growth {(peak - base) / 1024:6.1f} MiB), "
                  f"after closing {after / 1024:8.1f} MiB (growth {(after - base) / 1024:6.1f} MiB)")
    finally:
        server.stdin.close()
        server.wait(10)


def attack(pid: int, port: int, args) -> int:
    """Run one flood of peers; the server's peak VmRSS (KiB) meanwhile."""
    # body: fast, as a real attacker would; header/garbage: 1 KiB every 10 ms ("slowloris")
    chunk, pause = (256 * KIB, 0.0) if args.attack == "body" else (KIB, 0.01)
    hold = gevent.event.Event()
    peers = [gevent.spawn(peer, port, args.attack, i, chunk, pause, hold) for i in range(args.peers)]
    peak, deadline = 0, time.monotonic() + args.seconds
    while time.monotonic() < deadline:
        gevent.sleep(0.05)
        peak = max(peak, rss_kib(pid))
    hold.set()
    gevent.joinall(peers, timeout=10)
    gevent.killall(peers)
    return peak


if __name__ == "__main__":
    main()
