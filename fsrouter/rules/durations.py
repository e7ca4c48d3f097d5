"""Durations as the rules write them: `90`, `45s`, `3m`, `1h30m`.

One parser for the checker, the compiler's consumers (the ACD mapping, the
call machine reading a queue's announce settings) so they cannot disagree.
"""

from __future__ import annotations

import re

_DURATION = re.compile(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?")
MAX_SECONDS = 1e9
"""About 31 years: longer is a mistake, and timers would overflow."""
DURATION_HINT = "seconds or a duration like 45s, 3m, 1h30m"
DURATION_OR_ZERO_HINT = "seconds (0 allowed) or a duration like 45s, 3m, 1h30m"


def seconds(value: object, *, zero: bool = False) -> float | None:
    """Positive seconds (or 0, with `zero`), or None when `value` is not such a duration.

    With `zero`, 0 is accepted too: for waits where "no wait" is a sensible
    choice, unlike timeouts and intervals, where 0 is always a mistake.
    """
    result: float | None = None
    try:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            result = float(value)
        elif isinstance(value, str) and (m := _DURATION.fullmatch(value)) and any(m.groups()):
            h, mi, s = m.groups()
            result = int(h or 0) * 3600 + int(mi or 0) * 60 + float(s or 0)
    except OverflowError:  # more digits than a float holds
        return None
    if result is None or not 0 <= result <= MAX_SECONDS or (result == 0 and not zero):
        return None  # `not 0 <= nan` holds too
    return result
