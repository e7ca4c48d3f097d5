"""Durations as the rules write them: `90`, `45s`, `3m`, `1h30m`.

One parser for the checker, the compiler's consumers (the ACD mapping, the
call machine reading a queue's announce settings) so they cannot disagree.
"""

from __future__ import annotations

import re

_DURATION = re.compile(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?")
DURATION_HINT = "seconds or a duration like 45s, 3m, 1h30m"


def seconds(value: object) -> float | None:
    """Positive seconds, or None when `value` is not a positive duration."""
    result: float | None = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        result = float(value)
    elif isinstance(value, str) and (m := _DURATION.fullmatch(value)) and any(m.groups()):
        h, mi, s = m.groups()
        result = int(h or 0) * 3600 + int(mi or 0) * 60 + float(s or 0)
    return result if result is not None and result > 0 else None
