"""One test per greenswitch 0.0.19 defect, run against stock greenswitch and fsrouter's fix.

The stock parameter is ``xfail(strict=True)``: the suite proves both that
each test catches its defect and that fsrouter's class does not have it.
Peers are fakes on 127.0.0.1 (tests/esl/esl_fakes.py); a hang is bounded
by ``gevent.with_timeout`` and reported as ``HUNG``.
"""

from __future__ import annotations

from contextlib import contextmanager

import gevent
import gevent.event
import pytest
from esl_fakes import FakeInboundFS, FakeOutboundFS, PeerConn, event, execute_complete
from gevent import socket
from gevent.server import StreamServer
from greenswitch import esl

from fsrouter.esl.codec import encode_api_response, encode_event_json, encode_reply
from fsrouter.esl.errors import ESLTimeout
from fsrouter.esl.greenswitch_fixes import FixedInboundESL, FixedOutboundSession
from fsrouter.esl.outbound import OutboundServer

HUNG = "HUNG"


def bounded(fn, *args, timeout=0.3, **kwargs):
    return gevent.with_timeout(timeout, fn, *args, timeout_value=HUNG, **kwargs)


def stock_or_fixed(defect: str):
    return pytest.mark.parametrize(
        "fixed",
        [
            pytest.param(False, id="stock", marks=pytest.mark.xfail(strict=True, reason=defect)),
            pytest.param(True, id="fsrouter"),
        ],
    )


def shutdown(conn) -> None:
    """Stock greenswitch has no bounded stop: kill its greenlets and close its socket directly."""
    conn._run = False  # its handler wrapper's bare `except:` swallows GreenletExit; let the loop end
    greenlets = [conn._receive_events_greenlet, conn._process_events_greenlet]
    gevent.killall([g for g in greenlets if g is not None], timeout=1)
    for closable in (getattr(conn, "sock_file", None), getattr(conn, "sock", None)):
        if closable is not None:
            closable.close()


@contextmanager
def inbound(fixed: bool, script=None, **attrs):
    fs = FakeInboundFS(script) if script else FakeInboundFS()
    conn = (FixedInboundESL if fixed else esl.InboundESL)("127.0.0.1", fs.port, "ClueCon", timeout=1)
    for name, value in attrs.items():
        setattr(conn, name, value)
    try:
        conn.connect()
        yield conn, fs
    finally:
        shutdown(conn)
        fs.stop()


def first_event(conn, peer: PeerConn, data: bytes, name: str = "*"):
    got = gevent.event.AsyncResult()
    conn.register_handle(name, got.set)
    peer.send(data)
    return bounded(got.get)


