"""A caller value with a newline (a caller id ``1001%0A...``) cannot forge a log line."""

import io
import logging

from fsrouter.logs import FORMAT, EscapingFormatter


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
