"""Which agents' phones are registered, as the switch says.

An agent whose phone is not registered must not be offered calls: ringing it
only costs the caller a ring timeout and the agent a miss, and a caller in a
queue nobody registered can serve should go to its `no_agents` at once.
Three sources, all read here without IO (the runtime does the asking):

* the switch's registrations table, read at start and after every reconnect
  (`REGISTRATIONS`), since phones register and leave while nobody listens.
  mod_sofia writes a row on each REGISTER (sofia_reg.c,
  sofia_reg_handle_register_token: ``switch_core_add_registration(to_user,
  reg_host, call_id, url, ...)``) and deletes it on an unregister
  (``switch_core_del_registration``); the core purges expired rows
  (switch_core_sqldb.c, ``switch_core_expire_registration`` every
  SQL_REG_TIMEOUT).  ``show registrations`` (mod_commands.c, show_function)
  is ``select * from registrations where hostname=<switchname>``: columns
  reg_user, realm, token, url, expires, network_ip, network_port,
  network_proto, hostname, metadata;
* mod_sofia's CUSTOM events ``sofia::register``, ``sofia::unregister`` (the
  phone said goodbye) and ``sofia::expire`` (it went silent).  The first two
  name the user in ``from-user``; ``sofia::expire`` in ``user`` (sofia_reg.c);
* an originate refused ``USER_NOT_REGISTERED`` or ``SUBSCRIBER_ABSENT``
  (`refused_unregistered`): the phone is gone, whatever was heard before.

Only agents whose dial string needs a registration are tracked (`tracked_user`);
the others (gateways, loopback, a SIP URI with a host) are assumed reachable.
Users are matched by name, not realm, as the events are.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from fsrouter.acd.model import AgentSpec
from fsrouter.esl.codec import Event
from fsrouter.runtime.legs import cause
from fsrouter.runtime.switch_tables import show_rows

#: What the inbound socket must subscribe to (CUSTOM takes subclasses after it).
PRESENCE_EVENTS = ("CUSTOM", "sofia::register", "sofia::unregister", "sofia::expire")

#: The registrations the switch holds, as `show_rows` reads them.
REGISTRATIONS = "show registrations as json"

_REACHABLE = {"sofia::register": True, "sofia::unregister": False, "sofia::expire": False}

#: Originate causes that say the phone is not registered (mod_sofia's
#: sofia_outgoing_channel: "Cannot locate registered user"; mod_dptools'
#: user_outgoing_channel: a user not in the directory).
UNREGISTERED_CAUSES = frozenset({"USER_NOT_REGISTERED", "SUBSCRIBER_ABSENT"})

_VARIABLE_BLOCKS = re.compile(r"^(?:\{[^}]*\}|\[[^\]]*\]|<[^>]*>)*")

#: (agent id, reachable) for each agent a piece of news concerns.
Changes = list[tuple[str, bool]]


class AgentPresence:
    def __init__(self, agents: Iterable[AgentSpec], follows: AgentPresence | None = None) -> None:
        """`follows` is the presence this one replaces (a rules reload): its
        count of events heard goes on here, so a registrations read begun
        before the reload is judged against the events heard since."""
        self._by_user: dict[str, list[str]] = {}
        self._tracked: set[str] = set()
        for agent in agents:
            user = tracked_user(agent.dial)
            if user:
                self._by_user.setdefault(user, []).append(agent.id)
                self._tracked.add(agent.id)
        self._heard = follows._heard if follows is not None else 0
        #: Per user, the number of the last registration event heard about them.
        self._last_heard: dict[str, int] = dict(follows._last_heard) if follows is not None else {}

    def tracks(self, agent_id: str) -> bool:
        """Whether the agent's reachability follows their phone's registration."""
        return agent_id in self._tracked

    def on_event(self, event: Event) -> Changes:
        """What a ``sofia::`` registration event says."""
        reachable = _REACHABLE.get(event.get("Event-Subclass") or "")
        if reachable is None:
            return []
        user = event.get("from-user") or event.get("user") or event.get("username") or ""
        if user in self._by_user:
            self._heard += 1
            self._last_heard[user] = self._heard
        return [(agent_id, reachable) for agent_id in self._by_user.get(user, ())]

    def mark(self) -> int:
        """Take before asking for `REGISTRATIONS`; give to `on_registrations`."""
        return self._heard

    def on_registrations(self, body: str, mark: int) -> Changes:
        """What the answer to `REGISTRATIONS` says about every tracked agent
        (`ShowError` if it is not one).  A user whose registration event
        arrived after `mark` is left to that event: the answer may predate
        it, the event cannot predate the answer's question."""
        registered = {row.get("reg_user", "") for row in show_rows(body)}
        return [(agent_id, user in registered)
                for user, agent_ids in self._by_user.items()
                if self._last_heard.get(user, -1) <= mark
                for agent_id in agent_ids]


def refused_unregistered(result: str) -> bool:
    """Whether an originate's result (``-ERR USER_NOT_REGISTERED``) says the phone is not registered."""
    return cause(result) in UNREGISTERED_CAUSES


def tracked_user(dial: str) -> str:
    """The registered user a dial string rings, "" when it needs no registration.

    ``user/1001[@domain]`` -> ``1001`` (mod_dptools' user endpoint: the
    directory's dial-string, normally the user's registration);
    ``sofia/internal/1001`` and ``sofia/internal/1001%domain`` -> ``1001``
    (mod_sofia.c, sofia_outgoing_channel: without ``@``, the contact is looked
    up in the registrations, else USER_NOT_REGISTERED); a gateway, an
    explicit ``sip:`` URI, ``user@host``, or several endpoints at once -> "".
    """
    dial = _VARIABLE_BLOCKS.sub("", dial.strip())
    if any(sep in dial for sep in (",", "|", ":_:")):
        return ""
    if dial.startswith("user/"):
        return dial.removeprefix("user/").partition("@")[0]
    parts = dial.split("/", 2)
    if len(parts) != 3 or parts[0] != "sofia" or parts[1] in ("gateway", "") or "@" in parts[2]:
        return ""
    dest = parts[2]
    if dest.lower().startswith(("sip:", "sips:")):
        return ""
    return dest.partition("%")[0]
