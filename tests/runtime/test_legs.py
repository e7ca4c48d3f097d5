"""Originate commands, spoken text and the leg events a runtime waits on."""

import gevent

from fsrouter.esl.codec import Event
from fsrouter.esl.inbound import subscription
from fsrouter.runtime.legs import Legs, originate_command, playback, speak


def test_without_a_greeting_the_leg_just_parks():
    command = originate_command({"origination_uuid": "u1", "empty": ""}, "user/1001")
    assert command == "originate {origination_uuid=u1}user/1001 &park()"


def test_a_greeting_runs_inline_before_park():
    command = originate_command({"origination_uuid": "u1"}, "sofia/gateway/carrier/+306971234567",
                                [playback("/s/en/callback/intro.wav")])
    assert command == ("originate {origination_uuid=u1}sofia/gateway/carrier/+306971234567 "
                       "'playback:/s/en/callback/intro.wav,park' inline")


def test_values_cannot_break_out_of_the_variable_block():
    command = originate_command({"fsrouter_topic": "a,b=c}d'e f"}, "user/1001")
    assert command == "originate {fsrouter_topic=abcdef}user/1001 &park()"


def test_spoken_text_cannot_end_the_application_or_the_argument():
    assert speak("flite|kal", "Acme, billing | 'VIP'\n, waited 2 minutes") == \
        "speak:flite|kal|Acme; billing VIP ; waited 2 minutes"


def test_a_leg_parks_or_hangs_up_and_the_waiter_learns_which():
    legs = Legs()
    parked, gone, silent = legs.watch("a"), legs.watch("b"), legs.watch("c")
    gevent.spawn_later(0.01, legs.on_event, Event({"Event-Name": "CHANNEL_PARK", "Unique-ID": "a"}))
    gevent.spawn_later(0.01, legs.on_event, Event(
        {"Event-Name": "CHANNEL_HANGUP_COMPLETE", "Unique-ID": "b", "Hangup-Cause": "USER_BUSY"}))
    assert parked.wait_parked(1) == "parked"
    assert gone.wait_parked(1) == "hangup" and gone.hung_up.get() == "USER_BUSY"
    assert silent.wait_parked(0.02) == "timeout"
    assert legs.on_event(Event({"Event-Name": "CHANNEL_PARK", "Unique-ID": "other"})) is False


def test_custom_subclasses_are_subscribed_last():
    assert subscription(["CHANNEL_PARK", "CUSTOM", "sofia::register", "sofia::expire", "BACKGROUND_JOB"]) == (
        "CHANNEL_PARK", "BACKGROUND_JOB", "CUSTOM", "sofia::register", "sofia::expire")
    assert subscription(["CHANNEL_PARK", "BACKGROUND_JOB", "CHANNEL_PARK"]) == ("CHANNEL_PARK", "BACKGROUND_JOB")
