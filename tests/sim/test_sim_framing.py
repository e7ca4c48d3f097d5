"""The simulator against recorded FreeSWITCH 1.10.12 traffic.

Each test replays the client side of a transcript (the very bytes fsrouter's
stand-in sent) into the simulator over a real socket, then compares what
comes back with what FreeSWITCH sent: the sequence of frames, the envelope
header order, the layout of each event, the disconnect notices.  Events that
FreeSWITCH delivers unreliably (README fact 8: CHANNEL_PARK fired between
``connect`` and ``myevents``) are left out of the comparison.
"""

from __future__ import annotations

import gevent
import pytest
from fixtures.transcripts import load_transcript
from sim_helpers import WAIT, about, FakeRouter, events, is_event, shape

from fsrouter.esl.codec import Frame, Parser, channel_data, parse_event
from fsrouter.sim import CallerScript, HangUp, Press, Switch

SCALE = 0.05


def recorded(name: str) -> tuple[list[bytes], list[Frame]]:
    """A transcript's client messages (raw) and FreeSWITCH's frames (parsed)."""
    transcript = load_transcript(name)
    parser = Parser()
    parser.feed(transcript.stream("FS->APP"))
    return [m.data for m in transcript.messages if m.direction == "APP->FS"], list(parser.frames())


def replay(name: str, script: CallerScript, *, close_after_notice: bool = False, **switch_options):
    """Drive the simulator with a transcript's client messages, as its recorder did."""
    commands, _ = recorded(name)

    def handler(peer):
        for data in commands:
            peer.send(data)
            if data.startswith(b"sendmsg") and b"loops=-1" not in data:
                peer.until(lambda f: is_event(f, "CHANNEL_EXECUTE_COMPLETE", Application_Data=_arg(data)))
            elif not data.startswith(b"sendmsg"):
                peer.reply()
        if close_after_notice:
            peer.until(lambda f: f.content_type == "text/disconnect-notice")
            peer.close()
        else:
            peer.drain()

    router = FakeRouter(handler)
    options = {"time_scale": SCALE, "answer_in_dialplan": True, "dialplan_tail": 0.0, **switch_options}
    with Switch(router.address, **options) as switch:
        call = switch.place_call(script)
        assert call.wait(WAIT)
    router.check()
    return call, router.peers[0].frames


def _arg(sendmsg: bytes) -> str | None:
    for line in sendmsg.decode().split("\n"):
        if line.startswith("execute-app-arg: "):
            return line.split(": ", 1)[1]
    return None


def comparable(frames: list[Frame]) -> list[tuple]:
    return [shape(f) for f in frames if not is_event(f, "CHANNEL_PARK")]


def layout(frame: Frame) -> tuple[list[str], bool, list[str]]:
    """An event's header names before the channel variables, whether it has any, and after them."""
    names = [line.split(": ", 1)[0] for line in frame.body.split(b"\n\n")[0].decode().split("\n")]
    first = next((i for i, n in enumerate(names) if n.startswith("variable_")), None)
    if first is None:
        return names, False, []
    last = max(i for i, n in enumerate(names) if n.startswith("variable_"))
    return names[:first], True, names[last + 1:]


#: Presses 1, 2, 3 during the first playback, as the recorder's SIPp caller did.
CALLER = CallerScript(caller_id_number="+302101234567", caller_id_name="Ανδρέας",
                      actions=[Press("123", after_app_count=1, delay=0.2, interval=0.15)])


