"""What a queued caller is told about their place in line, and when.

A queue's `announce` settings (`position: {first, every, up_to}`,
`wait: {every}`) become an `AnnounceSettings`; `announcement()` turns a
`QueueStatus` into the prompt ids to play: "you are caller number 3, your
estimated wait is 4 minutes, thank you for your patience".  Pure functions:
the machine decides when, the ACD decides the figures.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ..rules.durations import seconds
from .events import QueueStatus

#: The highest `numbers/N` prompt there is.
MAX_SPOKEN_NUMBER = 60


@dataclass(frozen=True)
class AnnounceSettings:
    first: float
    every: float
    up_to: int = 20
    wait_every: float | None = None

    @classmethod
    def from_options(cls, options: Mapping[str, object]) -> AnnounceSettings | None:
        """None when the queue announces nothing (no `announce.position`)."""
        announce = options.get("announce") or {}
        position = announce.get("position") if isinstance(announce, Mapping) else None
        if not isinstance(position, Mapping):
            return None
        first = seconds(position.get("first", 15))
        every = seconds(position.get("every", 45))
        up_to = position.get("up_to", 20)
        wait = announce.get("wait")
        wait_every = seconds(wait.get("every", 90)) if isinstance(wait, Mapping) else None
        if first is None or every is None or not isinstance(up_to, int):
            return None  # the checker has already reported the shape
        return cls(first, every, up_to, wait_every)


def announcement(status: QueueStatus, settings: AnnounceSettings, say_wait: bool) -> tuple[str, ...]:
    """Prompt ids for one announcement; empty when there is nothing to say."""
    said: list[str] = []
    if 1 <= status.position <= min(settings.up_to, MAX_SPOKEN_NUMBER):
        said += ["queue/you_are_caller", f"numbers/{status.position}"]
    if say_wait and status.wait_bucket is not None and status.wait_minutes is not None:
        said += ["queue/estimated_wait"] + _wait_words(status.wait_bucket, status.wait_minutes)
    if said:
        said.append("queue/thank_you")
    return tuple(said)


def _wait_words(bucket: str, minutes: int) -> list[str]:
    minutes = min(minutes, MAX_SPOKEN_NUMBER)
    unit = "queue/minute" if minutes == 1 else "queue/minutes"
    if bucket == "less_than_a_minute":
        return ["queue/less_than_a_minute"]
    if bucket == "more_than":
        return ["queue/more_than", f"numbers/{minutes}", unit]
    return [f"numbers/{minutes}", unit]
