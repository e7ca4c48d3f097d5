"""Position and wait announcements: what is said, and the machine's timing."""

from __future__ import annotations

from fsrouter.flow import CallMachine
from fsrouter.flow.announce import announcement
from fsrouter.flow.commands import CancelTimer, Play, QueryQueue, StartTimer, StopMedia
from fsrouter.flow.events import AgentConnected, MediaDone, QueueStatus, TimerFired
from fsrouter.rules import compile_source
from fsrouter.rules.plan import AnnounceSettings

SETTINGS = AnnounceSettings(first=15, every=45, up_to=5, wait_every=90)

RULES = """
settings: {timezone: UTC, language: en}
lines: {"7000": {flow: wait}}
flows:
  wait:
    - queue: q
queues:
  q:
    announce: {position: {first: 15s, every: 45s, up_to: 5}, wait: {every: 90s}}
    max_wait: {after: 10m, then: {hangup: NORMAL_CLEARING}}
"""


def test_settings_are_compiled_with_the_queue():
    assert compile_source(RULES).queues["q"].announce == SETTINGS


def test_position_then_wait_wording_then_thanks():
    assert announcement(QueueStatus(3, "minutes", 4), SETTINGS, say_wait=True) == (
        "queue/you_are_caller", "numbers/3", "queue/estimated_wait", "numbers/4", "queue/minutes",
        "queue/thank_you")
    assert announcement(QueueStatus(2, "less_than_a_minute", 1), SETTINGS, say_wait=True)[2:4] == (
        "queue/estimated_wait", "queue/less_than_a_minute")
    assert announcement(QueueStatus(2, "more_than", 30), SETTINGS, say_wait=True)[2:6] == (
        "queue/estimated_wait", "queue/more_than", "numbers/30", "queue/minutes")
    assert announcement(QueueStatus(2, "minutes", 1), SETTINGS, say_wait=True)[4] == "queue/minute"


def test_nothing_beyond_up_to_and_no_wait_without_an_estimate():
    assert announcement(QueueStatus(9, "minutes", 4), SETTINGS, say_wait=False) == ()
    assert announcement(QueueStatus(2), SETTINGS, say_wait=True) == (
        "queue/you_are_caller", "numbers/2", "queue/thank_you")


OFFER = ("callback/offer", "keys/press", "numbers/1", "callback/keep_place")


def test_a_callback_offer_comes_before_the_thanks_even_alone():
    assert announcement(QueueStatus(3), SETTINGS, say_wait=False, offer_callback=True) == (
        "queue/you_are_caller", "numbers/3", *OFFER, "queue/thank_you")
    assert announcement(QueueStatus(9), SETTINGS, say_wait=False, offer_callback=True) == (
        *OFFER, "queue/thank_you")


def test_the_offer_names_the_configured_key():
    """Not "press 1" whatever the key: the queue's `callback.key` is said."""
    said = announcement(QueueStatus(9), SETTINGS, say_wait=False, offer_callback=True, callback_key="7")
    assert said[:4] == ("callback/offer", "keys/press", "numbers/7", "callback/keep_place")
    said = announcement(QueueStatus(9), SETTINGS, say_wait=False, offer_callback=True, callback_key="*",
                        language="hu")
    assert said[1:3] == ("keys/press", "keys/star")


def test_russian_position_five_and_two_minutes():
    assert announcement(QueueStatus(5, "minutes", 2), SETTINGS, say_wait=True, language="ru") == (
        "queue/you_are_caller", "numbers/5", "queue/estimated_wait", "numbers/2f", "queue/minutes_few",
        "queue/thank_you")
    assert announcement(QueueStatus(5, "more_than", 21), SETTINGS, say_wait=True, language="ru")[2:] == (
        "queue/estimated_wait", "queue/more_than", "numbers/20", "numbers/1f", "queue/minute", "queue/thank_you")


def test_arabic_position_two_and_the_dual():
    assert announcement(QueueStatus(2, "minutes", 2), SETTINGS, say_wait=True, language="ar") == (
        "queue/you_are_caller", "numbers/2", "queue/estimated_wait", "queue/minutes_two", "queue/thank_you")


def test_machine_breaks_into_hold_music_on_schedule_and_resumes_it():
    machine = CallMachine(compile_source(RULES), {"destination_number": "7000", "uuid": "u"}, now=0)
    start = machine.start(0)
    assert StartTimer("queue_announce", 15.0) in start
    hold = ("local_stream://moh",)
    assert start[-1] == Play(1, hold)
    assert machine.feed(TimerFired("queue_announce"), 15) == [QueryQueue()]
    said = machine.feed(QueueStatus(3, "minutes", 4), 15)
    assert said[:2] == [StartTimer("queue_announce", 45.0), StopMedia()]
    assert said[2].sounds[:2] == ("en/queue/you_are_caller.wav", "en/numbers/3.wav")
    assert "en/queue/estimated_wait.wav" in said[2].sounds
    assert machine.feed(MediaDone(1, interrupted=True), 15) == []  # the broken-off music
    assert machine.feed(MediaDone(said[2].command_id), 20) == [Play(3, hold)]
    # 45 s later the wait is not repeated (every 90 s), the position is.
    again = machine.feed(QueueStatus(2, "minutes", 3), 60)
    assert "en/queue/estimated_wait.wav" not in again[2].sounds
    assert machine.feed(AgentConnected("1001"), 61) == [
        CancelTimer("queue_max_wait"), CancelTimer("queue_announce")]
    assert machine.outcome == ("answered", "1001")


def test_machine_speaks_the_calls_language_and_names_the_queues_key():
    rules = RULES.replace('lines: {"7000": {flow: wait}}', 'lines: {"7000": {flow: wait, language: ru}}').replace(
        "    max_wait:", '    callback: {key: "3", offer_when: {position_over: 1}, region: GR}\n    max_wait:')
    machine = CallMachine(compile_source(rules), {"destination_number": "7000", "uuid": "u"}, now=0)
    machine.start(0)
    machine.feed(TimerFired("queue_announce"), 15)
    said = machine.feed(QueueStatus(5, "minutes", 2, staffed=True), 15)[2].sounds
    assert said == tuple(f"ru/{p}.wav" for p in (
        "queue/you_are_caller", "numbers/5", "queue/estimated_wait", "numbers/2f", "queue/minutes_few",
        "callback/offer", "keys/press", "numbers/3", "callback/keep_place", "queue/thank_you"))
