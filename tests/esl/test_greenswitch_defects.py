"""One test per greenswitch 0.0.19 defect, run against stock greenswitch and against fsrouter.

fsrouter does not use greenswitch (docs/decisions/0001-greenswitch-replaced.md);
these tests are the evidence for that decision and the guard for its
replacement.  Each scenario runs twice through a small adapter: once on
stock greenswitch, marked ``xfail(strict=True)`` so the suite proves the
test catches the defect (and fails loudly if an upgrade fixes it), and once
on fsrouter's own stack (`fsrouter.esl.connection`, the inbound client's
`open_connection`, `OutboundServer`/`OutboundCall`), which must pass.
Peers are fakes on 127.0.0.1 (tests/esl/esl_fakes.py); a hang is bounded by
``gevent.with_timeout`` and reported as ``HUNG``.
"""

from __future__ import annotations

import uuid as uuidlib
from contextlib import contextmanager

import gevent
import gevent.event
import pytest
from esl_fakes import FakeInboundFS, FakeOutboundFS, PeerConn, event, execute_complete
from gevent import socket
from gevent.server import StreamServer
from greenswitch import esl

from fsrouter.esl.codec import Event, encode_api_response, encode_event_json, encode_reply
from fsrouter.esl.connection import Limits
from fsrouter.esl.errors import ESLConnectionClosed, ESLTimeout
from fsrouter.esl.inbound import open_connection
from fsrouter.esl.outbound import OutboundServer

HUNG = "HUNG"
CLOSED = "CLOSED"


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


# ------------------------------------------------------------------ inbound adapters


def shutdown(conn) -> None:
    """Stock greenswitch has no bounded stop: kill its greenlets and close its socket directly."""
    conn._run = False  # its handler wrapper's bare `except:` swallows GreenletExit; let the loop end
    greenlets = [conn._receive_events_greenlet, conn._process_events_greenlet]
    gevent.killall([g for g in greenlets if g is not None], timeout=1)
    for closable in (getattr(conn, "sock_file", None), getattr(conn, "sock", None)):
        if closable is not None:
            closable.close()


class StockInbound:
    """greenswitch's InboundESL, driven as its README shows."""

    def __init__(self, port: int) -> None:
        self.conn = esl.InboundESL("127.0.0.1", port, "ClueCon", timeout=1)
        self.conn.connect()

    def request(self, command: str, timeout: float = 0.3):
        """The reply's text (Reply-Text or api body), CLOSED, or HUNG."""
        try:
            reply = bounded(self.conn.send, command, timeout=timeout)
        except esl.NotConnectedError:
            return CLOSED
        return reply if reply is HUNG else reply.data

    def next_event(self, peer: PeerConn, data: bytes, name: str = "*"):
        """Send `data` from the peer; the first event handed to a handler, as (get, body), or HUNG."""
        got = gevent.event.AsyncResult()
        self.conn.register_handle(name, got.set)
        peer.send(data)
        ev = bounded(got.get)
        return ev if ev is HUNG else (ev.headers.get, getattr(ev, "body", None))

    def stall_consumer(self) -> None:
        self.conn.register_handle("*", lambda ev: gevent.sleep(10))

    def close(self) -> None:
        shutdown(self.conn)


class FsrouterInbound:
    """fsrouter's inbound connection (what InboundClient runs on)."""

    def __init__(self, port: int, limits: Limits = Limits()) -> None:
        self.conn = open_connection("127.0.0.1", port, "ClueCon", 1.0, limits=limits)

    def request(self, command: str, timeout: float = 0.3):
        try:
            frame = bounded(self.conn.request, command.encode("utf-8") + b"\n\n", timeout, timeout=timeout + 0.2)
        except ESLConnectionClosed:
            return CLOSED
        if frame is HUNG:
            return HUNG
        return frame.header("Reply-Text") or frame.body.decode("utf-8", "replace")

    def next_event(self, peer: PeerConn, data: bytes, name: str = "*"):
        peer.send(data)
        ev = bounded(self.conn.next_event, 1.0)
        return HUNG if not isinstance(ev, Event) else (ev.get, ev.body)

    def stall_consumer(self) -> None:
        pass  # nothing calls next_event: the owner is busy elsewhere

    def close(self) -> None:
        self.conn.close()


@contextmanager
def inbound(fixed: bool, script=None, **options):
    fs = FakeInboundFS(script) if script else FakeInboundFS()
    conn = (FsrouterInbound if fixed else StockInbound)(fs.port, **options)
    try:
        yield conn, fs
    finally:
        conn.close()
        fs.stop()


# ------------------------------------------------------------------ outbound adapters


