"""What a peer can make the outbound server hold before and after ``connect``, over real sockets.

Before a peer has answered ``connect`` with a channel whose Unique-ID is a
UUID it is nobody: it may send one header block of at most 64 KiB, has
`connect_timeout` to do it, and at most `max_pending` such peers are
served at once.  Closed sessions must be freed by reference counting alone.
"""

from __future__ import annotations

import gc
import logging
import random
import time
import tracemalloc

import gevent
import gevent.event
import pytest
from esl_fakes import FakeOutboundFS, channel_headers
from gevent import socket

from fsrouter.esl.codec import encode_connect_reply
from fsrouter.esl.connection import Connection

CHANNEL_UUID = "59e2b2c5-4b90-40b9-a7a7-eefd8f00f58a"


class RawPeer:
    """A peer that connects like FreeSWITCH and then sends whatever the test says."""

    def __init__(self, address) -> None:
        self.sock = socket.create_connection(address, timeout=2)

    def got_connect(self, timeout: float = 1.0) -> bool:
        """True when the server's ``connect`` command arrived within `timeout`."""
        self.sock.settimeout(timeout)
        try:
            return self.sock.recv(64) == b"connect\n\n"
        except OSError:
            return False

    def send(self, data: bytes) -> None:
        try:
            self.sock.sendall(data)
        except OSError:
            pass  # the server may close while we write: that is what is tested

    def closed_by_server(self, timeout: float = 1.0) -> bool:
        """True if the server closed the connection within `timeout`."""
        self.sock.settimeout(timeout)
        try:
            while self.sock.recv(65536):
                pass
            return True
        except TimeoutError:
            return False
        except OSError:
            return True  # reset

    def close(self) -> None:
        self.sock.close()


def connect_reply(uuid: str = CHANNEL_UUID) -> bytes:
    return encode_connect_reply(channel_headers(uuid))


def test_a_body_before_connect_is_refused_before_it_is_buffered(serve, caplog):
    server = serve(connect_timeout=5)
    peer = RawPeer(server.address)
    assert peer.got_connect()
    started = time.monotonic()
    peer.send(b"Content-Type: command/reply\nContent-Length: 16777216\n\n" + b"x" * 65536)
    assert peer.closed_by_server(1.0)
    assert time.monotonic() - started < 1.0  # not held until connect_timeout
    assert "Content-Length 16777216 exceeds 0" in caplog.text
    assert server.handled == []


def test_a_header_block_over_64_KiB_before_connect_closes(serve):
    server = serve(connect_timeout=5)
    peer = RawPeer(server.address)
    assert peer.got_connect()
    peer.send(b"Event-Name: CHANNEL_DATA\n" + b"variable_x: " + b"y" * 70000)
    assert peer.closed_by_server(1.0)
    assert server.handled == []


def test_anything_but_the_connect_reply_before_connect_closes(serve, caplog):
    server = serve(connect_timeout=5)
    peer = RawPeer(server.address)
    assert peer.got_connect()
    peer.send(b"Content-Type: text/disconnect-notice\n\n")
    assert peer.closed_by_server(1.0)
    assert "only a reply may come" in caplog.text


def test_connect_phase_is_timed(serve):
    server = serve(connect_timeout=0.2)
    peer = RawPeer(server.address)
    assert peer.got_connect()
    peer.send(b"Event-Name: CHANNEL_DATA\n")  # a slow peer: the rest never comes
    started = time.monotonic()
    assert peer.closed_by_server(2.0)
    assert 0.1 < time.monotonic() - started < 1.0
    assert server.pending_peers == 0


@pytest.mark.parametrize("uuid", ["", "abc", "59e2b2c5-4b90-40b9-a7a7-eefd8f00f58a all", "x; uuid_kill all",
                                  "59e2b2c54b9040b9a7a7eefd8f00f58a", "{59e2b2c5-4b90-40b9-a7a7-eefd8f00f58a}"])
def test_a_unique_id_that_is_not_a_uuid_is_refused(serve, caplog, uuid):
    server = serve()
    peer = RawPeer(server.address)
    assert peer.got_connect()
    peer.send(connect_reply(uuid))
    assert peer.closed_by_server(1.0)
    assert server.handled == []
    assert "Unique-ID is not a UUID" in caplog.text


def test_pending_peers_are_capped_and_the_next_waits_for_a_free_slot(serve):
    server = serve(connect_timeout=0.5, max_pending=2)
    silent = [RawPeer(server.address) for _ in range(2)]
    assert all(peer.got_connect() for peer in silent)
    waiting = RawPeer(server.address)  # TCP-connected, in the listen backlog
    assert not waiting.got_connect(0.2)
    assert server.pending_peers == 2
    silent[0].close()  # frees a slot at once (EOF), not after connect_timeout
    assert waiting.got_connect(0.3)
    waiting.send(connect_reply())
    deadline = time.monotonic() + 1
    while not server.handled and time.monotonic() < deadline:
        gevent.sleep(0.01)
    assert server.handled == [CHANNEL_UUID]


