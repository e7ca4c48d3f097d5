"""A recorded call through warm transfers, in the call machine: the notice
is said once, the opt-out holds for the whole call, and each bridge is
recorded into a file of its own.  Events in, commands out, time by hand."""

from __future__ import annotations

from fsrouter.flow import CallMachine
from fsrouter.flow.commands import Collect, Play, StartRecording, StartTimer, StopRecording, Transfer
from fsrouter.flow.events import AgentConnected, AgentDisconnected, MediaDone, Transferred
from fsrouter.rules import compile_source

RULES = """
settings: {timezone: UTC, language: en}
lines:
  "7000": {flow: sales, record: {path: "/rec/{queue}/{uuid}.wav", announce: recording/notice, opt_out_key: "9"}}
  "7001": {flow: plain}
flows:
  sales:
    - queue: sales
  plain:
    - queue: billing
  operator:
    - transfer: operator
queues:
  sales:
    exit: {"0": {goto: operator}}
    max_wait: {after: 10m, then: {hangup: }}
  billing:
    max_wait: {after: 5m, then: {hangup: }}
  recorded:
    record: {path: "/rec/q/{uuid}.wav", announce: recording/notice, opt_out_key: "9"}
    max_wait: {after: 5m, then: {hangup: }}
"""
PLAN = compile_source(RULES)
NOTICE, TRANSFER, STREAM = "en/recording/notice.wav", "en/queue/transfer.wav", ("local_stream://moh",)
OPT_OUT_9 = ("en/recording/opt_out.wav", "en/keys/press.wav", "en/numbers/9.wav")  # "... press 9"


def call(number: str = "7000") -> CallMachine:
    m = CallMachine(PLAN, {"destination_number": number, "uuid": "u"}, now=0)
    m.start(0)
    return m


def bridged_after_the_notice(digits: str = "") -> CallMachine:
    m = call()
    assert m.state == "sales.1"  # the notice (command 1), before the line
    m.feed(MediaDone(1, digits=digits), 3)
    assert m.state == "queued"
    m.feed(AgentConnected("1001"), 20)
    return m


def test_a_transferred_caller_does_not_hear_the_notice_again_and_waits_in_the_new_queue():
    m = bridged_after_the_notice()
    out = m.feed(Transferred("billing", {}), 60)
    assert StopRecording("/rec/sales/u.wav") in out
    assert [c for c in out if isinstance(c, (Play, Collect))] == [Play(3, (TRANSFER,)), Play(4, STREAM)]
    assert StartTimer("queue_max_wait", 300.0) in out
    assert (m.state, m.outcome) == ("queued", ("queue", "billing"))
    assert m.feed(MediaDone(4), 70) == [Play(5, STREAM)]  # the music goes on
    assert m.feed(AgentConnected("1002"), 90)[-1] == StartRecording("/rec/billing/u.wav")
    assert m.outcome == ("answered", "1002")


def test_each_bridge_is_recorded_into_a_file_of_its_own():
    m = bridged_after_the_notice()
    m.feed(Transferred("billing", {}), 60)
    m.feed(AgentConnected("1002"), 90)
    assert StopRecording("/rec/billing/u.wav") in m.feed(Transferred("sales", {}), 120)
    # sales again: the first file is not written over (record_session truncates).
    assert m.feed(AgentConnected("1003"), 150)[-1] == StartRecording("/rec/sales/u-3.wav")
    assert m.feed(AgentDisconnected(), 200)[0] == StopRecording("/rec/sales/u-3.wav")


def test_a_caller_who_opted_out_is_not_recorded_after_a_transfer():
    m = bridged_after_the_notice(digits="9")
    assert m.recording is None
    for queue, agent in (("billing", "1002"), ("recorded", "1003")):  # the line's recording, then the queue's
        m.feed(Transferred(queue, {}), 60)
        assert m.state == "queued"
        connected = m.feed(AgentConnected(agent), 90)
        assert m.outcome == ("answered", agent)
        assert not any(isinstance(c, StartRecording) for c in connected)


def test_a_caller_transferred_into_a_recorded_queue_hears_its_notice_once_with_the_transfer_prompt():
    m = call("7001")
    m.feed(AgentConnected("1001"), 20)
    out = m.feed(Transferred("recorded", {}), 60)
    assert [c for c in out if isinstance(c, Play)] == [Play(2, (TRANSFER, NOTICE, *OPT_OUT_9)), Play(3, STREAM)]
    assert m.state == "queued"
    assert m.feed(AgentConnected("1002"), 90)[-1] == StartRecording("/rec/q/u.wav")


def test_an_exit_key_keyed_during_the_notice_leaves_for_its_destination():
    m = call()
    assert m.feed(MediaDone(1, digits="0"), 2) == [Transfer("operator", "XML", "default")]
    assert (m.exit_key, m.outcome) == ("0", ("transfer", "operator"))
