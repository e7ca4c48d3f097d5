"""The simulator's pure parts: event selection, media lengths, FreeSWITCH's argument parsing."""

from __future__ import annotations

import math
import struct

import pytest
from sim_helpers import write_wav

from fsrouter.sim.clock import SimClock
from fsrouter.sim.events import EventFactory, SimEvent, Subscription, SwitchIdentity
from fsrouter.sim.fsutil import atoi, hangup_cause, switch_true
from fsrouter.sim.media import SoundNotFound, open_sounds, tone_seconds
from fsrouter.sim.wav import WavError, wav_duration


def event(name: str, **headers: str) -> SimEvent:
    return SimEvent(name, (("Event-Name", name), *((k.replace("_", "-"), v) for k, v in headers.items())))


def test_subscription_follows_mod_event_socket():
    sub = Subscription()
    assert not sub.wants(event("DTMF"))
    assert sub.subscribe(["plain", "ALL"]) == 1 and sub.wants(event("HEARTBEAT"))
    assert sub.unsubscribe(["HEARTBEAT"]) == 1  # nixing one name out of ALL keeps the others
    assert not sub.wants(event("HEARTBEAT")) and sub.wants(event("DTMF"))
    assert sub.subscribe(["json", "bogus"]) == 0 and sub.format == "json"

    custom = Subscription()
    assert custom.subscribe(["CUSTOM", "callcenter::info", "DTMF"]) == 1  # words after CUSTOM are subclasses
    assert custom.wants(event("CUSTOM", Event_Subclass="callcenter::info"))
    assert not custom.wants(event("CUSTOM", Event_Subclass="sofia::register"))
    assert not custom.wants(event("DTMF"))

    mine = Subscription()
    mine.myevents("u1")
    assert mine.wants(event("CHANNEL_ANSWER", Unique_ID="u1"))
    assert not mine.wants(event("CHANNEL_ANSWER", Unique_ID="u2"))
    assert not mine.wants(event("CHANNEL_CALLSTATE", Unique_ID="u1"))  # not on the myevents list
    assert not mine.wants(event("API"))


def test_filters_admit_and_reject():
    sub = Subscription()
    sub.subscribe(["ALL"])
    sub.add_filter("Event-Name", "CHANNEL_HANGUP")
    sub.add_filter("Unique-ID", "-u2")
    assert sub.wants(event("CHANNEL_HANGUP", Unique_ID="u1"))
    assert not sub.wants(event("CHANNEL_HANGUP", Unique_ID="u2"))
    assert not sub.wants(event("DTMF", Unique_ID="u1"))
    sub.add_filter("Application", "/^play/")
    assert sub.wants(event("CHANNEL_EXECUTE", Application="playback"))
    sub.delete_filter("all", None)
    assert sub.wants(event("DTMF"))


def test_filters_are_regexes_only_when_their_value_starts_with_a_slash():
    """As mod_event_socket.c tests ``*hp->value == '/'`` before skipping the
    sign: ``-/u2/`` compares the literal "/u2/"; ``/^PLAY/i`` ignores case."""
    sub = Subscription()
    sub.subscribe(["ALL"])
    sub.add_filter("Event-Name", "/^CHANNEL_(EXECUTE|HANGUP)$/")
    sub.add_filter("Unique-ID", "-/u2/")
    assert sub.wants(event("CHANNEL_HANGUP", Unique_ID="u2"))  # "/u2/" is not "u2"
    assert not sub.wants(event("CHANNEL_HANGUP_COMPLETE", Unique_ID="u1"))
    sub.add_filter("Unique-ID", "-u2")
    assert not sub.wants(event("CHANNEL_HANGUP", Unique_ID="u2"))
    folded = Subscription()
    folded.subscribe(["ALL"])
    folded.add_filter("Application", "/^PLAY/i")
    folded.add_filter("Application-Data", "/unclosed")
    assert folded.wants(event("CHANNEL_EXECUTE", Application="playback", Application_Data="unclosed"))
    assert not folded.wants(event("CHANNEL_EXECUTE", Application="set", Application_Data="unclosed"))