def test_connect_reply_is_one_header_block_shaped_like_freeswitchs():
    _, fs_frames = recorded("outbound_basic.txt")
    call, frames = replay("outbound_basic.txt", CALLER, close_after_notice=True)
    mine, theirs = frames[0], fs_frames[0]
    names, their_names = [k for k, _ in mine.headers], [k for k, _ in theirs.headers]

    assert "Content-Length" not in names and mine.body == b""
    assert names[-4:] == their_names[-4:] == ["Content-Type", "Reply-Text", "Socket-Mode", "Control"]
    assert [mine.header(h) for h in ("Reply-Text", "Socket-Mode", "Control")] == ["%2BOK%0A", "async", "full"]
    without_vars = [n for n in names if not n.startswith("variable_")]
    assert without_vars == [n for n in their_names if not n.startswith("variable_")]
    assert names.index("variable_direction") == their_names.index("variable_direction")
    # url-encoded values, decoded by the codec to the call's own data
    assert mine.header("Caller-Channel-Name") == "sofia/internal/%2B302101234567%40127.0.0.1%3A5070"
    data = channel_data(mine)
    assert data.get("Unique-ID") == data.get("variable_uuid") == call.uuid
    assert data.get("Caller-Caller-ID-Name") == "Ανδρέας"
    assert data.get("Caller-Destination-Number") == "5000"
    assert data.get("variable_current_application") == "socket"
    assert 6000 < sum(len(k) + len(v) + 3 for k, v in mine.headers) < 10000


def test_linger_n_matches_the_recording_frame_by_frame():
    _, fs_frames = recorded("outbound_basic_linger5.txt")
    call, frames = replay("outbound_basic_linger5.txt", CALLER)

    assert comparable(frames) == comparable(fs_frames)
    assert [d for _, d in call.digits] == ["1", "2", "3"]
    # the call's own record of the wire is what crossed it
    assert [shape(f) for f in call.sent_frames()] == [shape(f) for f in frames]
    commands, _ = recorded("outbound_basic_linger5.txt")
    assert [f.command for f in call.received_frames()] == [c.split(b"\n")[0].decode() for c in commands]
    # envelopes: events put Content-Length first, replies Content-Type first
    for frame in frames[1:]:
        names = [k for k, _ in frame.headers]
        if frame.content_type == "text/event-plain":
            assert names == ["Content-Length", "Content-Type"]
        elif frame.content_type == "command/reply":
            assert names == ["Content-Type", "Reply-Text"]
    # both disconnect notices: same headers as FreeSWITCH's, Channel-Name not encoded, same body
    notices = [f for f in frames if f.content_type == "text/disconnect-notice"]
    fs_notices = [f for f in fs_frames if f.content_type == "text/disconnect-notice"]
    assert [[k for k, _ in f.headers] for f in notices] == [[k for k, _ in f.headers] for f in fs_notices]
    assert notices[0].header("Linger-Time") == "5"
    assert notices[0].header("Channel-Name") == "sofia/internal/+302101234567@127.0.0.1:5070"
    assert notices[0].header("Controlled-Session-UUID") == notices[1].header("Controlled-Session-UUID") == call.uuid
    assert notices[1].body == fs_notices[1].body
    # FreeSWITCH closed about linger+1 s after the first notice
    first, second = [m.t for m in call.wire if m.data.startswith(b"Content-Type: text/disconnect-notice")]
    assert 5.9 <= second - first <= 6.6


def test_every_event_is_laid_out_like_the_recorded_one_of_its_kind():
    _, fs_frames = recorded("outbound_basic_linger5.txt")
    _, frames = replay("outbound_basic_linger5.txt", CALLER)

    def by_kind(fs):
        return {(parse_event(f).name, parse_event(f).get("Application"), parse_event(f).get("Channel-State")): f
                for f in fs if f.content_type == "text/event-plain"}

    theirs, mine = by_kind(fs_frames), by_kind(frames)
    assert set(mine) == set(theirs) - {("CHANNEL_PARK", None, "CS_EXECUTE")}
    for kind, frame in mine.items():
        assert layout(frame) == layout(theirs[kind]), kind
    sequence = [int(e.get("Event-Sequence")) for e in events(frames)]
    assert sequence == sorted(sequence) and len(set(sequence)) == len(sequence)
    assert all(4000 < len(f.body) < 10000 for f in frames if is_event(f, "CHANNEL_EXECUTE_COMPLETE"))


