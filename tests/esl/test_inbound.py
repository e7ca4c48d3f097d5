"""InboundClient over real sockets against a fake FreeSWITCH inbound listener."""

from __future__ import annotations

import logging
import time

import gevent
import gevent.event
import pytest
from esl_fakes import FakeInboundFS, PeerConn, event, live_greenlets, open_fds, reply_ok

from fsrouter.esl.codec import encode_api_response, encode_reply
from fsrouter.esl.errors import ESLCommandError, ESLConnectionClosed, ESLTimeout
from fsrouter.esl.inbound import InboundClient


class Sleeps:
    """Injected sleep: records the backoff delays and yields briefly instead of waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        gevent.sleep(0.01)


@pytest.fixture
def client_for():
    """client_for(fs, **kw) -> started InboundClient; all are stopped after the test."""
    clients = []

    def start(fs: FakeInboundFS, password="ClueCon", **kwargs) -> InboundClient:
        kwargs.setdefault("sleep", Sleeps())
        client = InboundClient("127.0.0.1", fs.port, password, connect_timeout=1, **kwargs)
        client.start()
        clients.append(client)
        return client

    yield start
    for client in clients:
        client.stop()


@pytest.fixture
def fake_fs():
    servers = []

    def start(script=reply_ok, **kwargs) -> FakeInboundFS:
        fs = FakeInboundFS(script, **kwargs)
        servers.append(fs)
        return fs

    yield start
    for fs in servers:
        fs.stop()


def test_connects_subscribes_runs_api_and_delivers_events(fake_fs, client_for):
    received = gevent.event.AsyncResult()
    fs = fake_fs()
    client = client_for(fs, events=["CHANNEL_ANSWER", "CUSTOM callcenter::info"], on_event=received.set)
    assert client.wait_connected(1.0) and client.connected
    assert client.api("status") == "+OK\n"
    assert [f.command for f in fs.conns[0].commands] == [
        "auth ClueCon",
        "event plain CHANNEL_ANSWER BACKGROUND_JOB CUSTOM callcenter::info",  # subclasses last
        "api status",
    ]
    fs.conns[0].send(event("CHANNEL_ANSWER", "agent-leg"))
    assert received.get(timeout=1).uuid == "agent-leg"


def test_api_error_and_not_connected(fake_fs, client_for):
    fs = fake_fs(lambda conn, frame: conn.send(encode_api_response("-ERR no such channel\n")))
    client = InboundClient("127.0.0.1", fs.port, "ClueCon")
    with pytest.raises(ESLConnectionClosed):
        client.api("status")
    client = client_for(fs)
    assert client.wait_connected(1.0)
    with pytest.raises(ESLCommandError, match="no such channel"):
        client.api("uuid_kill nobody")


def test_wrong_password_is_logged_and_retried_with_backoff(fake_fs, client_for, caplog):
    sleeps = Sleeps()
    fs = fake_fs(password="secret")
    with caplog.at_level(logging.ERROR, logger="fsrouter.esl.inbound"):
        client = client_for(fs, password="wrong", sleep=sleeps, jitter=lambda: 1.0)
        gevent.sleep(0.2)
    assert not client.connected
    assert "refused the ESL password" in caplog.text and "-ERR invalid" in caplog.text
    assert sleeps.delays[:4] == [0.5, 1.0, 2.0, 4.0]


def test_backoff_doubles_with_jitter_and_is_capped_at_30s():
    low = InboundClient("h", 1, "pw", jitter=lambda: 0.0)
    high = InboundClient("h", 1, "pw", jitter=lambda: 1.0)
    assert [high.backoff(n) for n in (1, 2, 3, 7, 8, 50)] == [0.5, 1.0, 2.0, 30.0, 30.0, 30.0]
    assert [low.backoff(n) for n in (1, 2, 50)] == [0.25, 0.5, 15.0]


def test_reconnects_after_the_peer_drops(fake_fs, client_for):
    fs = fake_fs()
    sleeps = Sleeps()
    client = client_for(fs, sleep=sleeps)
    assert client.wait_connected(1.0)
    fs.conns[0].close()
    with gevent.Timeout(1):
        while len(fs.conns) < 2 or not client.connected:
            gevent.sleep(0.01)
    assert client.api("status") == "+OK\n"
    assert len(sleeps.delays) == 1


def test_on_connected_runs_first_on_every_connection_and_its_failure_keeps_it_up(fake_fs, client_for, caplog):
    fs = fake_fs()
    client = InboundClient("127.0.0.1", fs.port, "ClueCon", connect_timeout=1, sleep=Sleeps())
    seen = []

    def on_connected():
        seen.append((client.wait_connected(0), client.api("show registrations as json")))
        if len(seen) == 1:
            raise RuntimeError("sync failed")

    client.on_connected = on_connected
    client.start()
    try:
        assert client.wait_connected(1.0)
        assert seen == [(False, "+OK\n")]  # before wait_connected returned, with requests allowed
        assert "on_connected failed" in caplog.text and client.connected
        fs.conns[0].close()
        with gevent.Timeout(1):
            while len(seen) < 2:
                gevent.sleep(0.01)
        assert [f.command for f in fs.conns[1].commands][-1] == "api show registrations as json"
    finally:
        client.stop()


def test_eof_fails_every_pending_request_at_once(fake_fs, client_for):
    fs = fake_fs(lambda conn, frame: None)  # never answers
    client = client_for(fs)
    assert client.wait_connected(1.0)
    requests = [gevent.spawn(client.api, "status", 5), gevent.spawn(client.bgapi, "status", 5)]
    gevent.sleep(0.05)
    started = time.monotonic()
    fs.conns[0].close()
    gevent.joinall(requests, timeout=1)
    assert time.monotonic() - started < 0.5
    assert all(isinstance(g.exception, ESLConnectionClosed) for g in requests)


def bgapi_results_in_reverse(conn: PeerConn, frame) -> None:
    """Accept bgapi jobs; when the second arrives, finish it first, then the first."""
    job = frame.header("Job-UUID")
    conn.send(encode_reply(f"+OK Job-UUID: {job}", [("Job-UUID", job)]))
    conn.jobs = [*getattr(conn, "jobs", []), (job, frame.command)]
    if len(conn.jobs) == 2:
        for job, command in reversed(conn.jobs):
            conn.send(event("BACKGROUND_JOB", "", ("Job-UUID", job), body=f"+OK {command}\n".encode()))


def test_bgapi_results_are_matched_by_job_uuid_not_order(fake_fs, client_for):
    client = client_for(fake_fs(bgapi_results_in_reverse))
    assert client.wait_connected(1.0)
    first = gevent.spawn(client.bgapi, "originate user/1001 &park()", 2)
    gevent.sleep(0.02)
    second = gevent.spawn(client.bgapi, "originate user/1002 &park()", 2)
    gevent.joinall([first, second], timeout=2)
    assert first.value.body == b"+OK bgapi originate user/1001 &park()\n"
    assert second.value.body == b"+OK bgapi originate user/1002 &park()\n"
    assert first.value.name == "BACKGROUND_JOB"


def late_replies(conn: PeerConn, frame) -> None:
    """The first api is answered 0.2 s late; the first bgapi's result comes only after the second's."""
    if frame.command == "api first":
        gevent.sleep(0.2)
    if frame.command.startswith("api "):
        conn.send(encode_api_response(frame.command))
        return
    bgapi_results_in_reverse(conn, frame)


def test_timed_out_requests_leave_no_stale_waiters(fake_fs, client_for):
    client = client_for(fake_fs(late_replies))
    assert client.wait_connected(1.0)
    with pytest.raises(ESLTimeout):
        client.api("first", timeout=0.05)
    assert client.api("second", timeout=1) == "api second"
    with pytest.raises(ESLTimeout):
        client.bgapi("job one", timeout=0.05)
    assert client.bgapi("job two", timeout=1).body == b"+OK bgapi job two\n"


def test_stop_leaks_no_greenlets_or_sockets(fake_fs):
    def connect_and_stop() -> None:
        fs = fake_fs()
        client = InboundClient("127.0.0.1", fs.port, "ClueCon", connect_timeout=1)
        client.start()
        assert client.wait_connected(1.0)
        client.api("status")
        client.stop()
        assert not client.connected
        fs.stop()
        gevent.sleep(0.05)

    connect_and_stop()  # warm up
    fds, greenlets = open_fds(), live_greenlets()
    connect_and_stop()
    assert open_fds() <= fds  # fewer is fine: an earlier test's socket may close meanwhile
    assert live_greenlets() <= greenlets


def test_a_request_killed_mid_send_closes_the_connection():
    """Half a command may be on the wire: the next one would be read as its
    rest, so the connection ends rather than carry on."""
    from gevent import socket as gsocket

    from fsrouter.esl.connection import Connection

    ours, peer = gsocket.socketpair()  # the peer never reads
    conn = Connection(ours, name="peer")
    sender = gevent.spawn(conn.request, b"api " + b"x" * (16 * 1024 * 1024) + b"\n\n", 5)
    gevent.sleep(0.1)
    assert not sender.dead and not conn.closed  # stuck in sendall
    sender.kill()
    assert conn.closed
    peer.close()