@contextmanager
def outbound(fixed: bool, serve):
    """A stock or fixed OutboundSession wired to a FakeOutboundFS that runs `serve(fake)`."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    fake = FakeOutboundFS(listener.getsockname())
    sock, address = listener.accept()
    session = (FixedOutboundSession if fixed else esl.OutboundSession)(address, sock)
    peer = gevent.spawn(lambda: (fake.handshake(), serve(fake)))
    try:
        assert bounded(session.connect) is not HUNG
        yield session
    finally:
        peer.kill()
        fake.conn.close()
        shutdown(session)
        listener.close()


# ------------------------------------------------------------------ the six defects


@stock_or_fixed("defect 1: url-decodes before splitting lines, so %0A in a value forges headers")
def test_encoded_newline_in_a_value_cannot_forge_headers(fixed):
    with inbound(fixed) as (conn, fs):
        ev = first_event(
            conn,
            fs.conns[0],
            event("CUSTOM", "abc", ("variable_sip_from_display", "Bob%0AUnique-ID%3A%20spoofed")),
        )
        assert ev is not HUNG
        assert ev.headers["Unique-ID"] == "abc"
        assert ev.headers["variable_sip_from_display"] == "Bob\nUnique-ID: spoofed"


@stock_or_fixed("defect 2: an event body (BACKGROUND_JOB result) is merged into the headers")
def test_background_job_body_stays_out_of_the_headers(fixed):
    result = b"Event-Name: CHANNEL_DATA\nUnique-ID: 11111111-2222\nChannel-State: CS_EXECUTE\n"
    with inbound(fixed) as (conn, fs):
        ev = first_event(conn, fs.conns[0], event("BACKGROUND_JOB", "", ("Job-UUID", "7f4d"), body=result))
        assert ev is not HUNG
        assert ev.headers["Event-Name"] == "BACKGROUND_JOB"
        assert "Channel-State" not in ev.headers
        assert ev.body == result


@stock_or_fixed("defect 3: blocking playback hangs once a CHANNEL_EXECUTE_COMPLETE handler is registered")
def test_blocking_playback_returns_with_a_user_completion_handler(fixed):
    with outbound(fixed, FakeOutboundFS.serve) as session:
        session.register_handle("CHANNEL_EXECUTE_COMPLETE", lambda ev: None)
        ev = bounded(session.playback, "/tmp/x.wav", block=True)
        assert ev is not HUNG
        assert ev.headers["Application-Response"] == "FILE PLAYED"


def complete_only_the_second(fake: FakeOutboundFS) -> None:
    executes = 0
    while (frame := fake.conn.recv_command()) is not None:
        fake.conn.send(encode_reply("+OK"))
        if frame.command == "sendmsg":
            executes += 1
            if executes == 2:
                fake.conn.send(execute_complete(frame, fake.uuid))


@stock_or_fixed("defect 4: a waiter left by response_timeout swallows the next completion")
def test_timed_out_waiter_does_not_swallow_the_next_completion(fixed):
    with outbound(fixed, complete_only_the_second) as session:
        with pytest.raises(gevent.Timeout):
            session.call_command("playback", "/tmp/a.wav", block=True, response_timeout=0.1)
        ev = bounded(session.playback, "/tmp/b.wav", block=True)
        assert ev is not HUNG
        assert ev.headers["Application-Data"] == "/tmp/b.wav"


def close_on_api(conn: PeerConn, frame) -> None:
    conn.close()


@stock_or_fixed("defect 5: TCP close while an api is pending hangs send() forever")
def test_peer_closing_during_api_fails_the_request(fixed):
    with inbound(fixed, close_on_api) as (conn, _):
        with pytest.raises(esl.NotConnectedError):
            bounded(conn.send, "api status")
        assert not conn.connected


def latin1_api_body(conn: PeerConn, frame) -> None:
    conn.send(encode_api_response(b"caller J\xfcrgen\n"))


@stock_or_fixed("defect 6: a non-UTF-8 body kills the receive greenlet; later sends hang")
def test_non_utf8_body_does_not_kill_the_connection(fixed):
    with inbound(fixed, latin1_api_body) as (conn, _):
        first = bounded(conn.send, "api show channels")
        second = bounded(conn.send, "api status")
        assert first is not HUNG and second is not HUNG
        assert first.data == "caller J\ufffdrgen\n"


# ------------------------------------------------------------------ the other defects


def nested_completions(fake: FakeOutboundFS) -> None:
    """Like FreeSWITCH without event-lock: the second playback runs inside the first and ends first."""
    executes = []
    while (frame := fake.conn.recv_command()) is not None:
        fake.conn.send(encode_reply("+OK"))
        if frame.command == "sendmsg":
            executes.append(frame)
            if len(executes) == 2:
                fake.conn.send(execute_complete(executes[1], fake.uuid))
                fake.conn.send(execute_complete(executes[0], fake.uuid))


@stock_or_fixed("completion is matched on the application name, not Application-UUID")
def test_nested_completions_go_to_their_own_waiters(fixed):
    with outbound(fixed, nested_completions) as session:
        outer = gevent.spawn(session.playback, "/tmp/outer.wav")
        gevent.sleep(0.05)
        inner = gevent.spawn(session.playback, "/tmp/inner.wav")
        gevent.joinall([outer, inner], timeout=0.5)
        results = [g.value.headers["Application-Data"] if g.successful() and g.value else None for g in (outer, inner)]
        gevent.killall([outer, inner])
        assert results == ["/tmp/outer.wav", "/tmp/inner.wav"]


def reply_with_body_length(conn: PeerConn, frame) -> None:
    conn.send(encode_reply(f"+OK {len(frame.body)}"))


@stock_or_fixed("send() uses sock.send, which may write only part of a large command")
def test_large_command_is_sent_whole(fixed):
    body = "x" * (8 * 1024 * 1024)
    command = f"sendmsg\ncall-command: execute\nexecute-app-name: log\nContent-Length: {len(body)}\n\n{body}"
    with inbound(fixed, reply_with_body_length) as (conn, _):
        reply = bounded(conn.send, command, timeout=0.7)
        assert reply is not HUNG
        assert reply.data == f"+OK {len(body)}"


def stop_reading(conn: PeerConn, frame) -> None:
    gevent.sleep(5)  # like a FreeSWITCH too busy to read its socket


@stock_or_fixed("no timeouts: send() to a peer that stopped reading waits forever")
def test_send_to_a_peer_that_stopped_reading_fails_in_bounded_time(fixed):
    body = "x" * (8 * 1024 * 1024)
    command = f"sendmsg\ncall-command: execute\nexecute-app-name: log\nContent-Length: {len(body)}\n\n{body}"
    with inbound(fixed, stop_reading, command_timeout=0.2) as (conn, _):
        gevent.spawn(conn.send, "api status")  # the peer stops reading here
        gevent.sleep(0.05)
        with pytest.raises(esl.NotConnectedError):
            bounded(conn.send, command, timeout=0.6)


@stock_or_fixed("no timeouts: connect() waits for auth/request forever")
def test_connect_to_a_silent_peer_times_out(fixed):
    server = StreamServer(("127.0.0.1", 0), lambda sock, addr: gevent.sleep(5))
    server.start()
    conn = (FixedInboundESL if fixed else esl.InboundESL)("127.0.0.1", server.server_port, "ClueCon", timeout=0.2)
    try:
        with pytest.raises(ESLTimeout):
            bounded(conn.connect, timeout=0.6)
    finally:
        shutdown(conn)
        server.stop(timeout=0)


@stock_or_fixed("no backpressure: the event queue is unbounded, the reader never stops reading")
def test_slow_consumer_pushes_back_on_the_peer(fixed):
    flood = event("CUSTOM", "u-1", ("variable_blob", "x" * 8000)) * 200  # 1.6 MB; fsrouter absorbs ~0.7 MB
    with inbound(fixed, max_queued_events=20) as (conn, fs):
        conn.register_handle("*", lambda ev: gevent.sleep(10))  # a stuck consumer
        peer = fs.conns[0]
        peer.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)
        sender = gevent.spawn(peer.send, flood)
        sender.join(0.5)
        finished = sender.dead
        sender.kill()
        assert not finished, "the peer wrote 1.6 MB to a consumer stuck on its first event"


@stock_or_fixed("text/event-json is not supported")
def test_json_events_reach_their_handlers(fixed):
    with inbound(fixed) as (conn, fs):
        ev = first_event(conn, fs.conns[0], encode_event_json([("Event-Name", "HEARTBEAT")]), "HEARTBEAT")
        assert ev is not HUNG and ev.headers["Event-Name"] == "HEARTBEAT"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class StuckApp:
    def __init__(self, session) -> None:
        self.session = session

    def run(self) -> None:
        gevent.sleep(30)


def test_stock_outbound_server_stop_waits_for_calls_forever():
    """OutboundESLServer is replaced, not fixed: its stop() cannot bound the wait for calls."""
    server = esl.OutboundESLServer("127.0.0.1", free_port(), application=StuckApp)
    listening = gevent.spawn(server.listen)
    gevent.sleep(0.05)
    fake = FakeOutboundFS(("127.0.0.1", server.bound_port))
    try:
        assert fake.handshake().command == "connect"
        gevent.sleep(0.15)  # stock polls accept every 100 ms
        server.stop()
        listening.join(0.5)
        assert not listening.dead  # still joining the stuck call
    finally:
        gevent.killall([listening, *server._greenlets], timeout=1)
        server.server.close()
        fake.conn.close()


def test_fsrouter_outbound_server_stop_kills_stuck_calls_in_time():
    server = OutboundServer("127.0.0.1", 0, lambda call: gevent.sleep(30))
    server.start()
    fake = FakeOutboundFS(server.address)
    try:
        assert fake.handshake().command == "connect"
        gevent.sleep(0.05)
        assert server.active_sessions == 1
        stopping = gevent.spawn(server.stop, timeout=0.2)
        stopping.join(1.0)
        assert stopping.dead
        assert fake.conn.wait_eof(0.5)
        assert server.active_sessions == 0
    finally:
        fake.conn.close()
