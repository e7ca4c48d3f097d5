"""After the bridge, in the call machine: the post-call survey when the agent
hangs up first, and a transfer putting the caller in line again with their
context.  Events in, commands out, the time passed in by hand."""

from __future__ import annotations

from fsrouter.flow import CallMachine
from fsrouter.flow.commands import (
    CancelTimer, Collect, Hangup, Play, RecordSurvey, SetVariable, StartTimer,
)
from fsrouter.flow.events import (
    AgentConnected, AgentDisconnected, CallerHungUp, MediaDone, TimerFired, Transferred,
)
from fsrouter.rules import compile_source

RULES = """
settings: {timezone: UTC, language: en}
lines: {"7000": {flow: wait}}
flows:
  wait:
    - queue: sales
queues:
  sales:
    max_wait: {after: 10m, then: {hangup: }}
    transfer: {codes: {"1": {queue: billing, reason: billing dispute}}}
    survey: {prompt: survey/rate, second: survey/resolved, keys: "12345", thanks: survey/thanks}
  billing:
    announce: {position: {first: 15s, every: 45s}}
    max_wait: {after: 5m, then: {hangup: }}
"""
PLAN = compile_source(RULES)
RATE, RESOLVED, THANKS = "en/survey/rate.wav", "en/survey/resolved.wav", "en/survey/thanks.wav"


def ask(command_id: int, sound: str) -> Collect:
    return Collect(command_id, (sound,), max_digits=1, timeout_ms=6000, terminators="none")


def connected(rules: str = RULES) -> CallMachine:
    """A caller bridged to agent 1001 (command id 1 used by the hold music)."""
    m = CallMachine(compile_source(rules), {"destination_number": "7000", "uuid": "u"}, now=0)
    assert m.start(0)[-1] == Play(1, ("local_stream://moh",))
    m.feed(AgentConnected("1001"), 20)
    assert m.state == "connected"
    return m


def test_the_agent_hanging_up_first_starts_the_survey_and_the_scores_are_recorded():
    m = connected()
    assert m.feed(AgentDisconnected(), 100) == [ask(2, RATE)]
    assert m.state == "survey"  # out of the queue: the agent wraps up meanwhile
    assert m.feed(MediaDone(2, digits="4"), 105) == [ask(3, RESOLVED)]
    assert m.feed(MediaDone(3, digits="1"), 108) == [
        RecordSurvey("sales", "1001", ((1, 4), (2, 1))), Play(4, (THANKS,))]
    assert m.feed(MediaDone(4), 110) == [Hangup("NORMAL_CLEARING")]
    assert (m.finished, m.outcome) == (True, ("answered", "1001"))


def test_a_wrong_key_or_none_is_asked_again_once_then_the_question_is_left():
    m = connected()
    m.feed(AgentDisconnected(), 100)
    assert m.feed(MediaDone(2, digits="9"), 104) == [ask(3, RATE)]  # not a score: again
    assert m.feed(MediaDone(3, digits=""), 110) == [ask(4, RESOLVED)]  # again nothing: on to the next
    assert m.feed(MediaDone(4, digits="7"), 114) == [ask(5, RESOLVED)]
    assert m.feed(MediaDone(5, digits="2"), 116) == [RecordSurvey("sales", "1001", ((2, 2),)), Play(6, (THANKS,))]


def test_nothing_keyed_records_nothing():
    m = connected(RULES.replace(", second: survey/resolved", "").replace(", thanks: survey/thanks", ""))
    m.feed(AgentDisconnected(), 100)
    m.feed(MediaDone(2, digits=""), 106)
    assert m.feed(MediaDone(3, digits="#"), 112) == [Hangup("NORMAL_CLEARING")]
    assert m.finished


def test_a_caller_hanging_up_mid_survey_keeps_what_they_answered():
    m = connected()
    m.feed(AgentDisconnected(), 100)
    m.feed(MediaDone(2, digits="5"), 103)
    assert m.feed(CallerHungUp(), 104) == [RecordSurvey("sales", "1001", ((1, 5),))]
    assert m.finished


def test_a_caller_hanging_up_first_is_not_surveyed():
    m = connected()
    assert m.feed(CallerHungUp(), 100) == []
    assert m.feed(AgentDisconnected(), 100) == []
    assert (m.finished, m.outcome) == (True, ("answered", "1001"))


def test_no_survey_in_the_queue_means_a_plain_hangup():
    m = connected(RULES.replace("    survey: {prompt: survey/rate, second: survey/resolved, keys: \"12345\", "
                                "thanks: survey/thanks}\n", ""))
    assert m.feed(AgentDisconnected(), 100) == [Hangup("NORMAL_CLEARING")]


def test_a_transfer_puts_the_caller_in_the_new_queue_with_their_context():
    m = connected()
    context = {"transfer_from": "Becky", "transfer_note": "billing dispute", "transfers": "1"}
    assert m.feed(Transferred("billing", context), 60) == [
        SetVariable("fsrouter_transfer_from", "Becky"), SetVariable("fsrouter_transfer_note", "billing dispute"),
        SetVariable("fsrouter_transfers", "1"),
        Play(2, ("en/queue/transfer.wav",)),
        StartTimer("queue_max_wait", 300.0), StartTimer("queue_announce", 15.0),
        Play(3, ("local_stream://moh",)),
    ]
    assert (m.state, m.outcome) == ("queued", ("queue", "billing"))
    assert m.variables["transfer_note"] == "billing dispute"
    assert m.feed(MediaDone(2), 63) == []  # the prompt: the music is already queued behind it
    assert m.feed(MediaDone(3), 70) == [Play(4, ("local_stream://moh",))]
    # The next agent answers; billing has no survey: their hanging up ends the call.
    assert m.feed(AgentConnected("1002"), 90) == [CancelTimer("queue_max_wait"), CancelTimer("queue_announce")]
    assert m.feed(AgentDisconnected(), 200) == [Hangup("NORMAL_CLEARING")]
    assert m.outcome == ("answered", "1002")


def test_a_transferred_caller_still_has_a_max_wait():
    m = connected()
    m.feed(Transferred("billing", {}), 60)
    assert m.feed(TimerFired("queue_max_wait"), 360)[-1] == Hangup("NORMAL_CLEARING")


def test_a_transfer_to_a_queue_this_calls_rules_lack_ends_the_call():
    m = connected()
    assert m.feed(Transferred("added_by_a_reload", {}), 60) == [Hangup("NORMAL_CLEARING")]
    assert m.finished