def test_a_call_may_not_send_a_body_over_1_MiB(serve):
    outcome = gevent.event.AsyncResult()

    def handler(call) -> None:
        try:
            call.next_event(2.0)
        except Exception as exc:  # noqa: BLE001 - the outcome is what is tested
            outcome.set(type(exc).__name__)

    server = serve(handler)
    fake = FakeOutboundFS(server.address, uuid=CHANNEL_UUID)
    fake.handshake()
    fake.conn.send(b"Content-Type: text/event-plain\nContent-Length: 10737418240\n\n")  # 10 GB claimed
    assert fake.conn.wait_eof(1.0)
    assert outcome.get(timeout=1) == "ESLConnectionClosed"
    second = FakeOutboundFS(server.address)
    second.handshake()
    second.conn.send(b"Content-Type: text/event-plain\nContent-Length: 2097152\n\n" + b"x" * 1024)
    assert second.conn.wait_eof(1.0)


GARBAGE_KINDS = [
    lambda rng: rng.randbytes(rng.randint(1, 4000)),
    lambda rng: b"\n".join(rng.randbytes(rng.randint(0, 60)).replace(b"\n", b"") for _ in range(rng.randint(1, 40))) + b"\n\n",
    lambda rng: b"Content-Length: %d\n\n" % rng.choice([-1, 10**30, 2**63, 17, 65537]),
    lambda rng: b"Content-Length: " + b"9" * rng.randint(5000, 20000) + b"\n\n",
    lambda rng: connect_reply()[: rng.randint(1, len(connect_reply()) - 3)],  # truncated, then silence
    lambda rng: connect_reply().replace(b"Unique-ID: ", b"Unique-ID: %s" % rng.randbytes(8).hex().encode(), 1),
    lambda rng: b"Content-Type: command/reply\n\xff\xfe: \x00\x00\n\n",
    lambda rng: b"Content-Type: text/event-json\nContent-Length: 5\n\n{[[[[",
    lambda rng: b": \n\n" * rng.randint(1, 100),
]


def test_fuzzed_pre_connect_garbage_closes_only_those_peers(serve, caplog):
    """Parses or is refused, never anything else: each peer is closed, the server serves on."""
    rng = random.Random(20261206)
    server = serve(connect_timeout=0.3, max_pending=64)
    with caplog.at_level(logging.DEBUG):
        peers = []
        for i in range(120):
            payload = GARBAGE_KINDS[i % len(GARBAGE_KINDS)](rng)
            peer = RawPeer(server.address)
            peers.append((peer, gevent.spawn(lambda p=peer, d=payload: p.got_connect(2.0) and p.send(d))))
        gevent.joinall([g for _, g in peers], timeout=3)
        assert all(peer.closed_by_server(2.0) for peer, _ in peers)
    assert server.handled == []
    assert server.pending_peers == 0
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], "only protocol errors, no internal errors"
    good = FakeOutboundFS(server.address, uuid=CHANNEL_UUID)
    assert good.handshake().command == "connect"
    assert good.conn.wait_eof(1.0)
    assert server.handled == [CHANNEL_UUID]


def live_connections() -> int:
    return sum(1 for o in gc.get_objects() if isinstance(o, Connection))


def test_closed_sessions_are_freed_without_the_cycle_collector(serve):
    """With gc disabled, nothing of a finished session may remain: no cycles hold its buffers."""
    def handler(call) -> None:
        call.command("myevents")
        call.next_event(0.05)

    server = serve(handler, connect_timeout=0.3)

    def run_sessions() -> None:
        peers = []
        for i in range(10):  # ended every way a session can end
            peer = RawPeer(server.address)
            peer.got_connect()
            if i % 3 == 0:
                peer.send(b"variable_x: " + b"y" * 60000)  # 60 KB buffered, then a timeout
            elif i % 3 == 1:
                peer.send(b"Content-Type: command/reply\nContent-Length: 70000\n\n")  # refused
            peers.append(peer)
        calls = [FakeOutboundFS(server.address) for _ in range(5)]
        served = [gevent.spawn(lambda f=f: (f.handshake(), f.serve())) for f in calls]
        assert all(peer.closed_by_server(2.0) for peer in peers)
        gevent.joinall(served, timeout=2)
        for fake in calls:
            fake.conn.close()
        for peer in peers:
            peer.close()
        gevent.sleep(0.1)

    run_sessions()  # warm up
    gc.collect()
    gc.disable()
    tracemalloc.start()
    try:
        before, before_memory = live_connections(), tracemalloc.get_traced_memory()[0]
        run_sessions()
        after, after_memory = live_connections(), tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
        gc.enable()
    assert after == before == 0
    assert after_memory - before_memory < 200_000  # 4 sessions x 60 KB buffered would show
