"""Which agents' phones are registered, from sofia's registration events.

An agent whose phone unregistered (or whose registration expired) must not be
offered calls: ringing it only costs the caller a ring timeout and the agent a
miss.  mod_sofia announces registrations as CUSTOM events: ``sofia::register``,
``sofia::unregister`` (the phone said goodbye) and ``sofia::expire`` (it went
silent).  The first two name the user in ``from-user``; ``sofia::expire``
in ``user`` (sofia_reg.c).  Only agents dialled as ``user/<id>[@domain]`` can
be matched; others are left alone.
"""

from __future__ import annotations

from collections.abc import Iterable

from fsrouter.acd.model import AgentSpec
from fsrouter.esl.codec import Event

#: What the inbound socket must subscribe to (CUSTOM takes subclasses after it).
PRESENCE_EVENTS = ("CUSTOM", "sofia::register", "sofia::unregister", "sofia::expire")

_REACHABLE = {"sofia::register": True, "sofia::unregister": False, "sofia::expire": False}


class AgentPresence:
    def __init__(self, agents: Iterable[AgentSpec]) -> None:
        self._by_user: dict[str, list[str]] = {}
        for agent in agents:
            user = _user(agent.dial)
            if user:
                self._by_user.setdefault(user, []).append(agent.id)

    def on_event(self, event: Event) -> list[tuple[str, bool]]:
        """(agent id, reachable) for each agent a registration event concerns."""
        reachable = _REACHABLE.get(event.get("Event-Subclass") or "")
        if reachable is None:
            return []
        user = event.get("from-user") or event.get("user") or event.get("username") or ""
        return [(agent_id, reachable) for agent_id in self._by_user.get(user, ())]


def _user(dial: str) -> str:
    """``user/1001@example.com`` -> ``1001``; "" for other dial strings."""
    if not dial.startswith("user/"):
        return ""
    return dial.removeprefix("user/").partition("@")[0]
