"""A call the queue runtime holds, as both its halves see it.

`QueueRuntime` keeps one `Caller` per call from `join` until the call leaves;
the offer driver (`offer_driver`) reads its variables and rules queue for the
agent's leg and the whisper, tells its runner through `notify` and attaches
the answered offer.  Its own module so that neither half imports the other
for it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from fsrouter.offer.machine import OfferMachine
from fsrouter.offer.messages import Message

Notify = Callable[[Message], None]


@dataclass
class Caller:
    """A call this runtime holds: waiting, being offered, or bridged."""

    queue: str
    acd_queue: str
    notify: Notify
    variables: Mapping[str, str]
    arrival: float
    priority: int
    offer: OfferMachine | None = None
    """Set once an agent answered: from then on the ACD counts a call in progress."""
    held_over: OfferMachine | None = None
    """The first agent's call during an attended transfer: up until the next
    agent's bridge replaces it (runtime/transfers.py)."""
    bookings: int = 0
    """Callback bookings tried from this call: each has its own idempotency key."""

    @property
    def offer_id(self) -> int | None:
        return self.offer.offer.offer_id if self.offer is not None else None
