"""Codec behaviour beyond the transcripts: hostile input, injection, bodies, encoders."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fsrouter.esl.codec import (
    MAX_BODY_BYTES,
    MAX_HEADER_BYTES,
    ESLProtocolError,
    Event,
    Parser,
    channel_data,
    encode_api_response,
    encode_command,
    encode_event_json,
    encode_event_plain,
    encode_sendmsg,
    parse_event,
    urlencode_value,
)


def frames_of(data: bytes, commands: bool = False):
    parser = Parser(commands=commands)
    parser.feed(data)
    return list(parser.frames())


def event_of(data: bytes) -> Event:
    (frame,) = frames_of(data)
    return parse_event(frame)


def plain_event_bytes(inner: bytes) -> bytes:
    """An event envelope around hand-written inner bytes (as a hostile peer could send)."""
    return b"Content-Length: %d\nContent-Type: text/event-plain\n\n%s" % (len(inner), inner)


# ------------------------------------------------------------------ fuzz


def drain(data: bytes, commands: bool) -> None:
    parser = Parser(commands=commands)
    parser.feed(data)
    for frame in parser.frames():
        if frame.content_type in ("text/event-plain", "text/event-json"):
            event = parse_event(frame)
            list(event.items())
        elif frame.content_type == "command/reply":
            list(channel_data(frame).items())


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400), st.booleans())
def test_arbitrary_bytes_parse_or_raise_the_protocol_error(data, commands):
    try:
        drain(data, commands)
    except ESLProtocolError:
        pass


esl_ish = st.lists(
    st.sampled_from(
        [b"Content-Type: text/event-plain\n", b"Content-Type: text/event-json\n", b"Content-Type: command/reply\n",
         b"Content-Length: 5\n", b"Content-Length: 40\n", b"Content-Length: x\n", b"Event-Name: CUSTOM\n",
         b"Event-Name: %0A\n", b"\n", b"\n\n", b": \n", b"{\"Event-Name\": [1, {}]}", b"[[[[", b"\xff\xfe", b"%",
         b"abc", b"Reply-Text: +OK\n"]
    ),
    max_size=30,
).map(b"".join)


@settings(max_examples=250, deadline=None)
@given(esl_ish, st.booleans())
def test_esl_like_garbage_parses_or_raises_the_protocol_error(data, commands):
    try:
        drain(data, commands)
    except ESLProtocolError:
        pass


safe_text = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40).filter(
    lambda s: not re.search("%[0-9A-F]{2}", s)  # FreeSWITCH leaves valid %XX unencoded (tested below)
)
header_names = st.from_regex(r"[A-Za-z][A-Za-z0-9_-]{0,20}", fullmatch=True).filter(
    lambda n: n.lower() not in ("content-length", "event-name")
)


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(header_names, safe_text, max_size=8), st.binary(max_size=60))
def test_plain_event_round_trips_any_values_and_body(headers, body):
    pairs = [("Event-Name", "CUSTOM"), *headers.items()]
    wire = encode_event_plain(pairs, body)
    for split in (1, len(wire) // 2, len(wire) - 1):
        parser = Parser()
        parser.feed(wire[:split])
        assert parser.next_frame() is None
        parser.feed(wire[split:])
        event = parse_event(parser.next_frame())
        for name, value in pairs:
            assert event.get(name) == value
        assert event.body == body


@settings(max_examples=50, deadline=None)
@given(st.dictionaries(header_names, safe_text, max_size=8), st.binary(max_size=60))
def test_json_event_round_trips(headers, body):
    pairs = [("Event-Name", "CUSTOM"), *headers.items()]
    event = event_of(encode_event_json(pairs, body.decode("utf-8", "replace")))
    for name, value in pairs:
        assert event[name] == value
    assert event.body == body.decode("utf-8", "replace").encode()


# ------------------------------------------------------------------ injection and bodies


def test_encoded_newline_stays_inside_its_value():
    """greenswitch defect 1: a caller's display name must not forge Unique-ID."""
    event = event_of(
        plain_event_bytes(
            b"Event-Name: CUSTOM\nEvent-Subclass: queue%3A%3Anote\nUnique-ID: abc\n"
            b"variable_note: line1%0AUnique-ID%3A%20spoofed\n\n"
        )
    )
    assert event.uuid == "abc"
    assert event["variable_note"] == "line1\nUnique-ID: spoofed"
    assert event.subclass == "queue::note"
    assert [v for k, v in event.items() if k == "Unique-ID"] == ["abc"]


