"""Durations as the rules write them: `90`, `45s`, `3m`, `1h30m`.

One parser for the checker, the compiler's consumers (the ACD mapping, the
call machine reading a queue's announce settings) so they cannot disagree.
"""

from __future__ import annotations

import re

_DURATION = re.compile(r"(?:(\d{1,9})h)?(?:(\d{1,9})m)?(?:(\d{1,9}(?:\.\d{1,9})?)s)?")
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
    if isinstance(value, (int, float)) and not isinstance(value, bool) and abs(value) < 1e12:
        result = float(value)  # NaN and infinities fail this test; huge ints never reach float()
    elif isinstance(value, str) and (m := _DURATION.fullmatch(value)) and any(m.groups()):
        h, mi, s = m.groups()  # at most 9 digits each: no int too long to convert
        result = int(h or 0) * 3600 + int(mi or 0) * 60 + float(s or 0)
    if result is None or not 0 <= result <= MAX_SECONDS or (result == 0 and not zero):
        return None
    return result
