"""Keeping the ACD's view of the switch true across connections and reloads.

FreeSWITCH, not fsrouter, knows which agents' phones are registered and
which legs still exist.  Every time the inbound connection comes up,
`on_connected` reads the registrations (`agent_presence`) and hangs up the
legs an earlier connection or run left behind (`orphan_legs`); a reload that
adds an agent, or gives one another phone, reads the registrations again.
While any such read is under way `holding` is true and the dispatcher dials
nobody: not on a stale view, nor while an orphaned leg still holds an agent.
Sofia events and refused originates change the view in between (`apply`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from fsrouter.acd import InMemoryAcd, UnknownAgent
from fsrouter.esl.errors import ESLError
from fsrouter.runtime import orphan_legs
from fsrouter.runtime.agent_presence import REGISTRATIONS, AgentPresence, Changes
from fsrouter.runtime.switch_commands import SwitchCommands
from fsrouter.runtime.switch_tables import ShowError

log = logging.getLogger(__name__)


class SyncHost(Protocol):
    """What the synchronisation needs of the queue runtime."""

    acd: InMemoryAcd
    presence: AgentPresence
    """The current one: a reload replaces it."""

    def now(self) -> float: ...
    def handle(self, events: list) -> None: ...
    def wake(self) -> None: ...
    def owned_legs(self) -> set[str]: ...


class SwitchSync:
    """Reads the switch for `host` and tells its ACD what changed."""

    def __init__(self, host: SyncHost, switch: SwitchCommands, instance: str,
                 spawn: Callable[..., object]) -> None:
        """`instance` is the marker this fsrouter puts on its legs; `spawn`
        runs a read in a greenlet of its own."""
        self._host = host
        self._switch = switch
        self._instance = instance
        self._spawn = spawn
        self.connections = 0
        """How many times the inbound connection has come up (`on_connected`)."""
        self._reads = 0
        """Reads of the switch under way (`on_connected`, a reload's
        registrations read): nobody is dialled until all are done."""

    @property
    def holding(self) -> bool:
        """Whether a read is under way, so that nobody may be dialled yet."""
        return self._reads > 0

    def on_connected(self) -> None:
        """The inbound connection is up (again): learn which phones are
        registered and hang up the legs left over from before, then let the
        dispatcher dial (it waits for this, so nobody is dialled on a stale
        view, nor while their orphaned leg still holds them)."""
        self.connections += 1
        self._reads += 1
        self._holding_dial(self._read_registrations, self._sweep_orphans)

    def reread_registrations(self) -> None:
        """Read the registrations again in a greenlet of its own (after a
        reload), holding the dialling from now until the read is done."""
        self._reads += 1  # at once: the dispatcher may step before the greenlet starts
        self._spawn(self._holding_dial, self._read_registrations)

    def _holding_dial(self, *steps: Callable[[], None]) -> None:
        """Run `steps`, then end the hold the caller took (`_reads += 1`):
        the dispatcher dials nobody until every read under way has ended
        (see `holding`), so a reload's read ending first does not let it dial
        while a reconnect's sweep has yet to hang the orphaned legs up."""
        try:
            for run in steps:
                run()
        finally:
            self._reads -= 1
            self._host.wake()

    def _read_registrations(self) -> None:
        mark = self._host.presence.mark()
        try:
            body = self._switch.api(REGISTRATIONS)
            # The presence now, not the one asked with: a reload may have
            # replaced it meanwhile (and carried the mark's count over).
            changes = self._host.presence.on_registrations(body, mark)
        except (ESLError, ShowError) as exc:
            log.warning("could not read the registrations (%s): phones are known from sofia events only", exc)
            return
        self.apply(changes, "registrations")

    def phone_refused(self, agent_id: str) -> None:
        """The switch refused to dial the agent for want of a registration:
        unreachable until their phone registers again (when it is tracked)."""
        if self._host.presence.tracks(agent_id):
            self.apply([(agent_id, False)], "originate")

    def apply(self, changes: Changes, source: str) -> None:
        """Make the ACD's view of the agents' phones what `changes` say."""
        host = self._host
        now = host.now()
        for agent_id, reachable in changes:
            try:
                if host.acd.agent_status(agent_id).reachable is reachable:
                    continue
            except UnknownAgent:
                continue  # a reload removed the agent while the switch was asked
            log.info("agent %s: phone %s (%s)", agent_id, "registered" if reachable else "not registered", source)
            report = host.acd.agent_reachable if reachable else host.acd.agent_unreachable
            host.handle(report(agent_id, now))
            host.wake()

    def _sweep_orphans(self) -> None:
        try:
            body = self._switch.api(orphan_legs.listing(self._instance))
            orphans = orphan_legs.orphans(body, self._instance, self._host.owned_legs())
        except (ESLError, ShowError) as exc:
            log.warning("could not list the legs left over from before (%s); none hung up", exc)
            return
        for uuid in orphans:
            log.warning("leg %s: originated by this fsrouter, owned by no call: hung up", uuid)
            self._switch.kill(uuid)
