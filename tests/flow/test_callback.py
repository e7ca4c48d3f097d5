"""The callback offer and dialog in the call machine: events in, commands
out, the time passed in by hand.  The caller keeps their place in line
throughout, and hears "booked" only after the booking is committed."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fsrouter.flow import CallMachine
from fsrouter.flow.callback import offer_due
from fsrouter.flow.commands import (
    BookCallback, CancelTimer, Collect, Hangup, Play, QueryQueue, StartTimer, StopMedia, Transfer,
)
from fsrouter.flow.events import (
    AgentConnected, CallbackBooked, CallbackNotBooked, CallerHungUp, CommandFailed, DigitPressed, MediaDone,
    QueueStatus, QueueUnavailable, TimerFired,
)
from fsrouter.rules import analyse_source, compile_source

RULES = """
settings: {timezone: UTC, language: en}
lines: {"7000": {flow: wait}}
flows:
  wait:
    - queue: q
queues:
  q:
    announce: {position: {first: 15s, every: 45s}}
    callback:
      offer_when: {wait_over: 3m, position_over: 5}
      allow: {regions: [GR], types: [mobile, fixed_line]}
    max_wait: {after: 10m, then: {transfer: operator}}
"""
PLAN = compile_source(RULES)
CALLBACK = PLAN.queues["q"].callback
OWN = "+306912345678"
HOLD = ("local_stream://moh",)
ENTER = ("en/callback/enter_number.wav",)


def readback(digits: str) -> tuple[str, ...]:
    return ("en/callback/confirm_number.wav", *(f"en/numbers/{d}.wav" for d in digits),
            "en/callback/confirm_keys.wav")


def confirm(command_id: int, digits: str = "6912345678") -> Collect:
    return Collect(command_id, readback(digits))


def enter(command_id: int) -> Collect:
    return Collect(command_id, ENTER, max_digits=16, timeout_ms=15000, digit_timeout_ms=5000)


def offered(caller_id: str = OWN) -> CallMachine:
    """A queued caller who has just heard the offer (command ids 1 and 2 used)."""
    m = CallMachine(PLAN, {"destination_number": "7000", "caller_id_number": caller_id, "uuid": "u"}, now=0)
    assert m.start(0)[-1] == Play(1, HOLD)
    assert m.feed(TimerFired("queue_announce"), 15) == [QueryQueue()]
    said = m.feed(QueueStatus(7, "minutes", 4), 15)
    assert said == [StartTimer("queue_announce", 45.0), StopMedia(), Play(2, (
        "en/queue/you_are_caller.wav", "en/numbers/7.wav", "en/callback/offer.wav", "en/keys/press.wav",
        "en/numbers/1.wav", "en/callback/keep_place.wav", "en/queue/thank_you.wav"))]
    return m


def test_offer_only_when_staffed_and_the_wait_or_the_line_is_long():
    assert offer_due(CALLBACK, QueueStatus(6))
    assert offer_due(CALLBACK, QueueStatus(2, "minutes", 4))
    assert not offer_due(CALLBACK, QueueStatus(5, "minutes", 3))
    assert not offer_due(CALLBACK, QueueStatus(2))
    assert not offer_due(CALLBACK, QueueStatus(9, "more_than", 30, staffed=False))


def test_no_offer_while_the_callback_window_is_closed():
    night = compile_source(RULES.replace("      allow:", '      window: {hours: "08:00-20:00"}\n      allow:'))
    m = CallMachine(night, {"destination_number": "7000", "caller_id_number": OWN, "uuid": "u"}, now=0)
    m.start(0)  # 1970-01-01 00:00 UTC: closed
    m.feed(TimerFired("queue_announce"), 15)
    said = m.feed(QueueStatus(7, "minutes", 4), 15)
    assert "en/callback/offer.wav" not in said[-1].sounds
    assert not offer_due(CALLBACK, QueueStatus(7, "minutes", 4), window_open=False)


def test_keys_before_any_offer_or_other_keys_are_ignored():
    m = CallMachine(PLAN, {"destination_number": "7000", "caller_id_number": OWN}, now=0)
    m.start(0)
    m.feed(TimerFired("queue_announce"), 15)
    assert [c for c in m.feed(QueueStatus(2, "minutes", 3), 15) if isinstance(c, Play)] == [
        Play(2, ("en/queue/you_are_caller.wav", "en/numbers/2.wav", "en/queue/thank_you.wav"))]
    assert m.feed(DigitPressed("1"), 16) == []
    offered_m = offered()
    assert offered_m.feed(DigitPressed("5"), 16) == []
    assert offered_m.feed(DigitPressed("1"), 16) == [StopMedia(), confirm(3)]


def test_own_number_confirmed_is_booked_and_only_then_said_booked():
    m = offered()
    assert m.feed(DigitPressed("1"), 16) == [StopMedia(), confirm(3)]
    assert m.feed(MediaDone(2, interrupted=True), 16) == []  # the broken-off announcement
    assert m.feed(MediaDone(3, digits="1"), 20) == [BookCallback(OWN)]
    assert (m.finished, m.outcome) == (False, ("queue", "q"))  # nothing promised yet
    assert m.feed(CallbackBooked("42"), 20) == [Play(4, ("en/callback/booked.wav",))]
    assert m.feed(MediaDone(4), 25) == [
        CancelTimer("queue_max_wait"), CancelTimer("queue_announce"), Hangup("NORMAL_CLEARING")]
    assert (m.finished, m.outcome) == (True, ("callback", "42"))


def test_another_number_keyed_read_back_and_booked():
    m = offered()
    m.feed(DigitPressed("1"), 16)
    assert m.feed(MediaDone(3, digits="2"), 20) == [enter(4)]
    assert m.feed(MediaDone(4, digits="2101234567"), 30) == [confirm(5, "2101234567")]
    assert m.feed(MediaDone(5, digits="1"), 35) == [BookCallback("+302101234567")]


def test_a_withheld_caller_id_is_asked_for_a_number():
    m = offered(caller_id="anonymous")
    assert m.feed(DigitPressed("1"), 16) == [StopMedia(), enter(3)]


@pytest.mark.parametrize("keyed, prompt", [
    ("9091234567", "en/callback/refused.wav"),  # premium rate
    ("123", "en/callback/invalid_number.wav"),
    ("", "en/callback/invalid_number.wav"),  # nothing keyed
])
def test_a_refused_number_is_answered_with_its_reason_and_asked_again(keyed, prompt):
    m = offered(caller_id="anonymous")
    m.feed(DigitPressed("1"), 16)
    assert m.feed(MediaDone(3, digits=keyed), 30) == [Play(4, (prompt,))]
    assert m.feed(MediaDone(4), 33) == [enter(5)]


def test_three_refusals_give_up_back_to_the_music_with_the_offer_still_open():
    m = offered(caller_id="anonymous")
    m.feed(DigitPressed("1"), 16)
    assert m.feed(MediaDone(3, digits="9091234567"), 30) == [Play(4, ("en/callback/refused.wav",))]
    assert m.feed(MediaDone(4), 31) == [enter(5)]
    assert m.feed(MediaDone(5, digits="9091234567"), 40) == [Play(6, ("en/callback/refused.wav",))]
    assert m.feed(MediaDone(6), 41) == [enter(7)]
    assert m.feed(MediaDone(7, digits="112"), 50) == [Play(8, ("en/callback/refused.wav",))]
    assert m.feed(MediaDone(8), 51) == [Play(9, HOLD)]
    assert (m.finished, m.outcome) == (False, ("queue", "q"))
    assert m.feed(DigitPressed("1"), 60) == [StopMedia(), enter(10)]


def test_no_answer_to_the_confirmation_three_times_gives_up():
    m = offered()
    m.feed(DigitPressed("1"), 16)
    assert m.feed(MediaDone(3, digits=""), 20) == [confirm(4)]
    assert m.feed(MediaDone(4, digits="7"), 25) == [confirm(5)]
    assert m.feed(CommandFailed(5, "-ERR"), 30) == [Play(6, HOLD)]
    assert m.feed(MediaDone(6), 90) == [Play(7, HOLD)]  # looped as ever


def test_a_booking_that_fails_keeps_the_caller_waiting_in_line():
    m = offered()
    m.feed(DigitPressed("1"), 16)
    m.feed(MediaDone(3, digits="1"), 20)
    assert m.feed(CallbackNotBooked("store down"), 20) == [Play(4, HOLD)]
    assert (m.finished, m.outcome) == (False, ("queue", "q"))
    assert m.feed(AgentConnected("1001"), 30) == [CancelTimer("queue_max_wait"), CancelTimer("queue_announce")]
    assert m.outcome == ("answered", "1001")


def test_an_agent_answering_mid_dialog_connects_as_ever():
    m = offered()
    m.feed(DigitPressed("1"), 16)
    assert m.feed(AgentConnected("1001"), 18) == [CancelTimer("queue_max_wait"), CancelTimer("queue_announce")]
    assert m.outcome == ("answered", "1001")
    assert m.feed(MediaDone(3, digits="1"), 18) == []  # the Collect the bridge cut off
    assert m.feed(CallbackBooked("42"), 18) == []


def test_hanging_up_mid_dialog_books_nothing():
    m = offered()
    m.feed(DigitPressed("1"), 16)
    assert m.feed(CallerHungUp("NORMAL_CLEARING"), 18) == []
    assert m.finished
    assert m.feed(MediaDone(3, digits="1"), 18) == []


def test_announcements_wait_for_the_dialog_and_the_max_wait_for_its_end():
    m = offered()
    m.feed(DigitPressed("1"), 16)
    assert m.feed(TimerFired("queue_announce"), 60) == [StartTimer("queue_announce", 45.0)]
    assert m.feed(QueueStatus(3), 60) == [StartTimer("queue_announce", 45.0)]
    assert m.feed(TimerFired("queue_max_wait"), 600) == []
    assert m.feed(MediaDone(3, digits="2"), 601) == [enter(4)]
    assert m.feed(MediaDone(4, digits=""), 620) == [Play(5, ("en/callback/invalid_number.wav",))]
    m.feed(MediaDone(5), 621)
    m.feed(MediaDone(6, digits=""), 640)
    m.feed(MediaDone(7), 641)
    m.feed(MediaDone(8, digits=""), 660)
    assert m.feed(MediaDone(9), 661) == [CancelTimer("queue_announce"), Transfer("operator")]
    assert (m.finished, m.outcome) == (True, ("transfer", "operator"))


def test_a_booking_beats_a_deferred_max_wait():
    m = offered()
    m.feed(DigitPressed("1"), 16)
    m.feed(TimerFired("queue_max_wait"), 600)
    m.feed(MediaDone(3, digits="1"), 601)
    m.feed(CallbackBooked("7"), 601)
    assert m.feed(MediaDone(4), 605)[-1] == Hangup("NORMAL_CLEARING")
    assert m.outcome == ("callback", "7")


DIALOG_EVENTS = st.one_of(
    st.builds(MediaDone, st.integers(1, 14), st.sampled_from(["", "1", "2", "7", "2101234567", "9091234567"])),
    st.builds(CommandFailed, st.integers(1, 14), st.just("-ERR")),
    st.builds(TimerFired, st.sampled_from(["queue_announce", "queue_max_wait"])),
    st.builds(QueueStatus, st.integers(1, 9), st.just("minutes"), st.integers(1, 9), st.booleans()),
    st.builds(DigitPressed, st.sampled_from(["1", "2"])),
    st.builds(CallbackBooked, st.just("42")),
    st.builds(CallbackNotBooked, st.just("down")),
    st.sampled_from([AgentConnected("1001"), QueueUnavailable(), CallerHungUp()]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(DIALOG_EVENTS, max_size=30))
def test_booked_is_said_only_after_the_booking_is_committed(events):
    m = offered()
    committed = False
    for event in events:
        said = [s for c in m.feed(event, 100) if isinstance(c, Play) for s in c.sounds]
        committed = committed or isinstance(event, CallbackBooked)
        assert committed or "en/callback/booked.wav" not in said
    assert m.outcome[0] != "callback" or committed


UK_RULES = RULES.replace('lines: {"7000": {flow: wait}}', """lines:
  "+442071838750": {flow: wait, language: ru}
  "7001": {flow: wait, region: GB}
  "7002": {flow: wait}""").replace("offer_when: {wait_over: 3m, position_over: 5}",
                                 "offer_when: {position_over: 5}\n      region: GR").replace(
    "regions: [GR]", "regions: [GR, GB]")


def _keyed_on(line: str, keyed: str) -> tuple[CallMachine, list]:
    """A withheld caller on `line` takes the offer and keys `keyed`."""
    m = CallMachine(compile_source(UK_RULES), {"destination_number": line, "caller_id_number": "anonymous",
                                               "uuid": "u"}, now=0)
    m.start(0)
    m.feed(TimerFired("queue_announce"), 15)
    m.feed(QueueStatus(7, "minutes", 4), 15)
    m.feed(DigitPressed("1"), 16)
    return m, m.feed(MediaDone(3, digits=keyed), 20)


@pytest.mark.parametrize("line", ["+442071838750", "7001"])
def test_a_national_number_is_read_in_the_lines_country_not_the_queues(line):
    """A UK line (by its own number, or its `region`) of a queue whose region
    is GR: "020 7183 8750" is a London number, read back as such."""
    m, said = _keyed_on(line, "02071838750")
    assert said[0].sounds[0].endswith("callback/confirm_number.wav")
    assert m.feed(MediaDone(4, digits="1"), 25) == [BookCallback("+442071838750")]


def test_without_a_line_country_the_queues_region_reads_the_number():
    m, said = _keyed_on("7002", "2101234567")
    assert m.feed(MediaDone(4, digits="1"), 25) == [BookCallback("+302101234567")]


def test_the_number_is_read_back_digit_by_digit_in_the_calls_language():
    m, said = _keyed_on("+442071838750", "02071838750")
    assert said[0].sounds == ("ru/callback/confirm_number.wav", *(f"ru/numbers/{d}.wav" for d in "02071838750"),
                              "ru/callback/confirm_keys.wav")


def test_a_bad_line_region_is_reported_at_its_line():
    problems = [str(p) for p in analyse_source(UK_RULES.replace("region: GB}", "region: XX}"), "r.yaml").problems]
    assert any(p.startswith("r.yaml:5:") and "bad line region" in p for p in problems), problems
