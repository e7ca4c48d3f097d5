"""What a queued caller is told about their place in line.

`announcement()` turns a `QueueStatus` and the queue's compiled
`AnnounceSettings` into the prompt ids to play: "you are caller number 3,
your estimated wait is 4 minutes, to be called back press 1, thank you for
your patience", in the call's language: the numbers, the noun after them
and the key's name come from its grammar (`fsrouter.speech`), so a Russian
caller hears "две минуты" and an Arabic one the dual.  Pure functions: the
machine decides when, the ACD decides the figures.
"""

from __future__ import annotations

from .. import speech
from ..rules.plan import AnnounceSettings
from ..rules.queue_settings import MAX_SPOKEN_NUMBER
from .events import QueueStatus

CALLBACK_OFFER = "callback/offer"
CALLBACK_KEEP_PLACE = "callback/keep_place"


def announcement(
    status: QueueStatus, settings: AnnounceSettings, say_wait: bool, offer_callback: bool = False,
    *, callback_key: str = "1", language: str = "en",
) -> tuple[str, ...]:
    """Prompt ids for one announcement; empty when there is nothing to say.
    `callback_key` is the key the offer names (the queue's `callback.key`)."""
    grammar = speech.grammar(language)
    said: list[str] = []
    if 1 <= status.position <= min(settings.up_to, MAX_SPOKEN_NUMBER):
        said += ["queue/you_are_caller", *grammar.number(status.position)]
    if say_wait and status.wait_bucket is not None and status.wait_minutes is not None:
        said += ["queue/estimated_wait", *_wait_words(grammar, status.wait_bucket, status.wait_minutes)]
    if offer_callback:
        said += callback_offer(grammar, callback_key)
    if said:
        if settings.exit is not None:  # "to speak to an operator, press 0", before the thanks
            said.append(settings.exit.source)
        said.append("queue/thank_you")
    return tuple(said)


def callback_offer(grammar: speech.Grammar, key: str) -> list[str]:
    """ "To be called back instead of waiting, press <key>. You will keep your place in line." """
    return [CALLBACK_OFFER, *grammar.press(key), CALLBACK_KEEP_PLACE]


def _wait_words(grammar: speech.Grammar, bucket: str, minutes: int) -> list[str]:
    if bucket == "less_than_a_minute":
        return ["queue/less_than_a_minute"]
    counted = list(grammar.minutes(min(max(minutes, 1), MAX_SPOKEN_NUMBER)))
    return ["queue/more_than", *counted] if bucket == "more_than" else counted