class StockOutbound:
    """greenswitch's OutboundSession on an accepted socket; blocking playback as its README shows."""

    def __init__(self, session) -> None:
        self.session = session

    def add_completion_listener(self) -> None:
        self.session.register_handle("CHANNEL_EXECUTE_COMPLETE", lambda ev: None)

    def play(self, path: str, timeout: float = 0.3):
        """Application-Data of this playback's completion, or HUNG."""
        try:
            ev = bounded(self.session.call_command, "playback", path, block=True,
                         response_timeout=timeout, timeout=timeout + 0.2)
        except gevent.Timeout:
            return HUNG
        return ev if ev is HUNG else ev.headers["Application-Data"]

    def play_blocking(self, path: str):
        ev = bounded(self.session.playback, path, block=True)
        return ev if ev is HUNG else ev.headers["Application-Data"]

    def play_nested(self, outer: str, inner: str) -> list:
        first = gevent.spawn(self.session.playback, outer)
        gevent.sleep(0.05)
        second = gevent.spawn(self.session.playback, inner)
        gevent.joinall([first, second], timeout=0.5)
        results = [g.value.headers["Application-Data"] if g.successful() and g.value else None for g in (first, second)]
        gevent.killall([first, second])
        return results


class FsrouterOutbound:
    """fsrouter's OutboundCall: execute returns at +OK, the completion is the event with our Application-UUID."""

    def __init__(self, call) -> None:
        self.call = call

    def add_completion_listener(self) -> None:
        pass  # no handler registry: every event goes to the call's one owner

    def play(self, path: str, timeout: float = 0.3):
        app_uuid = str(uuidlib.uuid4())
        self.call.execute("playback", path, event_uuid=app_uuid)
        return self._completion(app_uuid, timeout)

    play_blocking = play

    def play_nested(self, outer: str, inner: str) -> list:
        uuids = [str(uuidlib.uuid4()), str(uuidlib.uuid4())]
        self.call.execute("playback", outer, event_uuid=uuids[0], event_lock=False)
        self.call.execute("playback", inner, event_uuid=uuids[1], event_lock=False)
        done = {}
        with gevent.Timeout(0.5, False):
            while len(done) < 2:
                ev = self.call.next_event(0.5)
                if isinstance(ev, Event) and ev.name == "CHANNEL_EXECUTE_COMPLETE":
                    done[ev.get("Application-UUID")] = ev.get("Application-Data")
        return [done.get(u) for u in uuids]

    def _completion(self, app_uuid: str, timeout: float):
        with gevent.Timeout(timeout, False):
            while True:
                ev = self.call.next_event(timeout)
                if isinstance(ev, Event) and ev.get("Application-UUID") == app_uuid:
                    return ev.get("Application-Data")
        return HUNG


@contextmanager
def outbound(fixed: bool, serve):
    """A stock session or an fsrouter call, wired to a FakeOutboundFS that runs `serve(fake)`."""
    if fixed:
        calls, done = gevent.event.AsyncResult(), gevent.event.Event()
        server = OutboundServer("127.0.0.1", 0, lambda call: (calls.set(call), done.wait(5)))
        server.start()
        fake = FakeOutboundFS(server.address)
        peer = gevent.spawn(lambda: (fake.handshake(), serve(fake)))
        try:
            yield FsrouterOutbound(calls.get(timeout=1))
        finally:
            done.set()
            peer.kill()
            fake.conn.close()
            server.stop(timeout=0.5)
        return
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    fake = FakeOutboundFS(listener.getsockname())
    sock, address = listener.accept()
    session = esl.OutboundSession(address, sock)
    peer = gevent.spawn(lambda: (fake.handshake(), serve(fake)))
    try:
        assert bounded(session.connect) is not HUNG
        yield StockOutbound(session)
    finally:
        peer.kill()
        fake.conn.close()
        shutdown(session)
        listener.close()


# ------------------------------------------------------------------ the six defects


@stock_or_fixed("defect 1: url-decodes before splitting lines, so %0A in a value forges headers")
def test_encoded_newline_in_a_value_cannot_forge_headers(fixed):
    with inbound(fixed) as (conn, fs):
        got = conn.next_event(
            fs.conns[0], event("CUSTOM", "abc", ("variable_sip_from_display", "Bob%0AUnique-ID%3A%20spoofed"))
        )
        assert got is not HUNG
        header, _ = got
        assert header("Unique-ID") == "abc"
        assert header("variable_sip_from_display") == "Bob\nUnique-ID: spoofed"


