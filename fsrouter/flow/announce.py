"""What a queued caller is told about their place in line.

`announcement()` turns a `QueueStatus` and the queue's compiled
`AnnounceSettings` into the prompt ids to play: "you are caller number 3,
your estimated wait is 4 minutes, to be called back press 1, thank you for
your patience".  Pure functions: the machine decides when, the ACD decides
the figures.
"""

from __future__ import annotations

from ..rules.plan import AnnounceSettings
from ..rules.queue_settings import MAX_SPOKEN_NUMBER
from .events import QueueStatus

CALLBACK_OFFER = "callback/offer"


def announcement(
    status: QueueStatus, settings: AnnounceSettings, say_wait: bool, offer_callback: bool = False,
) -> tuple[str, ...]:
    """Prompt ids for one announcement; empty when there is nothing to say."""
    said: list[str] = []
    if 1 <= status.position <= min(settings.up_to, MAX_SPOKEN_NUMBER):
        said += ["queue/you_are_caller", f"numbers/{status.position}"]
    if say_wait and status.wait_bucket is not None and status.wait_minutes is not None:
        said += ["queue/estimated_wait"] + _wait_words(status.wait_bucket, status.wait_minutes)
    if offer_callback:
        said.append(CALLBACK_OFFER)
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
