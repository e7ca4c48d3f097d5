"""The call machine in a queue with music, exit keys and recording: events
in, commands out, time passed in by hand."""

from __future__ import annotations

from datetime import datetime, timezone

from fsrouter.flow import CallMachine
from fsrouter.flow.commands import (
    CancelTimer, Collect, Hangup, Play, QueryQueue, StartRecording, StartTimer, StopMedia, StopRecording, Transfer,
)
from fsrouter.flow.events import (
    AgentConnected, AgentDisconnected, CallerHungUp, CommandFailed, DigitPressed, MediaDone, QueueStatus, TimerFired,
)
from fsrouter.rules import compile_source

T0 = datetime(2026, 12, 7, 1, 0, tzinfo=timezone.utc).timestamp()
STREAM = ("local_stream://moh",)

RULES = """
settings: {timezone: UTC, language: en}
lines:
  "7000": {flow: wait}
  "7001": {flow: recorded}
  "7002": {flow: plain, record: {path: "/rec/line/{uuid}.wav"}}
  "7003": {flow: own}
flows:
  wait:
    - queue: q
  recorded:
    - queue: r
  plain:
    - queue: plain
  own:
    - queue: own_file
  operator:
    - play: ivr/transfer
    - transfer: operator
queues:
  q:
    announce: {position: {first: 15s, every: 45s}, exit: ivr/exit_keys}
    exit: {"0": {goto: operator}, "9": {transfer: voicemail}}
    max_wait: {after: 10m, then: {hangup: NORMAL_CLEARING}}
  r:
    music: queue/hold_music
    record: {path: "/rec/{date}/{queue}/{caller_id_number}-{uuid}.wav", announce: recording/notice,
             opt_out_key: "7"}
    max_wait: {after: 10m, then: {hangup: NORMAL_CLEARING}}
  plain:
    max_wait: {after: 10m, then: {hangup: NORMAL_CLEARING}}
  own_file:
    music: /usr/share/moh/jazz.wav
    max_wait: {after: 10m, then: {hangup: NORMAL_CLEARING}}
"""
PLAN = compile_source(RULES)


def queued(number: str, caller: str = "+302101234567") -> tuple[CallMachine, list]:
    machine = CallMachine(PLAN, {"destination_number": number, "uuid": "u1", "caller_id_number": caller}, now=T0)
    return machine, machine.start(T0)


def test_the_stream_is_played_once_broken_into_by_an_announcement_and_resumed():
    machine, start = queued("7000")
    assert start[-1] == Play(1, STREAM)
    # Nothing comes back from a stream by itself: no restart every few seconds.
    assert machine.feed(TimerFired("queue_announce"), T0 + 15) == [QueryQueue()]
    said = machine.feed(QueueStatus(3), T0 + 15)
    assert said[:2] == [StartTimer("queue_announce", 45.0), StopMedia()]
    assert said[2].sounds == ("en/queue/you_are_caller.wav", "en/numbers/3.wav", "en/ivr/exit_keys.wav",
                              "en/queue/thank_you.wav")  # the exit keys named before the thanks
    assert machine.feed(MediaDone(1, interrupted=True), T0 + 15) == []  # the stream, broken
    assert machine.feed(MediaDone(said[2].command_id), T0 + 19) == [Play(3, STREAM)]  # resumed


def waiting_after_the_notice(caller: str = "+302101234567", digits: str = "") -> CallMachine:
    machine, start = queued("7001", caller)
    # The notice names its opt-out key: "... If you prefer not to be recorded, press 7."
    assert start[-1] == Collect(1, ("en/recording/notice.wav", "en/recording/opt_out.wav", "en/keys/press.wav",
                                    "en/numbers/7.wav"), timeout_ms=1000, terminators="")
    assert machine.state == "recorded.1"  # not in the line yet: no agent cuts the notice short
    assert machine.feed(MediaDone(1, digits=digits), T0 + 3) == [
        StartTimer("queue_max_wait", 600.0), Play(2, ("en/queue/hold_music.wav",))]
    assert machine.state == "queued"
    return machine


def test_a_prompt_as_music_is_started_again_each_time_it_ends():
    machine = waiting_after_the_notice()
    assert machine.feed(MediaDone(2), T0 + 11) == [Play(3, ("en/queue/hold_music.wav",))]


