"""ESL receive-path throughput: fsrouter's codec against greenswitch 0.0.19.

    .venv/bin/python bench/esl_receive.py [--events 30000] [--rounds 3]

Replays the real `text/event-plain` frames recorded from FreeSWITCH 1.10.12
(tests/fixtures/esl-transcripts/inbound_bridge.txt, the 4-9 KB channel events) as one
byte stream, in 64 KiB reads as a socket would deliver them, and does what a
call runner does with each event: read its name, Unique-ID and
Application-UUID.  The first two paths parse the same bytes in memory, so
the figure is the cost of framing and decoding, not of the network.
greenswitch's path is its own code: `ESLEvent` on the envelope,
`_read_socket`-style body slicing after a UTF-8 decode, then
`ESLEvent.parse_data` on the body.  The last two are the whole receive
paths: the same bytes written into a local socket pair, read by a
`fsrouter.esl.connection.Connection` (reader greenlet, bounded queue) and
pulled by a consumer with `next_event`, as the call runner does; and read
by greenswitch's `ESLProtocol` (its reader greenlet's readline and body
read, its event queue and handler greenlet).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import gevent
import gevent.event
from gevent import socket
from greenswitch.esl import ESLEvent, ESLProtocol

from fsrouter.esl.codec import Parser, parse_event
from fsrouter.esl.connection import Connection
from fsrouter.esl.errors import ESLConnectionClosed

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
from fixtures.transcripts import load_transcript  # noqa: E402

CHUNK = 65536


def recorded_events(low: int = 4096, high: int = 9216) -> list[bytes]:
    """The event frames of the recorded inbound session between `low` and
    `high` bytes (the 4-9 KB channel events a call's socket carries), as raw bytes."""
    transcript = load_transcript("inbound_bridge.txt")
    return [m.data for m in transcript.messages
            if m.direction == "FS->APP" and b"text/event-plain" in m.data[:80] and low <= len(m.data) <= high]


def stream_of(frames: list[bytes], count: int) -> bytes:
    return b"".join(frames[i % len(frames)] for i in range(count))


def fsrouter_path(data: bytes) -> int:
    parser, seen = Parser(), 0
    for start in range(0, len(data), CHUNK):
        parser.feed(data[start:start + CHUNK])
        for frame in parser.frames():
            event = parse_event(frame)
            event.name, event.get("Unique-ID"), event.get("Application-UUID")
            seen += 1
    return seen


def greenswitch_path(data: bytes) -> int:
    """greenswitch's per-event work, minus its socket reads."""
    seen, pos = 0, 0
    while pos < len(data):
        end = data.index(b"\n\n", pos)
        envelope = ESLEvent(data[pos:end].decode("utf-8"))
        length = int(envelope.headers["Content-Length"])
        body = data[end + 2:end + 2 + length].decode("utf-8")
        envelope.parse_data(body)
        h = envelope.headers
        h.get("Event-Name"), h.get("Unique-ID"), h.get("Application-UUID")
        pos = end + 2 + length
        seen += 1
    return seen


def connection_path(data: bytes) -> int:
    """fsrouter's Connection reading the stream from a socket pair, a consumer pulling events."""
    ours, theirs = socket.socketpair()
    conn = Connection(ours, name="bench")
    writer = gevent.spawn(lambda: (theirs.sendall(data), theirs.close()))
    seen = 0
    try:
        while True:
            event = conn.next_event(None)
            event.name, event.get("Unique-ID"), event.get("Application-UUID")
            seen += 1
    except ESLConnectionClosed:
        pass
    writer.join()
    return seen


def greenswitch_connection_path(data: bytes) -> int:
    """greenswitch's own receive path over a socket pair: `ESLProtocol`'s
    reader greenlet (readline, then the body) and event-processing greenlet,
    a handler for every event reading the same three headers."""
    ours, theirs = socket.socketpair()
    protocol = ESLProtocol()
    protocol.sock, protocol.sock_file = ours, ours.makefile("rb")
    seen = 0
    done = gevent.event.Event()

    def handler(event) -> None:
        nonlocal seen
        h = event.headers
        h.get("Event-Name"), h.get("Unique-ID"), h.get("Application-UUID")
        seen += 1
        if seen == events:
            done.set()

    events = data.count(b"Content-Type: text/event-plain")
    protocol.register_handle("*", handler)
    protocol.start_event_handlers()
    writer = gevent.spawn(lambda: (theirs.sendall(data), theirs.close()))
    done.wait()
    protocol._run = False
    writer.join()
    gevent.killall([protocol._receive_events_greenlet, protocol._process_events_greenlet])
    ours.close()
    return seen


PATHS = {"fsrouter codec": fsrouter_path, "greenswitch 0.0.19": greenswitch_path,
         "fsrouter connection": connection_path, "greenswitch 0.0.19 connection": greenswitch_connection_path}


def run(events: int = 30_000, rounds: int = 3) -> dict:
    """Events/s of each path, best of `rounds` interleaved runs (the machine
    is shared: interleaving gives every path the same spells of load), and
    each fsrouter path's ratio to greenswitch's."""
    frames = recorded_events()
    data = stream_of(frames, events)
    best: dict[str, float] = {}
    for _ in range(rounds):
        for name, path in PATHS.items():
            started = time.perf_counter()
            seen = path(data)
            elapsed = time.perf_counter() - started
            assert seen == events, (name, seen, events)
            best[name] = max(best.get(name, 0.0), events / elapsed)
    greenswitch = best["greenswitch 0.0.19"]
    return {
        "events": events, "rounds": rounds, "distinct_frames": len(frames),
        "mean_frame_bytes": round(len(data) / events),
        "events_per_s": {name: round(rate) for name, rate in best.items()},
        "ratio_codec": round(best["fsrouter codec"] / greenswitch, 2),
        "ratio_connection": round(best["fsrouter connection"] / best["greenswitch 0.0.19 connection"], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=30_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    result = run(args.events, args.rounds)
    print(f"{result['events']:,} events, mean {result['mean_frame_bytes'] / 1024:.1f} KiB "
          f"({result['distinct_frames']} distinct recorded frames of 4-9 KB), best of {result['rounds']}")
    for name, rate in result["events_per_s"].items():
        print(f"{name:<30} {rate:>10,} events/s")
    print(f"ratio to greenswitch: codec to its parsing {result['ratio_codec']}x, "
          f"connection to its ESLProtocol {result['ratio_connection']}x")


if __name__ == "__main__":
    main()
