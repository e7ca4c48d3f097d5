"""The call machine alone: events in, commands out, time passed in by hand.
No sockets, no clock, no sleeping; each test runs in microseconds."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fsrouter.flow import CallMachine, FlowError
from fsrouter.flow.commands import (
    Answer, CancelTimer, Collect, Hangup, Play, SetVariable, StartTimer, StopMedia, Transfer,
)
from fsrouter.flow.events import (
    AgentConnected, CallbackBooked, CallbackNotBooked, CallerHungUp, CommandFailed, DigitPressed, MediaDone,
    QueueStatus, QueueUnavailable, TimerFired,
)
from fsrouter.rules import compile_rules, compile_source

ROOT = Path(__file__).parents[2]
ATHENS = ZoneInfo("Europe/Athens")
T0 = datetime(2026, 6, 3, 10, 0, tzinfo=ATHENS).timestamp()  # a Wednesday, open


@pytest.fixture(scope="module")
def e2e():
    return compile_rules(ROOT / "tests" / "rules" / "good" / "e2e.yaml")


@pytest.fixture(scope="module")
def example():
    return compile_rules(ROOT / "config")


def call(plan, number="5000", now=T0, **kwargs) -> CallMachine:
    channel = {
        "destination_number": number, "caller_id_number": "+306912345678",
        "caller_id_name": "Maria", "uuid": "c0ffee",
    }
    return CallMachine(plan, channel, now=now, **kwargs)


def menu(command_id: int, sound="en/menu/main.wav", **kwargs) -> Collect:
    return Collect(command_id, (sound,), **kwargs)


def answered(m: CallMachine) -> list:
    """Start the call and finish the greeting; returns the menu's commands."""
    first = m.start(T0)
    assert first[0] == Answer()
    return m.feed(MediaDone(first[-1].command_id), T0)


def test_greeting_menu_wrong_key_reprompt_right_key_transfer(e2e):
    m = call(e2e)
    assert m.start(T0) == [
        Answer(), SetVariable("fsrouter_brand", "acme"), SetVariable("fsrouter_language", "en"),
        Play(1, ("en/greeting/acme.wav",)),
    ]
    assert m.state == "main.1"
    assert m.feed(MediaDone(1), T0 + 3) == [menu(2)]
    assert m.feed(MediaDone(2, digits="9"), T0 + 5) == [Play(3, ("en/ivr/invalid.wav",))]
    assert m.state == "main.2/invalid"
    assert m.feed(MediaDone(3), T0 + 6) == [menu(4)]
    assert m.feed(MediaDone(4, digits="2"), T0 + 8) == [Transfer("1002")]
    assert (m.finished, m.state, m.outcome) == (True, "finished", ("transfer", "1002"))


def test_too_many_wrong_keys_go_to_the_operator(e2e):
    m = call(e2e)
    answered(m)
    assert m.feed(MediaDone(2, digits="7"), T0) == [Play(3, ("en/ivr/invalid.wav",))]
    assert m.feed(MediaDone(3), T0) == [menu(4)]
    assert m.feed(MediaDone(4, digits="8"), T0) == [Play(5, ("en/ivr/invalid.wav",))]
    assert m.feed(MediaDone(5), T0) == [menu(6)]
    assert m.feed(MediaDone(6, digits="9"), T0) == [Transfer("operator")]
    assert m.outcome == ("transfer", "operator")


def test_timeouts_reprompt_then_hang_up(e2e):
    m = call(e2e)
    answered(m)
    assert m.feed(MediaDone(2, digits=""), T0) == [Play(3, ("en/ivr/no_input.wav",))]
    assert m.feed(MediaDone(3), T0) == [menu(4)]
    assert m.feed(MediaDone(4, digits=""), T0) == [Hangup("NORMAL_CLEARING")]
    assert (m.finished, m.outcome) == (True, ("hangup", "NORMAL_CLEARING"))


def test_wrong_keys_and_timeouts_are_counted_apart(e2e):
    m = call(e2e)
    answered(m)
    m.feed(MediaDone(2, digits=""), T0)  # timeout 1 of 1 allowed retry
    m.feed(MediaDone(3), T0)
    assert m.feed(MediaDone(4, digits="5"), T0) == [Play(5, ("en/ivr/invalid.wav",))]
    m.feed(MediaDone(5), T0)
    assert m.feed(MediaDone(6, digits=""), T0) == [Hangup("NORMAL_CLEARING")]