def test_background_job_body_is_kept_apart():
    """greenswitch defect 2: the body of BACKGROUND_JOB is not parsed as headers."""
    result = b"Event-Name: CHANNEL_DATA\nUnique-ID: 11111111-2222\nChannel-State: CS_EXECUTE\n"
    event = event_of(encode_event_plain([("Event-Name", "BACKGROUND_JOB"), ("Job-UUID", "7f4d")], result))
    assert event.name == "BACKGROUND_JOB"
    assert event.uuid is None and "Channel-State" not in event
    assert event.body == result
    assert event["Content-Length"] == str(len(result))


def test_non_utf8_values_and_bodies_do_not_raise():
    wire = plain_event_bytes(b"Event-Name: CUSTOM\nCaller: J\xfcrgen\nEncoded: J%FCrgen\nContent-Length: 3\n\n\xff\xfe\n")
    event = event_of(wire)
    assert event["Caller"] == "J\ufffdrgen" == event["Encoded"]
    assert event.body == b"\xff\xfe\n"
    (frame,) = frames_of(encode_api_response(b"caller J\xfcrgen\n"))
    assert frame.body == b"caller J\xfcrgen\n"


def test_utf8_body_is_sliced_by_bytes_not_characters():
    body = "Καλημέρα Ελένη\n".encode()
    frames = frames_of(encode_api_response(body) * 2)
    assert [f.body for f in frames] == [body, body]


def test_event_built_from_values_behaves_like_a_parsed_one():
    event = Event({"Event-Name": "DTMF", "Unique-ID": "u1", "DTMF-Digit": "5"})
    assert (event.name, event.uuid, event["DTMF-Digit"], "DTMF-Digit" in event) == ("DTMF", "u1", "5", True)
    assert event.get("missing", "d") == "d" and "missing" not in event
    with pytest.raises(KeyError):
        event["missing"]


# ------------------------------------------------------------------ protocol errors


@pytest.mark.parametrize(
    "data",
    [
        b"Content-Type: command/reply\nno colon here\n\n",
        b"Content-Length: 12abc\n\n",
        b"Content-Length: -1\n\n",
        b"Content-Length: %d\n\n" % (MAX_BODY_BYTES + 1),
        b"Content-Length: " + b"9" * 5000 + b"\n\n",  # int() raised ValueError past 4300 digits
        b"Content-Length: 10737418240\n\n",
        b": empty name\n\n",
        b"X-Long: " + b"a" * (MAX_HEADER_BYTES + 1),
        b"X-Long: " + b"a" * (MAX_HEADER_BYTES + 1) + b"\n\n",
    ],
)
def test_malformed_input_raises_the_protocol_error_and_stays_failed(data):
    parser = Parser()
    parser.feed(data)
    with pytest.raises(ESLProtocolError):
        parser.next_frame()
    parser.feed(b"Content-Type: command/reply\nReply-Text: +OK\n\n")
    with pytest.raises(ESLProtocolError):
        parser.next_frame()


def test_body_limit_is_the_parsers_own_and_may_change_between_frames():
    parser = Parser(max_body_bytes=0)
    parser.feed(b"Content-Type: command/reply\nReply-Text: +OK\n\nContent-Length: 3\n\nabc")
    assert parser.next_frame().header("Reply-Text") == "+OK"
    parser.max_body_bytes = 3
    assert parser.next_frame().body == b"abc"
    parser.max_body_bytes = 2
    parser.feed(b"Content-Length: 3\n\nabc")
    with pytest.raises(ESLProtocolError, match="exceeds 2"):
        parser.next_frame()