def test_an_absolute_music_file_is_played_as_written_and_looped():
    machine, start = queued("7003")
    assert start[-1] == Play(1, ("/usr/share/moh/jazz.wav",))
    assert machine.feed(MediaDone(1), T0 + 30) == [Play(2, ("/usr/share/moh/jazz.wav",))]


def test_an_exit_key_leaves_the_queue_for_its_destination():
    machine, _ = queued("7000")
    out = machine.feed(DigitPressed("0"), T0 + 5)
    assert out[:3] == [CancelTimer("queue_max_wait"), CancelTimer("queue_announce"), StopMedia()]
    assert out[3].sounds == ("en/ivr/transfer.wav",)
    assert machine.exit_key == "0" and machine.state == "operator.1"
    assert machine.feed(MediaDone(out[3].command_id), T0 + 7) == [Transfer("operator", "XML", "default")]
    other, _ = queued("7000")
    assert other.feed(DigitPressed("9"), T0 + 5)[-1] == Transfer("voicemail", "XML", "default")
    assert other.outcome == ("transfer", "voicemail")


def test_keys_that_are_no_exit_change_nothing():
    machine, _ = queued("7000")
    assert machine.feed(DigitPressed("5"), T0 + 5) == []
    assert machine.state == "queued" and machine.exit_key is None


def test_the_bridged_call_is_recorded_and_the_recording_stopped_when_the_bridge_ends():
    machine = waiting_after_the_notice(caller="+30 69/../x")
    connected = machine.feed(AgentConnected("1001"), T0 + 30)
    path = "/rec/2026-12-07/r/_30_69____x-u1.wav"  # caller values as one safe segment
    assert connected == [CancelTimer("queue_max_wait"), CancelTimer("queue_announce"), StartRecording(path)]
    assert machine.recording == path
    assert machine.feed(AgentDisconnected(), T0 + 90) == [StopRecording(path), Hangup("NORMAL_CLEARING")]


def test_a_caller_who_keys_the_opt_out_key_during_the_notice_or_the_wait_is_not_recorded():
    during_the_notice = waiting_after_the_notice(digits="7")
    while_waiting = waiting_after_the_notice()
    assert while_waiting.feed(DigitPressed("7"), T0 + 4) == []
    for machine in (during_the_notice, while_waiting):
        assert StartRecording not in map(type, machine.feed(AgentConnected("1001"), T0 + 30))
        assert machine.feed(AgentDisconnected(), T0 + 90) == [Hangup("NORMAL_CLEARING")]
    other_key = waiting_after_the_notice(digits="5")
    assert StartRecording in map(type, other_key.feed(AgentConnected("1001"), T0 + 30))


def test_the_line_records_when_the_queue_does_not_say():
    machine, start = queued("7002")
    assert start[-1] == Play(1, STREAM)  # no announcement configured
    assert machine.feed(AgentConnected("1001"), T0 + 30)[-1] == StartRecording("/rec/line/u1.wav")


def test_no_recording_without_a_record_block_and_none_after_a_hangup():
    machine, _ = queued("7000")
    assert StartRecording not in map(type, machine.feed(AgentConnected("1001"), T0 + 30))
    recorded = waiting_after_the_notice()
    recorded.feed(AgentConnected("1001"), T0 + 30)
    assert recorded.feed(CallerHungUp(), T0 + 40) == []  # FreeSWITCH ends the recording with the channel


def test_a_notice_that_cannot_be_played_still_leads_into_the_queue_and_the_recording():
    machine, _ = queued("7001")
    assert machine.feed(CommandFailed(1, "FILE NOT FOUND"), T0 + 1)[-1] == Play(2, ("en/queue/hold_music.wav",))
    assert machine.state == "queued"
    assert StartRecording in map(type, machine.feed(AgentConnected("1001"), T0 + 30))


def test_a_notice_without_an_opt_out_key_is_simply_played():
    plan = compile_source(RULES.replace(',\n             opt_out_key: "7"}', "}"))
    machine = CallMachine(plan, {"destination_number": "7001", "uuid": "u1"}, now=T0)
    assert machine.start(T0)[-1] == Play(1, ("en/recording/notice.wav",))