@pytest.mark.parametrize("garbage", ["A", "D", "99", "#", "*", "1#", "x", "\x00", "１"])
def test_garbage_keys_are_reprompted(e2e, garbage):
    m = call(e2e)
    answered(m)
    assert m.feed(MediaDone(2, digits=garbage), T0) == [Play(3, ("en/ivr/invalid.wav",))]
    assert not m.finished


def test_caller_hangs_up_mid_menu(e2e):
    m = call(e2e)
    answered(m)
    assert m.feed(CallerHungUp("NORMAL_CLEARING"), T0) == []
    assert (m.finished, m.outcome) == (True, ("caller_hangup", "NORMAL_CLEARING"))
    assert m.feed(MediaDone(2, digits="1"), T0) == []
    assert m.feed(CallerHungUp(), T0) == []


def test_a_prompt_that_fails_is_skipped(e2e):
    m = call(e2e)
    m.start(T0)
    assert m.feed(CommandFailed(1, "file not found"), T0) == [menu(2)]


def test_a_menu_that_fails_counts_as_a_timeout(e2e):
    m = call(e2e)
    answered(m)
    assert m.feed(CommandFailed(2, "-ERR"), T0) == [Play(3, ("en/ivr/no_input.wav",))]


def test_stale_and_unrelated_events_are_ignored(e2e):
    m = call(e2e)
    answered(m)
    for event in (MediaDone(1), MediaDone(99, digits="1"), CommandFailed(7, "x"), TimerFired("t")):
        assert m.feed(event, T0) == []
    assert m.state == "main.2"


def test_queued_caller_hears_hold_music_until_max_wait_then_its_destination(e2e):
    m = call(e2e, "5001")
    m.start(T0)
    assert m.feed(MediaDone(1), T0) == [StartTimer("queue_max_wait", 2.0),
                                        Play(2, ("en/queue/hold_music.wav",))]
    assert (m.finished, m.state, m.outcome) == (False, "queued", ("queue", "support"))
    assert m.feed(MediaDone(2), T0 + 1) == [Play(3, ("en/queue/hold_music.wav",))]  # looped
    assert m.feed(MediaDone(2), T0 + 1) == []  # a stale completion changes nothing
    assert m.feed(TimerFired("queue_max_wait"), T0 + 2) == [
        CancelTimer("queue_announce"), StopMedia(), Play(4, ("en/queue/max_wait.wav",))]
    assert m.feed(MediaDone(3, interrupted=True), T0 + 2) == []  # the broken-off hold music
    assert m.feed(MediaDone(4), T0 + 3) == [Transfer("operator")]
    assert (m.finished, m.outcome) == (True, ("transfer", "operator"))


def test_caller_hanging_up_in_the_queue_ends_the_machine(e2e):
    m = call(e2e, "5001")
    m.start(T0)
    m.feed(MediaDone(1), T0)
    assert m.feed(CallerHungUp("ORIGINATOR_CANCEL"), T0) == []
    assert (m.finished, m.outcome) == (True, ("queue", "support"))
    assert m.feed(TimerFired("queue_max_wait"), T0 + 2) == []


def test_a_call_nothing_routes_is_refused(e2e):
    m = call(e2e, "999")
    assert m.start(T0) == [Hangup("UNALLOCATED_NUMBER")]
    assert (m.finished, m.outcome) == (True, ("hangup", "UNALLOCATED_NUMBER"))


def test_misuse_is_a_local_error(e2e):
    m = call(e2e)
    with pytest.raises(FlowError):
        m.feed(MediaDone(1), T0)
    m.start(T0)
    with pytest.raises(FlowError):
        m.start(T0)


def test_variables_are_read_only_and_set_steps_export(example):
    m = call(example)
    answered(m)
    assert m.feed(MediaDone(2, digits="1"), T0)[0] == SetVariable("fsrouter_topic", "billing")
    assert m.outcome == ("queue", "billing")
    assert m.variables["topic"] == "billing"
    assert m.variables["caller_id_name"] == "Maria"
    with pytest.raises(TypeError):
        m.variables["topic"] = "x"  # type: ignore[index]


