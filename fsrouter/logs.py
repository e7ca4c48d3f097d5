"""Log lines that a caller cannot forge.

Caller-controlled values reach the log (a caller id, a name, keyed digits):
a caller id of ``1001%0A... ERROR ...`` arrives URL-decoded with a newline in
it, and logged as is it would start a line of the caller's making.  Rather
than trust every ``log.info`` call to escape its arguments, the service's
formatter escapes control characters in the formatted message.  A traceback
the formatter appends after the message keeps its newlines: it is ours.
"""

from __future__ import annotations

import logging
import re

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")
"""Control characters (tab aside) and the Unicode line separators."""
_NAMED = {"\n": "\\n", "\r": "\\r"}


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


def setup(level: str) -> None:
    """The service's logging: to stderr, one record per line."""
    handler = logging.StreamHandler()
    handler.setFormatter(EscapingFormatter(FORMAT))
    logging.basicConfig(level=level.upper(), handlers=[handler])
