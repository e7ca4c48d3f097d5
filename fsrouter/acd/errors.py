"""Errors the ACD core raises.

The core raises and never prints; the IO layer and the admin API translate
these at their boundary.  Each message names the agent, entry, queue or offer
at fault, so a log line is enough to see what went wrong.
"""

from __future__ import annotations


class AcdError(Exception):
    """A call into the ACD that cannot be carried out."""


class SpecError(AcdError, ValueError):
    """An agent or queue spec is inconsistent (a rules-compiler bug or bad input)."""


class UnknownAgent(AcdError, LookupError):
    """No agent with this id."""


class UnknownQueue(AcdError, LookupError):
    """No queue with this name."""


class UnknownEntry(AcdError, LookupError):
    """No waiting entry with this id: it never joined, or it already left.

    Races are normal here (a caller hangs up just as the max wait fires), so
    the IO layer treats this as "already gone".
    """


class UnknownOffer(AcdError, LookupError):
    """No outstanding offer with this id: it was answered, missed or cancelled.

    A late `answered` for such an offer means the agent leg must be hung up.
    """


class DuplicateEntry(AcdError):
    """An entry with this id is already waiting."""


class InvalidTransition(AcdError):
    """An agent event that its current state does not allow."""

    def __init__(self, agent_id: str, state: str, event: str) -> None:
        super().__init__(f"agent {agent_id!r}: cannot {event} while {state}")
        self.agent_id = agent_id
        self.state = state
        self.event = event


class ClockWentBack(AcdError):
    """`now` is earlier than a time already seen; the IO layer must pass a monotonic clock."""
