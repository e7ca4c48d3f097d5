"""The lean load generator (bench/loadgen.py) is a faithful enough FreeSWITCH for its figures.

End to end against `fsrouter run` (short announcement intervals in the
test's own rules): callers join, hear their announcements on schedule, are
answered by the agents and hang up; the events sent follow the call's
subscription with mod_event_socket's semantics, and what bare ``myevents``
would have sent is counted apart.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import gevent
import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bench"))

from loadgen import CallRecord, LeanCall, LeanSwitch, Recorded  # noqa: E402

from fsrouter.esl.codec import Parser, channel_data, parse_event  # noqa: E402
from fsrouter.sim.harness import FsrouterProcess, free_port  # noqa: E402

RULES = REPO / "bench" / "capacity" / "rules.yaml"
SOUNDS = REPO / "sounds"


@pytest.fixture
def centre(tmp_path):
    rules = tmp_path / "short.yaml"
    rules.write_text(RULES.read_text()
                     .replace("first: 30s, every: 30s}, wait: {every: 30s}", "first: 0.5s, every: 0.5s}")
                     .replace("wrap_up: 0.5s", "wrap_up: 0.1s"))
    port = free_port()
    lean = LeanSwitch(("127.0.0.1", port), sounds_dir=str(SOUNDS), agents=["2000", "2001"],
                      answer_after=0.1, talk=0.6, whisper=0.05).start()
    fsrouter = FsrouterProcess(tmp_path, rules=rules, sounds=SOUNDS, inbound_address=lean.inbound_address,
                               outbound_port=port)
    fsrouter.start()
    try:
        fsrouter.wait_connected()
        yield lean, fsrouter
    finally:
        lean.hang_up_all()
        fsrouter.stop()
        lean.close()


def test_callers_queue_hear_announcements_and_are_answered(centre):
    lean, fsrouter = centre
    records = [lean.place_call("5000") for _ in range(8)]
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and sum(r.bridged is not None for r in records) < 7:
        gevent.sleep(0.1)
    assert all(r.first_command is not None and r.first_command >= r.handshake >= r.connected for r in records)
    assert all(r.joined is not None for r in records)
    assert sum(r.bridged is not None for r in records) >= 7  # two agents, 0.6 s calls: a steady rate
    waited_long = [r for r in records if (r.bridged or time.monotonic()) - r.joined > 1.2]
    assert waited_long and all(len(r.announcements) >= 2 for r in waited_long)
    assert not any(r.end in ("fsrouter", "refused") for r in records)
    assert fsrouter.error_lines() == []
    # fsrouter's subscription (myevents, nixevent): CHANNEL_EXECUTE is nixed, completions are not.
    assert lean.wire.events_sent["CHANNEL_EXECUTE_COMPLETE"] > 0
    assert "CHANNEL_EXECUTE" not in lean.wire.events_sent
    assert lean.wire.events_bare_myevents > sum(lean.wire.events_sent.values())


class _Wire:
    """Stands in for a call's socket: keeps what would be sent."""

    def __init__(self) -> None:
        self.data = b""

    def sendall(self, data: bytes) -> None:
        self.data += data


def _call(commands: list[str]) -> tuple[LeanCall, _Wire]:
    switch = LeanSwitch(("127.0.0.1", 9), sounds_dir=str(SOUNDS))  # not started: no connection is made
    call = LeanCall(switch, CallRecord("6f3c1b1e-6a39-4c86-9b39-6c5e0f6c2b1a", 0.0), "5000")
    call.sock = wire = _Wire()
    parser = Parser(commands=True)
    parser.feed("".join(f"{c}\n\n" for c in commands).encode())
    for frame in parser.frames():
        call._command(frame)
    return call, wire


def _events(data: bytes) -> list:
    parser = Parser()
    parser.feed(data)
    return [parse_event(f) for f in parser.frames() if f.content_type == "text/event-plain"]


@pytest.mark.parametrize(("subscription", "expected"), [
    (["myevents"], ["CHANNEL_EXECUTE", "CHANNEL_EXECUTE_COMPLETE"]),
    (["myevents", "nixevent CHANNEL_EXECUTE"], ["CHANNEL_EXECUTE_COMPLETE"]),
    (["myevents", "filter Event-Name /^CHANNEL_EXECUTE$/"], ["CHANNEL_EXECUTE"]),
    (["myevents", "filter Application -set"], []),
    ([], []),
])
def test_events_follow_the_subscription(subscription, expected):
    call, wire = _call(subscription)
    wire.data = b""
    call._apps.append(("set", "x=1", "a6b0c2d4-0000-4000-8000-000000000001"))
    call._next_app()
    events = _events(wire.data)
    assert [e.name for e in events] == expected
    for event in events:  # the recorded event, made this call's
        assert event.get("Unique-ID") == call.uuid
        assert (event.get("Application"), event.get("Application-UUID")) == (
            "set", "a6b0c2d4-0000-4000-8000-000000000001")
    assert call.switch.wire.events_bare_myevents == 2  # bare myevents sends both, whatever was asked


def test_the_connect_reply_is_the_recorded_channel_data_for_this_call():
    data = Recorded().connect("0b5e3c9a-1111-4222-8333-944455556666", "5123")
    parser = Parser()
    parser.feed(data)
    channel = channel_data(parser.next_frame())
    assert channel.get("Unique-ID") == "0b5e3c9a-1111-4222-8333-944455556666"
    assert channel.get("Caller-Destination-Number") == "5123"
    assert channel.get("Reply-Text") == "+OK\n"
    assert len(data) > 6000 and parser.buffered == 0  # one whole header block, as FreeSWITCH's weighs