def test_event_factory_stamps_core_headers_and_sequence():
    clock = SimClock(time_scale=0.01, epoch=1_795_343_286.0)
    factory = EventFactory(SwitchIdentity(hostname="sim", core_uuid="core"), clock, first_sequence=500)
    first, second = factory.create("DTMF", [("DTMF-Digit", "1"), ("Skipped", None)]), factory.create("API", [])
    assert [k for k, _ in first.headers][:13] == [
        "Event-Name", "Core-UUID", "FreeSWITCH-Hostname", "FreeSWITCH-Switchname", "FreeSWITCH-IPv4",
        "FreeSWITCH-IPv6", "Event-Date-Local", "Event-Date-GMT", "Event-Date-Timestamp",
        "Event-Calling-File", "Event-Calling-Function", "Event-Calling-Line-Number", "Event-Sequence"]
    assert first.headers[-1] == ("DTMF-Digit", "1") and first.get("skipped") is None
    assert (first.get("event-sequence"), second.get("Event-Sequence")) == ("500", "501")
    assert first.get("Event-Calling-Function") == "switch_channel_dequeue_dtmf"
    assert first.get("Event-Date-GMT").endswith(" GMT")


def test_media_lengths(tmp_path):
    assert tone_seconds("%(200,100,440);loops=3") == pytest.approx(0.9)
    assert tone_seconds("v=-7;%(1000,0,350,440);%(500,500,480)") == pytest.approx(2.0)
    assert tone_seconds("%(200,100,440);loops=-1") == math.inf
    assert open_sounds("silence_stream://2500")[0].seconds == 2.5
    assert open_sounds("silence_stream://-1")[0].seconds == math.inf
    write_wav(tmp_path / "en/ivr/8000/x.wav", 1.25)
    [sound] = open_sounds("en/ivr/x.wav", sounds_dir=str(tmp_path))
    assert sound.path == f"{tmp_path}/en/ivr/8000/x.wav" and sound.seconds == pytest.approx(1.25)
    for missing in ("en/ivr/y.wav", "say:hello", "file_string://a.wav!b.wav"):
        with pytest.raises(SoundNotFound):
            open_sounds(missing, sounds_dir=str(tmp_path))


def test_a_local_stream_plays_until_broken_and_an_unknown_one_falls_back_to_default():
    [moh] = open_sounds("local_stream://moh")  # moh/8000 in the vanilla local_stream.conf.xml
    assert moh.seconds == math.inf and moh.path is None
    assert open_sounds("local_stream://jazz")[0].seconds == math.inf  # "Unknown source jazz, trying 'default'"
    with pytest.raises(SoundNotFound):
        open_sounds("local_stream://jazz", streams=frozenset({"moh/8000"}))
    assert open_sounds("local_stream://jazz", streams=frozenset({"jazz"}))[0].seconds == math.inf


def test_wav_duration_reads_the_header_even_of_streamed_files(tmp_path):
    path = write_wav(tmp_path / "a.wav", 0.5, rate=16000)
    assert wav_duration(path) == pytest.approx(0.5)
    data = bytearray(path.read_bytes())
    data[40:44] = struct.pack("<I", 0xFFFFFFFF)  # a size a streaming writer never filled in
    path.write_bytes(bytes(data))
    assert wav_duration(path) == pytest.approx(0.5)
    (tmp_path / "b.wav").write_bytes(b"ID3 not a wav at all")
    with pytest.raises(WavError):
        wav_duration(tmp_path / "b.wav")


def test_freeswitch_argument_parsing():
    assert (atoi("42abc"), atoi(" -3"), atoi("x"), atoi(None)) == (42, -3, 0, 0)
    assert switch_true("TRUE") and switch_true("on") and switch_true("2") and not switch_true("false")
    assert hangup_cause("user_busy") == "USER_BUSY" and hangup_cause("17") == "USER_BUSY"
    assert hangup_cause("NOT_A_CAUSE") == "NORMAL_CLEARING"
