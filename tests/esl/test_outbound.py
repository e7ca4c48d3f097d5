"""OutboundServer / OutboundCall over real sockets against fake FreeSWITCH calls."""

from __future__ import annotations

import logging
import time

import gevent
import gevent.event
import pytest
from esl_fakes import FakeOutboundFS, event, live_greenlets, open_fds

from fsrouter.esl.codec import Event, Frame, encode_disconnect_notice, encode_reply
from fsrouter.esl.errors import ESLCommandError, ESLConnectionClosed, ESLTimeout
from fsrouter.esl.outbound import WAKE
from fsrouter.esl.outbound import OutboundCall, OutboundServer


# Channel UUIDs as FreeSWITCH makes them (the server refuses anything else).
CALL_1 = "59e2b2c5-4b90-40b9-a7a7-eefd8f00f58a"
BAD, GOOD = "0b1f3c2e-0000-4000-8000-00000000bad0", "0b1f3c2e-0000-4000-8000-0000000000d0"
BOOM, FINE = "0b1f3c2e-0000-4000-8000-0000000b0000", "0b1f3c2e-0000-4000-8000-00000000f1e0"
REFUSED = "0b1f3c2e-0000-4000-8000-0000000ef05e"


def call_fs(server: OutboundServer, serve_fn=FakeOutboundFS.serve, uuid=None) -> tuple[FakeOutboundFS, gevent.Greenlet]:
    fake = FakeOutboundFS(server.address, uuid)
    assert fake.handshake().command == "connect"
    return fake, gevent.spawn(serve_fn, fake)


def test_a_call_end_to_end():
    outcome = gevent.event.AsyncResult()

    def handler(call: OutboundCall) -> None:
        assert call.command("myevents").header("Reply-Text") == "+OK"
        call.command("linger")
        call.execute("playback", "/tmp/hello.wav", event_uuid="ev-1")
        seen = []
        while (item := call.next_event(1.0)) is not None:
            seen.append(item)
            if isinstance(item, Event) and item.get("Application-UUID") == "ev-1":
                break
        outcome.set((call.uuid, call.channel["Caller-Caller-ID-Name"], seen, call.api("uuid_break u all")))

    server = OutboundServer("127.0.0.1", 0, handler)
    server.start()
    try:
        fake, peer = call_fs(server, uuid=CALL_1)
        uuid, caller_name, seen, api_result = outcome.get(timeout=2)
        assert (uuid, caller_name, api_result) == (CALL_1, "Ελένη", "+OK uuid_break u all\n")
        assert seen[-1].name == "CHANNEL_EXECUTE_COMPLETE"
        assert fake.conn.wait_eof(1.0)  # the server closes the socket when the handler returns
        sendmsg = next(f for f in fake.conn.commands if f.command == "sendmsg")
        assert (sendmsg.header("Event-UUID"), sendmsg.header("event-lock")) == ("ev-1", "true")
        assert [f.command for f in fake.conn.commands][:3] == ["connect", "myevents", "linger"]
    finally:
        server.stop(timeout=0.5)


def test_disconnect_notice_then_close_is_drained_before_the_connection_error(serve):
    outcome = gevent.event.AsyncResult()

    def handler(call: OutboundCall) -> None:
        items = []
        try:
            while True:
                items.append(call.next_event(1.0))
        except ESLConnectionClosed:
            pass
        outcome.set(items)

    server = serve(handler)
    fake = FakeOutboundFS(server.address)
    fake.handshake()
    fake.conn.send(event("CHANNEL_HANGUP_COMPLETE", fake.uuid) + encode_disconnect_notice(fake.uuid, "sofia/x"))
    fake.conn.close()
    hangup, notice = outcome.get(timeout=2)
    assert hangup.name == "CHANNEL_HANGUP_COMPLETE"
    assert isinstance(notice, Frame) and notice.header("Content-Disposition") == "linger"


def test_wake_interrupts_a_wait_for_events_at_once(serve):
    woken = gevent.event.AsyncResult()

    def handler(call: OutboundCall) -> None:
        gevent.spawn_later(0.05, call.wake)  # another greenlet has news for the call
        started = time.monotonic()
        item = call.next_event(5.0)
        woken.set((item, time.monotonic() - started, call.next_event(0.05)))

    server = serve(handler)
    fake = FakeOutboundFS(server.address)
    fake.handshake()
    item, waited, after = woken.get(timeout=3)
    assert item is WAKE and waited < 1.0
    assert after is None  # one wake, one WAKE
    fake.conn.close()


def test_command_errors_and_execute_after_hangup(serve):
    outcome = gevent.event.AsyncResult()

    def script(fake: FakeOutboundFS) -> None:
        fake.conn.recv_command()
        fake.conn.send(encode_reply("-ERR invalid filter"))
        fake.conn.send(encode_disconnect_notice(fake.uuid, "sofia/x"))  # caller hung up, linger
        fake.serve()

    def handler(call: OutboundCall) -> None:
        with pytest.raises(ESLCommandError, match="-ERR invalid filter"):
            call.command("filter nonsense")
        assert isinstance(call.next_event(1.0), Frame)
        with pytest.raises(ESLConnectionClosed):
            call.execute("playback", "/tmp/x.wav", event_uuid="e")
        call.close()
        call.close()
        with pytest.raises(ESLConnectionClosed):
            call.command("myevents")
        outcome.set(call.closed)

    call_fs(serve(handler), script)
    assert outcome.get(timeout=2) is True


