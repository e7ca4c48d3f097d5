"""Log lines that a caller cannot forge, as text or as JSON lines.

Caller-controlled values reach the log (a caller id, a name, keyed digits):
a caller id of ``1001%0A... ERROR ...`` arrives URL-decoded with a newline in
it, and logged as is it would start a line of the caller's making.  Rather
than trust every ``log.info`` call to escape its arguments, the service's
text formatter escapes control characters in the formatted message.  A
traceback the formatter appends after the message keeps its newlines: it is
ours.

``log_format: json`` writes one JSON object per record and line instead, for
log shippers: ``json.dumps`` escapes every control character, so a caller's
newline stays inside its string.  Log sites that concern a call, a queue or an
agent pass them with ``extra=fields(call=..., queue=..., agent=...)``; the JSON
formatter puts them in fields of their own (the text format already names them
in the message).
"""

from __future__ import annotations

import json
import logging
import re
from datetime import datetime, timezone

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")
"""Control characters (tab aside) and the Unicode line separators."""
_NAMED = {"\n": "\\n", "\r": "\\r"}

CONTEXT = ("call", "queue", "agent")
"""The record attributes (set with ``extra=``) the JSON format carries as fields."""


def fields(**context: object) -> dict[str, object]:
    """``extra=`` for a log call: the context that is known (None left out)."""
    unknown = set(context) - set(CONTEXT)
    if unknown:
        raise TypeError(f"unknown log fields: {', '.join(sorted(unknown))}")
    return {key: value for key, value in context.items() if value is not None}


def _escape(match: re.Match) -> str:
    char = match.group()
    return _NAMED.get(char) or (f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}")


def escape_controls(text: str) -> str:
    """``a\\nb`` -> ``a\\\\nb``: one line, terminal escapes shown, not run."""
    return _CONTROL.sub(_escape, text)


class EscapingFormatter(logging.Formatter):
    """A `logging.Formatter` whose message part is always one line."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        return escape_controls(super().formatMessage(record))


class JSONLinesFormatter(logging.Formatter):
    """One JSON object per record: time (ISO-8601 UTC), level, logger,
    message, the call/queue/agent context when known, and ``exc`` (the
    traceback text) when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in CONTEXT:
            value = getattr(record, key, None)
            if value is not None:
                entry[key] = str(value)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exc"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        # ensure_ascii: U+2028/U+2029 escaped too, which some readers take as line ends.
        return json.dumps(entry, ensure_ascii=True)


def setup(level: str, fmt: str = "text") -> None:
    """The service's logging: to stderr, one record per line."""
    handler = logging.StreamHandler()
    handler.setFormatter(JSONLinesFormatter() if fmt == "json" else EscapingFormatter(FORMAT))
    logging.basicConfig(level=level.upper(), handlers=[handler])
