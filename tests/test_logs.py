"""A caller value with a newline (a caller id ``1001%0A...``) cannot forge a log line."""

import io
import json
import logging
from datetime import datetime, timedelta, timezone

import pytest

from fsrouter.logs import FORMAT, EscapingFormatter, JSONLinesFormatter, fields


def logged(*args, exc_info=None) -> str:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(EscapingFormatter(FORMAT))
    log = logging.getLogger("test_logs")
    log.propagate = False
    log.addHandler(handler)
    try:
        log.error(*args, exc_info=exc_info)
    finally:
        log.removeHandler(handler)
    return stream.getvalue()


def test_a_caller_id_with_a_newline_is_one_log_line():
    forged = "1001\n2026-12-06 22:00:00,000 ERROR fsrouter: agent 1001 logged out\r\x1b[2J\u2028"
    text = logged("call %s from %s to %s", "u1", forged, "5000")
    assert text.count("\n") == 1 and text.endswith("\n")
    assert "from 1001\\n2026-12-06 22:00:00,000 ERROR fsrouter: agent 1001 logged out\\r\\x1b[2J\\u2028 to 5000" in text


def test_a_traceback_keeps_its_lines():
    try:
        raise ValueError("bad")
    except ValueError as exc:
        text = logged("failed for %s", "a\nb", exc_info=exc)
    first, *rest = text.splitlines()
    assert first.endswith("failed for a\\nb")
    assert rest[0] == "Traceback (most recent call last):" and rest[-1] == "ValueError: bad"


def logged_json(*args, exc_info=None, extra=None) -> list[str]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JSONLinesFormatter())
    log = logging.getLogger("test_logs.json")
    log.propagate = False
    log.addHandler(handler)
    try:
        log.error(*args, exc_info=exc_info, extra=extra)
    finally:
        log.removeHandler(handler)
    return stream.getvalue().splitlines()


def test_json_lines_carry_time_level_logger_message_and_the_context():
    [line] = logged_json("call %s: joined queue %s", "u1", "support",
                         extra=fields(call="u1", queue="support", agent=None))
    entry = json.loads(line)
    assert entry.pop("time").endswith("+00:00")
    assert entry == {"level": "ERROR", "logger": "test_logs.json", "message": "call u1: joined queue support",
                     "call": "u1", "queue": "support"}


def test_the_json_time_is_iso_8601_utc():
    [line] = logged_json("x")
    stamp = datetime.fromisoformat(json.loads(line)["time"])
    assert stamp.utcoffset() == timedelta(0) and abs(stamp - datetime.now(timezone.utc)) < timedelta(minutes=1)


def test_a_caller_id_with_a_newline_cannot_forge_a_json_line():
    forged = '1001"}\n{"level": "ERROR", "message": "agent 1001 logged out"}\r\u2028\x1b[2J'
    lines = logged_json("call %s from %s", "u1", forged, extra=fields(call=forged))
    assert len(lines) == 1 and "\u2028" not in lines[0] and "\x1b" not in lines[0]
    entry = json.loads(lines[0])
    assert entry["message"] == f"call u1 from {forged}" and entry["call"] == forged


def test_a_traceback_is_the_exc_field_of_the_one_line():
    try:
        raise ValueError("bad")
    except ValueError as exc:
        lines = logged_json("failed for %s", "a", exc_info=exc)
    [line] = lines
    entry = json.loads(line)
    assert entry["message"] == "failed for a"
    assert entry["exc"].startswith("Traceback (most recent call last):") and entry["exc"].endswith("ValueError: bad")


def test_only_the_known_context_fields_are_accepted():
    with pytest.raises(TypeError, match="unknown log fields: caller"):
        fields(caller="u1")
