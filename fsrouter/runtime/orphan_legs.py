"""Legs fsrouter originated that no live call owns: marked, found, hung up.

When the inbound connection drops while an agent's leg is being originated,
the ``originate`` goes on inside FreeSWITCH but its result never comes back:
the agent answers, hears the whisper and waits, parked, with nobody to be
bridged to, and is dialled again for the same caller.  After a restart,
fsrouter does not even know those legs' UUIDs.  So every leg fsrouter
originates carries `marker` variables, and after each (re)connection the
runtime lists the marked channels (`listing`) and hangs up those that
no call or offer of its own holds (`orphans`).

Listing: ``show channels as json`` (mod_commands.c, show_function) is
``select * from channels`` and shows no arbitrary channel variables, but
it has a ``presence_data`` column, which the core fills from the channel's
``presence_data`` variable (switch_core_sqldb.c: the CHANNEL_ORIGINATE,
CS_ROUTING and CHANNEL_EXECUTE updates copy ``Channel-Presence-Data``,
which switch_channel.c sets from that variable), and
``show channels like <pattern>`` filters on it (``... or presence_data
like '<pattern>' ...``, the pattern used as given when it has a ``%``).  The
variable is otherwise only passed along in presence events and sip_dialogs,
which nothing of a call centre's reads for these legs.  ``hupall <cause>
fsrouter_owner <id>`` could find them too, but hangs up every match and
cannot spare the legs a live call owns.

The marks name this fsrouter `instance` (stable across restarts, so a
restarted process sweeps what its previous run left; distinct per process
sharing one switch, so one never hangs up another's legs).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from fsrouter.runtime.switch_tables import show_rows

AGENT = "agent"
CUSTOMER = "customer"
_KINDS = (AGENT, CUSTOMER)
_PREFIX = "fsrouter"
_UNSAFE = re.compile(r"[^\w.-]")


def instance_id(name: str) -> str:
    """`name` made safe to stand in a variable and a LIKE pattern (letters, digits, ``_.-``)."""
    return _UNSAFE.sub("-", name) or "fsrouter"


def marker(kind: str, instance: str) -> dict[str, str]:
    """The channel variables that mark a leg this instance originates:
    ``fsrouter_leg`` (agent or customer) and ``fsrouter_owner`` for people
    reading the channel, and ``presence_data`` for `listing` to find it."""
    if kind not in _KINDS:
        raise ValueError(f"a leg is one of {_KINDS}, not {kind!r}")
    return {"fsrouter_leg": kind, "fsrouter_owner": instance,
            "presence_data": f"{_PREFIX}:{kind}:{instance}"}


def listing(instance: str) -> str:
    """The ``api`` command listing the channels that may carry this instance's mark."""
    return f"show channels like {_PREFIX}:%:{instance} as json"


def orphans(body: str, instance: str, owned: Iterable[str]) -> list[str]:
    """The UUIDs in `listing`'s answer marked as this instance's legs and
    not in `owned` (`ShowError` if the answer is not one)."""
    marks = {f"{_PREFIX}:{kind}:{instance}" for kind in _KINDS}
    keep = set(owned)
    return [row["uuid"] for row in show_rows(body)
            if row.get("presence_data") in marks and row.get("uuid") and row["uuid"] not in keep]