@pytest.mark.parametrize(
    "inner",
    [
        b"Event-Name: CUSTOM\nContent-Length: 10\n\nshort",
        b"Event-Name: CUSTOM\nContent-Length: ten\n\n",
        b"Unique-ID: no-name\n\n",
    ],
)
def test_malformed_events_raise_the_protocol_error(inner):
    with pytest.raises(ESLProtocolError):
        event_of(plain_event_bytes(inner))


def test_invalid_json_event_raises_the_protocol_error():
    for inner in (b"{not json", b"[1, 2]", b"[" * 100000):
        (frame,) = frames_of(b"Content-Length: %d\nContent-Type: text/event-json\n\n%s" % (len(inner), inner))
        with pytest.raises(ESLProtocolError):
            parse_event(frame)


def test_blank_lines_between_frames_are_ignored_and_partial_input_waits():
    reply = b"Content-Type: command/reply\nReply-Text: +OK\n\n"
    assert len(frames_of(b"\n\n" + reply + b"\n" + reply)) == 2
    parser = Parser()
    parser.feed(reply + b"Content-Type: api/response\nContent-Length: 10\n\n12345")
    assert parser.next_frame().header("reply-text") == "+OK"
    assert parser.next_frame() is None
    parser.feed(b"67890trailing")
    assert parser.next_frame().body == b"1234567890"
    assert parser.next_frame() is None and parser.buffered == len(b"trailing")


# ------------------------------------------------------------------ encoders


def test_urlencode_value_escapes_what_freeswitch_escapes():
    assert urlencode_value("sofia/internal/sipp@127.0.0.1:5070") == "sofia/internal/sipp%40127.0.0.1%3A5070"
    assert urlencode_value("Sun, 22 Nov") == "Sun,%2022%20Nov"
    assert urlencode_value('"a"<b>{c}|d&e+f;g=h\r\n') == "%22a%22%3Cb%3E%7Bc%7D%7Cd%26e%2Bf%3Bg%3Dh%0D%0A"
    assert urlencode_value("tone_stream://%(200,100,440);loops=3") == "tone_stream%3A//%25(200,100,440)%3Bloops%3D3"
    assert urlencode_value("Ελ") == "%CE%95%CE%BB"
    assert urlencode_value("100%41") == "100%41"  # switch_url_encode does not double-encode %XX


def test_empty_value_is_serialized_as_undef_like_freeswitch():
    assert b"variable_x: _undef_\n" in encode_event_plain([("Event-Name", "CUSTOM"), ("variable_x", "")])


def test_encode_sendmsg_uses_freeswitch_header_form():
    assert encode_sendmsg("playback", "/tmp/a.wav", uuid="u1", event_uuid="e1", event_lock=True) == (
        b"sendmsg u1\ncall-command: execute\nexecute-app-name: playback\nexecute-app-arg: /tmp/a.wav\n"
        b"Event-UUID: e1\nevent-lock: true\n\n"
    )
    assert encode_sendmsg("hangup") == b"sendmsg\ncall-command: execute\nexecute-app-name: hangup\n\n"


@pytest.mark.parametrize(
    "call",
    [
        lambda: encode_sendmsg("playback", "a.wav\nexecute-app-name: hangup"),
        lambda: encode_sendmsg("playback\r"),
        lambda: encode_command("api status\n\napi fsctl shutdown"),
        lambda: encode_command("bgapi status", [("Job-UUID", "x\ny")]),
        lambda: encode_command(""),
    ],
)
def test_encoders_refuse_newlines(call):
    with pytest.raises(ValueError):
        call()


def test_encode_command_with_body_round_trips():
    wire = encode_command("sendmsg u1", [("call-command", "execute")], body="Ελένη".encode())
    (frame,) = frames_of(wire, commands=True)
    assert frame.command == "sendmsg u1"
    assert frame.header("Content-Length") == str(len("Ελένη".encode()))
    assert frame.body == "Ελένη".encode()