@stock_or_fixed("defect 2: an event body (BACKGROUND_JOB result) is merged into the headers")
def test_background_job_body_stays_out_of_the_headers(fixed):
    result = b"Event-Name: CHANNEL_DATA\nUnique-ID: 11111111-2222\nChannel-State: CS_EXECUTE\n"
    with inbound(fixed) as (conn, fs):
        got = conn.next_event(fs.conns[0], event("BACKGROUND_JOB", "", ("Job-UUID", "7f4d"), body=result))
        assert got is not HUNG
        header, body = got
        assert header("Event-Name") == "BACKGROUND_JOB"
        assert header("Channel-State") is None
        assert body == result


@stock_or_fixed("defect 3: blocking playback hangs once a CHANNEL_EXECUTE_COMPLETE handler is registered")
def test_blocking_playback_returns_with_a_user_completion_handler(fixed):
    with outbound(fixed, FakeOutboundFS.serve) as call:
        call.add_completion_listener()
        assert call.play_blocking("/tmp/x.wav") == "/tmp/x.wav"


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
    with outbound(fixed, complete_only_the_second) as call:
        assert call.play("/tmp/a.wav", timeout=0.1) is HUNG  # never completes
        assert call.play("/tmp/b.wav") == "/tmp/b.wav"


def close_on_api(conn: PeerConn, frame) -> None:
    conn.close()


@stock_or_fixed("defect 5: TCP close while an api is pending hangs send() forever")
def test_peer_closing_during_api_fails_the_request(fixed):
    with inbound(fixed, close_on_api) as (conn, _):
        assert conn.request("api status") == CLOSED


def latin1_api_body(conn: PeerConn, frame) -> None:
    conn.send(encode_api_response(b"caller J\xfcrgen\n"))


@stock_or_fixed("defect 6: a non-UTF-8 body kills the receive greenlet; later sends hang")
def test_non_utf8_body_does_not_kill_the_connection(fixed):
    with inbound(fixed, latin1_api_body) as (conn, _):
        first = conn.request("api show channels")
        second = conn.request("api status")
        assert (first, second) == ("caller J\ufffdrgen\n", "caller J\ufffdrgen\n")


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
    with outbound(fixed, nested_completions) as call:
        assert call.play_nested("/tmp/outer.wav", "/tmp/inner.wav") == ["/tmp/outer.wav", "/tmp/inner.wav"]


def reply_with_body_length(conn: PeerConn, frame) -> None:
    conn.send(encode_reply(f"+OK {len(frame.body)}"))


BIG = "x" * (8 * 1024 * 1024)
BIG_COMMAND = f"sendmsg\ncall-command: execute\nexecute-app-name: log\nContent-Length: {len(BIG)}\n\n{BIG}"


@stock_or_fixed("send() uses sock.send, which may write only part of a large command")
def test_large_command_is_sent_whole(fixed):
    with inbound(fixed, reply_with_body_length) as (conn, _):
        assert conn.request(BIG_COMMAND, timeout=0.7) == f"+OK {len(BIG)}"


def stop_reading(conn: PeerConn, frame) -> None:
    gevent.sleep(5)  # like a FreeSWITCH too busy to read its socket


@stock_or_fixed("no timeouts: send() to a peer that stopped reading waits forever")
def test_send_to_a_peer_that_stopped_reading_fails_in_bounded_time(fixed):
    with inbound(fixed, stop_reading) as (conn, _):
        gevent.spawn(conn.request, "api status", 5)  # the peer stops reading here
        gevent.sleep(0.05)
        assert conn.request(BIG_COMMAND, timeout=0.2) == CLOSED


@stock_or_fixed("no timeouts: connect() waits for auth/request forever")
def test_connect_to_a_silent_peer_times_out(fixed):
    server = StreamServer(("127.0.0.1", 0), lambda sock, addr: gevent.sleep(5))
    server.start()
    try:
        if fixed:
            with pytest.raises(ESLTimeout):
                bounded(open_connection, "127.0.0.1", server.server_port, "ClueCon", 0.2, timeout=0.6)
        else:
            conn = esl.InboundESL("127.0.0.1", server.server_port, "ClueCon", timeout=0.2)
            try:
                assert bounded(conn.connect, timeout=0.6) is not HUNG
            finally:
                shutdown(conn)
    finally:
        server.stop(timeout=0)


@stock_or_fixed("no backpressure: the event queue is unbounded, the reader never stops reading")
def test_slow_consumer_pushes_back_on_the_peer(fixed):
    flood = event("CUSTOM", "u-1", ("variable_blob", "x" * 8000)) * 200  # 1.6 MB; fsrouter absorbs ~0.7 MB
    options = {"limits": Limits(max_queued_events=20)} if fixed else {}
    with inbound(fixed, **options) as (conn, fs):
        conn.stall_consumer()
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
        got = conn.next_event(fs.conns[0], encode_event_json([("Event-Name", "HEARTBEAT")]), "HEARTBEAT")
        assert got is not HUNG and got[0]("Event-Name") == "HEARTBEAT"


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