def test_caller_hangs_up_first_without_linger():
    """README fact 5: everything up to CHANNEL_HANGUP_COMPLETE, then goodbye; no CHANNEL_DESTROY."""
    _, fs_frames = recorded("outbound_peer_bye_nolinger.txt")
    script = CallerScript(actions=[Press("123", after_app_count=1, delay=0.2, interval=0.15),
                                   HangUp(after_app_count=1, delay=1.5)])
    call, frames = replay("outbound_peer_bye_nolinger.txt", script)

    assert comparable(frames) == comparable(fs_frames)
    completes = [parse_event(f) for f in frames if is_event(f, "CHANNEL_EXECUTE_COMPLETE")]
    assert [e.get("Application-Response") for e in completes] == ["PLAYBACK ERROR", "PLAYBACK ERROR"]
    assert call.hung_up_by == "caller" and call.hangup_cause == "NORMAL_CLEARING"
    assert not any(is_event(f, "CHANNEL_DESTROY") for f in frames)
    assert frames[-1].content_type == "text/disconnect-notice" and frames[-1].body == fs_frames[-1].body


def test_linger_forever_keeps_the_socket_until_the_client_closes():
    _, fs_frames = recorded("outbound_basic.txt")
    call, frames = replay("outbound_basic.txt", CALLER, close_after_notice=True)

    assert comparable(frames)[-9:] == comparable(fs_frames)[-9:]
    assert frames[-1].header("Content-Disposition") == "linger" and frames[-1].header("Linger-Time") == "-1"
    assert call.socket_closed_by_client


def test_nothing_follows_a_linger_forever_notice_until_the_client_closes():
    seen = {}

    def handler(peer):
        peer.command("connect")
        peer.command("myevents")
        peer.command("linger")
        peer.until(lambda f: f.content_type == "text/disconnect-notice")
        with pytest.raises(gevent.Timeout):
            peer.frame(timeout=40 * 0.01)  # 40 sim seconds: FreeSWITCH would wait forever
        seen["waited"] = True
        peer.close()

    router = FakeRouter(handler)
    with Switch(router.address, time_scale=0.01, answer_in_dialplan=True) as switch:
        call = switch.place_call(CallerScript(actions=[HangUp(at=5.0)]))
        assert call.wait(WAIT)
    router.check()
    assert seen["waited"] and call.socket_closed_by_client and call.hung_up_by == "caller"


@pytest.mark.parametrize("event_lock", [False, True])
def test_event_lock_orders_queued_playbacks_like_freeswitch(event_lock):
    """README fact 7: without event-lock the second playback runs inside the first."""
    commands, fs_frames = recorded("outbound_eventlock.txt")
    half = [c for c in commands if c.startswith(b"sendmsg") and b"playback" in c and
            (b"event-lock: true" in c) == event_lock]

    def order(frames):
        return [(parse_event(f).name, parse_event(f).get("Application-Data")) for f in frames
                if is_event(f) and parse_event(f).get("Application") == "playback"]

    recorded_order = order(fs_frames)[4:] if event_lock else order(fs_frames)[:4]

    def handler(peer):
        peer.command("connect")
        peer.command("myevents")
        for data in half:
            peer.send(data)
        for _ in half:
            peer.until(lambda f: is_event(f, "CHANNEL_EXECUTE_COMPLETE", Application="playback"))
        peer.command("sendmsg", [("call-command", "hangup")])
        peer.drain()

    router = FakeRouter(handler)
    with Switch(router.address, time_scale=0.1, answer_in_dialplan=True) as switch:
        call = switch.place_call(CallerScript())
        assert call.wait(WAIT)
    router.check()
    assert order(router.peers[0].frames) == recorded_order
    long, short = call.esl_apps[:2]
    assert short.duration == about(0.3)
    if event_lock:
        assert long.duration == about(1.0) and short.start >= long.end
    else:  # the first pauses while the second plays inside it
        assert long.start < short.start < short.end < long.end
        assert long.duration == about(1.3)
