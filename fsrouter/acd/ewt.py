"""Estimated wait time: conservative, from observed service, worded in buckets.

    ewt = position × H / n

H is an upper quantile (p80 by default) of the queue's last N handle times
(answer to end of wrap-up: the time an agent is taken by one call); n is the
number of serving agents (logged in, not paused, reachable) admitted at the
entry's current stage; position counts the competing entries ahead (see
`ordering.py`).  Agents finish calls at about n / H per second, so the caller
at position p waits for about p of those finishes.

Why this errs long, as callers need: p80 rather than the mean, so one short
call does not pull the promise down; the p80 of a single handle time is more
than the p80 of the average of p of them; rounding is up to whole minutes;
later relaxation (more agents) is not counted on.  Why p80 and not p95: a
single 40-minute call would then set every promise for the next 50 calls and
drive callers away, or to a callback, for nothing.

No estimate (None, announce nothing) while it would be a guess: no serving
agent can take the entry, or fewer than `min_samples` handle times are known.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from enum import StrEnum

from fsrouter.acd.model import EwtPolicy


class Bucket(StrEnum):
    LESS_THAN_A_MINUTE = "less_than_a_minute"
    MINUTES = "minutes"
    MORE_THAN = "more_than"


@dataclass(frozen=True)
class Estimate:
    """An estimate and how to word it.

    `minutes` is the whole-minute bound the caller hears: 1 for "less than a
    minute", N for "N minutes", the cap for "more than N minutes".  The
    flow picks prompts from `bucket` and `minutes`; `phrase` is the English
    wording for logs and the admin API.
    """

    seconds: float
    bucket: Bucket
    minutes: int

    @classmethod
    def from_seconds(cls, seconds: float, cap_minutes: int) -> Estimate:
        if seconds < 60:
            return cls(seconds, Bucket.LESS_THAN_A_MINUTE, 1)
        minutes = math.ceil(seconds / 60)
        if minutes > cap_minutes:
            return cls(seconds, Bucket.MORE_THAN, cap_minutes)
        return cls(seconds, Bucket.MINUTES, minutes)

    @property
    def phrase(self) -> str:
        if self.bucket is Bucket.LESS_THAN_A_MINUTE:
            return "less than a minute"
        unit = "minute" if self.minutes == 1 else "minutes"
        if self.bucket is Bucket.MORE_THAN:
            return f"more than {self.minutes} {unit}"
        return f"{self.minutes} {unit}"


class HandleTimes:
    """A queue's last N handle times, with the quantile the estimate uses."""

    def __init__(self, window: int) -> None:
        self._recent: deque[float] = deque(maxlen=window)
        self._sorted: list[float] | None = None

    def __len__(self) -> int:
        return len(self._recent)

    @property
    def window(self) -> int:
        return self._recent.maxlen

    def resized(self, window: int) -> HandleTimes:
        """The same samples (the latest `window` of them) in a window of another size."""
        other = HandleTimes(window)
        other._recent.extend(self._recent)
        return other

    def add(self, seconds: float) -> None:
        self._recent.append(seconds)
        self._sorted = None

    def quantile(self, q: float) -> float:
        """Nearest-rank quantile: the smallest sample at or above a fraction q of them."""
        if self._sorted is None:
            self._sorted = sorted(self._recent)
        return self._sorted[max(math.ceil(q * len(self._sorted)) - 1, 0)]


def estimate(position: int, serving: int, handle_times: HandleTimes, policy: EwtPolicy) -> Estimate | None:
    if serving == 0 or len(handle_times) < policy.min_samples:
        return None
    seconds = position * handle_times.quantile(policy.quantile) / serving
    return Estimate.from_seconds(seconds, policy.cap_minutes)
