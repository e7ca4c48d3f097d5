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


def test_a_callback_offer_comes_before_the_thanks_even_alone():
    assert announcement(QueueStatus(3), SETTINGS, say_wait=False, offer_callback=True) == (
        "queue/you_are_caller", "numbers/3", "callback/offer", "queue/thank_you")
    assert announcement(QueueStatus(9), SETTINGS, say_wait=False, offer_callback=True) == (
        "callback/offer", "queue/thank_you")


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
