"""The sans-IO ESL codec against traffic recorded from a real FreeSWITCH 1.10.12.

Every transcript, in both directions, is parsed whole, one byte at a time and
at seeded random split points; all three must give the same frames, one per
recorded message.  Server-side encoders must reproduce the recorded bytes.
"""

from __future__ import annotations

import random

import pytest
from fixtures.transcripts import load_all, load_transcript, transcript_names

from fsrouter.esl.codec import (
    Frame,
    Parser,
    channel_data,
    encode_api_response,
    encode_auth_request,
    encode_connect_reply,
    encode_disconnect_notice,
    encode_event_plain,
    encode_reply,
    parse_event,
)

DIRECTIONS = ("FS->APP", "APP->FS")
CASES = [(name, d) for name in transcript_names() for d in DIRECTIONS]


def parse_chunks(chunks, commands: bool) -> list[Frame]:
    parser = Parser(commands=commands)
    frames = []
    for chunk in chunks:
        parser.feed(chunk)
        frames.extend(parser.frames())
    assert parser.buffered == 0
    return frames


def random_chunks(data: bytes, rng: random.Random) -> list[bytes]:
    cuts = sorted(rng.sample(range(1, len(data)), min(len(data) - 1, 200)))
    return [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)])]


def test_transcripts_are_present():
    assert len(transcript_names()) >= 19


@pytest.mark.parametrize(("name", "direction"), CASES)
def test_transcript_parses_whole_bytewise_and_split(name, direction):
    transcript = load_transcript(name)
    messages = [m.data for m in transcript.messages if m.direction == direction]
    data = b"".join(messages)
    commands = direction == "APP->FS"

    whole = parse_chunks([data], commands)
    assert len(whole) == len(messages)
    # One frame per recorded message, and each message alone is one frame.
    assert [parse_chunks([m], commands) for m in messages] == [[f] for f in whole]
    assert parse_chunks([data[i : i + 1] for i in range(len(data))], commands) == whole
    rng = random.Random(f"{name}{direction}")
    for _ in range(3):
        assert parse_chunks(random_chunks(data, rng), commands) == whole


@pytest.mark.parametrize("name", transcript_names())
def test_every_event_frame_yields_a_named_event(name):
    frames = parse_chunks([load_transcript(name).stream("FS->APP")], commands=False)
    events = [parse_event(f) for f in frames if f.content_type == "text/event-plain"]
    assert events
    for event in events:
        assert event.name and event.get("Core-UUID")


def test_client_commands_are_split_into_command_line_and_headers():
    frames = parse_chunks([load_transcript("outbound_eventlock.txt").stream("APP->FS")], commands=True)
    assert [f.command for f in frames[:3]] == ["connect", "myevents", "linger"]
    locked = [f for f in frames if f.header("event-lock") == "true"]
    assert locked[0].command == "sendmsg"
    assert locked[0].header("execute-app-name") == "playback"
    assert locked[0].header("Execute-App-Arg") == "tone_stream://%(1000,0,350);loops=1"


# ------------------------------------------------------ server-side encoders


def fs_frames():
    for transcript in load_all():
        messages = [m.data for m in transcript.messages if m.direction == "FS->APP"]
        for message in messages:
            (frame,) = parse_chunks([message], commands=False)
            yield transcript.name, message, frame


def test_encode_event_plain_reproduces_every_recorded_event():
    checked = 0
    for name, message, frame in fs_frames():
        if frame.content_type != "text/event-plain":
            continue
        event = parse_event(frame)
        headers = [(k, v) for k, v in event.items() if not (event.body and k == "Content-Length")]
        assert encode_event_plain(headers, event.body) == message, (name, event.name)
        checked += 1
    assert checked > 350


def test_encode_connect_reply_reproduces_every_recorded_connect_reply():
    replies = [(n, m, f) for n, m, f in fs_frames() if f.header("Event-Name") == "CHANNEL_DATA"]
    assert len(replies) == sum(n.startswith("outbound_") for n in transcript_names())
    for name, message, frame in replies:
        channel = list(channel_data(frame).items())
        assert channel[-4:][0] == ("Content-Type", "command/reply")
        encoded = encode_connect_reply(channel[:-4], frame.header("Socket-Mode"), frame.header("Control"))
        assert encoded == message, name


def test_other_server_frames_match_transcripts():
    recorded = {m for _, m, f in fs_frames() if f.content_type != "text/event-plain"}
    notices = [m for m in recorded if m.startswith(b"Content-Type: text/disconnect-notice")]
    assert encode_auth_request() in recorded
    assert encode_reply("+OK accepted") in recorded
    assert encode_reply("+OK will linger 5 seconds") in recorded
    job = "28e139ef-ebaa-4557-bdfd-83d87021918b"
    assert encode_reply(f"+OK Job-UUID: {job}", [("Job-UUID", job)]) in recorded
    uuid = "59e2b2c5-4b90-40b9-a7a7-eefd8f00f58a"
    assert encode_disconnect_notice(uuid, "sofia/internal/sipp@127.0.0.1:5070") in notices
    uuid = "3440946c-cde9-4480-87ae-a0514731e5e4"
    assert encode_disconnect_notice(uuid, "sofia/internal/sipp@127.0.0.1:5070", linger_time=5) in notices
    assert encode_disconnect_notice(uuid, None, "disconnect") in notices
    assert encode_disconnect_notice(None, None, "disconnect") in notices  # inbound `exit`
    assert any(m.startswith(b"Content-Type: api/response\nContent-Length:") for m in recorded)
    api = next(m for m in recorded if m.startswith(b"Content-Type: api/response"))
    assert encode_api_response(api.split(b"\n\n", 1)[1]) == api


def test_frames_read_while_more_arrive_keep_the_rest_of_the_buffer_intact():
    """The parser drops handed-out bytes only now and then (not frame by
    frame): what it still holds is exactly what was not handed out, however
    reads and frames interleave."""
    frames = [encode_event_plain([("Event-Name", "CUSTOM"), ("Unique-ID", f"u{n}"), ("X", "y" * n)])
              for n in range(0, 3000, 37)]
    data = b"".join(frames)
    rng = random.Random(11)
    parser, seen, fed = Parser(), [], 0
    while fed < len(data):
        step = rng.choice((1, 7, 100, 4096, 65536))
        parser.feed(data[fed:fed + step])
        fed += min(step, len(data) - fed)
        # Sometimes only one frame before the next read, so reads land mid-buffer.
        for _ in range(rng.choice((1, 1000))):
            frame = parser.next_frame()
            if frame is None:
                break
            seen.append(parse_event(frame).get("Unique-ID"))
        assert parser.buffered == fed - sum(len(f) for f in frames[:len(seen)])
    seen += [parse_event(f).get("Unique-ID") for f in parser.frames()]
    assert seen == [f"u{n}" for n in range(0, 3000, 37)]
    assert parser.buffered == 0


def test_a_header_is_found_whole_first_last_or_between():
    """Lookups match a whole header name at a line start, never the tail of
    another name, and the last header (no newline after it) too."""
    frame = Parser()
    frame.feed(encode_event_plain([("Unique-ID", "first"), ("Event-Name", "CUSTOM"),
                                   ("Other-Unique-ID", "not-it"), ("ID", "last")]))
    event = parse_event(frame.next_frame())
    assert event.get("Unique-ID") == "first"
    assert event.get("Other-Unique-ID") == "not-it"
    assert event.get("ID") == "last"
    assert event.get("Unique") is None and event.get("Event") is None