def test_submenu_and_back_key(example):
    m = call(example)
    answered(m)
    assert m.feed(MediaDone(2, digits="2"), T0) == [
        SetVariable("fsrouter_topic", "technical"), menu(3, "en/menu/tech.wav"),
    ]
    assert m.feed(MediaDone(3, digits="*"), T0) == [menu(4)]
    assert m.state == "main_menu"


def test_a_supervisor_notice_plays_only_when_on(example):
    quiet = call(example)
    assert answered(quiet) == [menu(2)]
    noisy = call(example, notices=lambda key, now: {"line:5000": "notices/outage"}.get(key))
    assert answered(noisy) == [Play(2, ("en/notices/outage.wav",))]
    assert noisy.feed(MediaDone(2), T0) == [menu(3)]


def test_language_and_brand_come_from_the_line(example):
    m = call(example, "+302101234567")
    assert m.start(T0)[-1] == Play(1, ("el/greeting/acme.wav",))


def test_conditions_read_the_time_given_to_feed():
    plan = compile_source("""
settings: {timezone: Europe/Athens}
lines: {"1": {flow: main}}
flows:
  main:
    - play: ivr/transfer
    - if: {hours: "08:00-18:00"}
      then: {transfer: day}
      else: {transfer: night}
""")
    day, night = call(plan, "1"), call(plan, "1")
    day.start(T0)
    night.start(T0)
    assert day.feed(MediaDone(1), T0) == [Transfer("day")]
    assert night.feed(MediaDone(1), T0 + 9 * 3600) == [Transfer("night")]


def test_multi_digit_menus_with_hash_key():
    plan = compile_source("""
lines: {"1": {flow: main}}
flows:
  main:
    - menu:
        prompt: menu/main
        options: {"10": {transfer: ten}, "#": {transfer: hash}, "0": {transfer: operator}}
        timeout: 8s
        default: {transfer: operator}
""")
    m = call(plan, "1")
    assert m.start(T0)[-1] == menu(1, max_digits=2, terminators="", timeout_ms=8000)
    assert m.feed(MediaDone(1, digits="10"), T0) == [Transfer("ten")]


def test_unsafe_values_never_reach_a_sound_path():
    plan = compile_source("""
lines: {"1": {flow: main}}
flows:
  main:
    - set: {brand: "{caller_id_name}"}
    - play: greeting/{brand}
    - transfer: operator
""")
    evil = CallMachine(plan, {"destination_number": "1", "caller_id_name": "../../etc"}, now=T0)
    assert evil.start(T0)[-2:] == [SetVariable("fsrouter_brand", "../../etc"), Transfer("operator")]


def test_a_loop_whose_prompts_render_to_nothing_is_cut_short():
    plan = compile_source("""
lines: {"1": {flow: main}}
flows:
  main:
    - id: again
      play: "ivr/{nothing}"
    - if: {vars: {stop: "yes"}, then: {hangup: NORMAL_CLEARING}}
    - goto: again
""")
    m = call(plan, "1")
    assert m.start(T0)[-1] == Hangup("NORMAL_TEMPORARY_FAILURE")
    assert m.finished


EVENTS = st.one_of(
    st.builds(MediaDone, st.integers(0, 12), st.text("0123456789*#AD", max_size=3), st.booleans()),
    st.builds(CommandFailed, st.integers(0, 12), st.just("-ERR")),
    st.builds(TimerFired, st.sampled_from(["a", "queue_announce", "queue_max_wait"])),
    st.builds(CallerHungUp),
    st.builds(QueueStatus, st.integers(1, 30), st.just("minutes"), st.integers(1, 9), st.booleans()),
    st.builds(DigitPressed, st.sampled_from(["1", "2", "#"])),
    st.builds(CallbackBooked, st.just("9")),
    st.builds(CallbackNotBooked, st.just("down")),
    st.builds(AgentConnected, st.just("1001")),
    st.builds(QueueUnavailable),
)


@settings(max_examples=400, deadline=None)
@given(number=st.sampled_from(["5000", "+302101234567", "+441234567890", "none"]), events=st.lists(EVENTS, max_size=25))
def test_any_event_sequence_is_safe(example, number, events):
    m = call(example, number)
    m.start(T0)
    hung_up = False
    for event in events:
        out = m.feed(event, T0)
        if hung_up:
            assert out == []
        hung_up = hung_up or isinstance(event, CallerHungUp)
    assert m.finished or not hung_up