def test_late_reply_to_a_timed_out_command_goes_nowhere(serve):
    outcome = gevent.event.AsyncResult()

    def slow_first_reply(fake: FakeOutboundFS) -> None:
        fake.conn.recv_command()
        second = fake.conn.recv_command()
        gevent.sleep(0.2)
        fake.conn.send(encode_reply("+OK first"))
        fake.conn.send(encode_reply(f"+OK {second.command}"))
        fake.serve()

    def handler(call: OutboundCall) -> None:
        with pytest.raises(ESLTimeout):
            call.command("first", timeout=0.05)
        outcome.set(call.command("second", timeout=1).header("Reply-Text"))

    call_fs(serve(handler), slow_first_reply)
    assert outcome.get(timeout=2) == "+OK second"


def test_refuses_above_max_sessions_by_closing_without_linger(serve, caplog):
    release = gevent.event.Event()
    server = serve(lambda call: release.wait(5), max_sessions=1)
    _, first = call_fs(server)
    gevent.sleep(0.05)
    with caplog.at_level(logging.WARNING, logger="fsrouter.esl.outbound"):
        second = FakeOutboundFS(server.address, uuid=REFUSED)
        assert second.handshake().command == "connect"
        assert second.conn.wait_eof(1.0)
    assert [f.command for f in second.conn.commands] == ["connect"]  # no linger, no myevents
    assert REFUSED in caplog.text
    assert server.active_sessions == 1
    release.set()
    first.join(1.0)
    assert first.dead  # the fake's serve() ends at EOF
    assert server.active_sessions == 0


def test_malformed_frame_closes_only_its_own_session(serve, caplog):
    results = {}

    def handler(call: OutboundCall) -> None:
        try:
            while True:
                call.next_event(2.0)
                results[call.uuid] = call.api("status")
        except ESLConnectionClosed as exc:
            results[call.uuid] = exc

    server = serve(handler)
    bad, _ = call_fs(server, lambda fake: None, uuid=BAD)
    good, _ = call_fs(server, uuid=GOOD)
    bad.conn.send(b"Content-Type: text/event-plain\nthis is not a header\n\n")
    good.conn.send(event("DTMF", "good", ("DTMF-Digit", "1")))
    assert bad.conn.wait_eof(1.0)
    gevent.sleep(0.1)
    assert isinstance(results[BAD], ESLConnectionClosed)
    assert results[GOOD] == "+OK status\n"
    assert server.active_sessions == 1
    assert "malformed frame" in caplog.text


def test_handler_exception_closes_the_session_and_the_server_goes_on(serve, caplog):
    def handler(call: OutboundCall) -> None:
        if call.uuid == BOOM:
            raise RuntimeError("handler bug")
        call.command("myevents")

    server = serve(handler)
    _, boom = call_fs(server, uuid=BOOM)
    boom.join(1.0)
    fine, served = call_fs(server, uuid=FINE)
    served.join(1.0)
    assert boom.dead and served.dead
    assert [f.command for f in fine.conn.commands] == ["connect", "myevents"]
    assert "handler bug" in caplog.text


def test_peer_vanishing_mid_request_fails_it_promptly(serve):
    outcome = gevent.event.AsyncResult()

    def vanish_on_api(fake: FakeOutboundFS) -> None:
        fake.conn.recv_command()
        fake.conn.close()

    def handler(call: OutboundCall) -> None:
        started = time.monotonic()
        try:
            call.api("status", timeout=5)
        except ESLConnectionClosed:
            outcome.set(time.monotonic() - started)

    call_fs(serve(handler), vanish_on_api)
    assert outcome.get(timeout=2) < 0.5


def test_no_greenlets_or_sockets_leak():
    def run_calls() -> None:
        server = OutboundServer("127.0.0.1", 0, lambda call: call.command("myevents"))
        server.start()
        calls = [call_fs(server) for _ in range(10)]
        for fake, served in calls:
            served.join(1.0)
            assert served.dead
            fake.conn.close()
        server.stop(timeout=0.5)
        gevent.sleep(0.05)

    run_calls()  # warm up: the hub, resolver and thread pool allocate once
    fds, greenlets = open_fds(), live_greenlets()
    run_calls()
    assert open_fds() <= fds  # fewer is fine: an earlier test's socket may close meanwhile
    assert live_greenlets() <= greenlets


def test_commands_go_out_together_and_their_replies_come_back_in_order(serve):
    """The peer answers only once it has both commands: sent one by one,
    each waiting for its reply, they would time out."""
    outcome = gevent.event.AsyncResult()

    def answers_after_both(fake: FakeOutboundFS) -> None:
        lines = [fake.conn.recv_command().command for _ in range(2)]
        for line in lines:
            fake.conn.send(encode_reply(f"+OK {line}"))
        fake.conn.send(encode_reply(f"-ERR no such filter ({fake.conn.recv_command().command})"))
        fake.serve()

    def handler(call: OutboundCall) -> None:
        frames = call.commands(["linger", "myevents"], timeout=1)
        with pytest.raises(ESLCommandError, match="no such filter"):
            call.commands(["filter x y"], timeout=1)
        outcome.set([f.header("Reply-Text") for f in frames])

    call_fs(serve(handler), answers_after_both)
    assert outcome.get(timeout=3) == ["+OK linger", "+OK myevents"]


def test_late_replies_to_timed_out_commands_go_nowhere(serve):
    outcome = gevent.event.AsyncResult()

    def slow_replies(fake: FakeOutboundFS) -> None:
        lines = [fake.conn.recv_command().command for _ in range(3)]
        gevent.sleep(0.2)
        for line in lines:
            fake.conn.send(encode_reply(f"+OK {line}"))
        fake.serve()

    def handler(call: OutboundCall) -> None:
        with pytest.raises(ESLTimeout, match="first"):
            call.commands(["first", "second"], timeout=0.05)
        outcome.set(call.command("third", timeout=1).header("Reply-Text"))

    call_fs(serve(handler), slow_replies)
    assert outcome.get(timeout=2) == "+OK third"
