"""Warm transfers of bridged calls: the agent's feature code, or the API.

The agent keys `*` and a code on the phone (documented in docs/afterbridge.md).
FreeSWITCH hears it through `bind_meta_app`, which the agent's leg runs
before its whisper (`meta_bindings`), one per code of the caller's queue:

    bind_meta_app:1 a s event::Fsrouter-Transfer=1

`a` listens to the digits the agent's phone sends, `s` runs the application
on the agent's own leg (mod_dptools `dtmf_bind_function`); `*1` is then
swallowed (neither digit reaches the caller) and the `event` application
queued on the leg (`meta_on_dtmf` -> `switch_ivr_broadcast`, switch_ivr_async.c),
which fires a `CHANNEL_APPLICATION` event carrying the header and the leg's
`Unique-ID` (mod_dptools `event_function`; `switch_channel_event_set_data`).
A single `key=value` because the inline dialplan splits its applications
on commas.  The inbound connection subscribes to `CHANNEL_APPLICATION`
(`TRANSFER_EVENTS`), rare elsewhere.

`TransferDesk.transfer` then carries the transfer out, as
`offer.transfer.decide` says: the statistics hear `Transferred`, the
caller's runner `Transferring` (before anything else, so it knows what the
end of the bridge means), the first agent's call ends (they wrap up) and
their leg is hung up -- the caller stays with fsrouter because it has
`park_after_bridge`: `switch_ivr_multi_threaded_bridge` parks it when the
bridge ends, still under the socket's control (without it, the caller,
`uuid_bridge`'s first leg, would be set back to `CS_EXECUTE` and run on to
the dialplan's next action after `socket`: switch_ivr_bridge.c,
`uuid_bridge_on_soft_execute`; docs/afterbridge.md) --
and the caller is put in line in the new queue with the context added,
waiting from now unless that queue's `transfer.keep_arrival` says to keep
the first arrival, at the higher of their priority and the new queue's.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from fsrouter import fsvalues
from fsrouter.acd import Transferred
from fsrouter.acd.from_plan import PlanMappingError
from fsrouter.esl.codec import Event
from fsrouter.logs import fields
from fsrouter.offer.machine import OfferState
from fsrouter.offer.machine import OfferMachine
from fsrouter.offer.messages import AttendedTransfer, Transferring
from fsrouter.offer.transfer import decide
from fsrouter.rules.plan import TransferSettings

if TYPE_CHECKING:
    from fsrouter.runtime.queue_runtime import QueueRuntime

log = logging.getLogger(__name__)

TRANSFER_EVENTS = ("CHANNEL_APPLICATION",)
"""What the inbound connection subscribes to for the agents' feature codes."""
HEADER = "Fsrouter-Transfer"
MAX_NOTE = 200
"""Characters of an API note (it is spoken in the next agent's whisper)."""
SUPERVISOR = "supervisor"
"""Who `transfer_from` names when the API transfers a call without saying."""


class TransferRefused(Exception):
    """The call cannot be transferred (not bridged, over the cap with nowhere
    to go, an unknown queue); the caller stays with their agent."""


def meta_bindings(settings: TransferSettings | None) -> list[str]:
    """The inline applications binding `*<code>` on an agent's leg."""
    if settings is None:
        return []
    return [fsvalues.inline_app("bind_meta_app", f"{code} a s event::{HEADER}={code}") for code in settings.codes]


class TransferDesk:
    """The queue runtime's transfers (it calls `on_event` and `transfer`)."""

    def __init__(self, runtime: QueueRuntime) -> None:
        self._runtime = runtime

    def on_event(self, event: Event) -> bool:
        """A feature code keyed on an agent's leg: True if the event was one.
        Called in the inbound dispatcher greenlet: the transfer, which waits
        on the switch, runs in a greenlet of its own."""
        code = event.get(HEADER) if event.get("Event-Name") == "CHANNEL_APPLICATION" else None
        if code is None:
            return False
        self._runtime.spawn(self._keyed, event.get("Unique-ID") or "", code)
        return True

    def _keyed(self, agent_uuid: str, code: str) -> None:
        call_uuid = self._runtime.call_of_agent_leg(agent_uuid)
        caller = self._runtime.caller(call_uuid) if call_uuid else None
        queue = self._runtime.plan.queues.get(caller.queue) if caller is not None else None
        target = queue.transfer.codes.get(code) if queue is not None and queue.transfer is not None else None
        if target is None:
            log.info("agent leg %s keyed transfer code %r: no such code for its call", agent_uuid, code)
            return
        try:
            self.transfer(call_uuid, target.queue, target.reason, agent=True, attended=target.attended)
        except TransferRefused as exc:
            log.info("call %s: transfer refused: %s", call_uuid, exc, extra=fields(call=call_uuid))

    def transfer(self, call_uuid: str, queue: str, note: str = "", *, agent: bool = False,
                 attended: bool = False) -> str:
        """Send bridged call `call_uuid` on to rules queue `queue` with
        `note`; the queue it goes to (the cap may say another).  `agent`:
        asked by its agent (their name is `transfer_from`), else by a
        supervisor; `attended`: the agent stays on until the next one's
        bridge replaces theirs.  `TransferRefused` when it cannot be."""
        runtime = self._runtime
        caller = runtime.caller(call_uuid)
        offer = caller.offer if caller is not None else None
        if offer is None or offer.state is not OfferState.BRIDGED:
            raise TransferRefused(f"call {call_uuid} is not talking to an agent")
        if queue not in runtime.plan.queues:
            raise TransferRefused(f"no queue {queue!r}")
        if len(note) > MAX_NOTE:
            raise TransferRefused(f"the note has {len(note)} characters; at most {MAX_NOTE}")
        here = runtime.plan.queues.get(caller.queue)
        agent_id = offer.offer.agent_id
        known = runtime.plan.agents.get(agent_id)
        name = known.name if known is not None else agent_id
        by = name if agent else SUPERVISOR
        decision = decide(here.transfer if here is not None else None, queue, note, caller.variables, name, by)
        if decision.queue is None:
            raise TransferRefused(decision.refusal)
        variables = {**caller.variables, **decision.variables}
        try:
            acd_queue = runtime.layout.queue_for(decision.queue, variables)
        except PlanMappingError as exc:
            raise TransferRefused(str(exc)) from None
        now = runtime.now()
        target = runtime.plan.queues[decision.queue]
        log.info("call %s: transferred by %s from %s to %s%s (%s)", call_uuid, by, caller.queue, decision.queue,
                 " (over the cap)" if decision.over_cap else "", note, extra=fields(call=call_uuid, agent=agent_id))
        runtime.handle([Transferred(entry_id=call_uuid, from_queue=caller.acd_queue, to_queue=acd_queue, at=now,
                                    waited=now - caller.arrival, agent=agent_id,
                                    transfers=int(decision.variables["transfers"]))])
        if attended:
            caller.notify(AttendedTransfer(decision.queue, decision.variables))
            caller.held_over = offer
            runtime.spawn(self._hold_over, caller, offer, runtime.legs.watch(offer.agent_uuid))
        else:
            caller.notify(Transferring(decision.queue, decision.variables))
            runtime.offers.end_call(offer)  # the first agent wraps up
            runtime.switch.kill(offer.agent_uuid)  # the bridge ends: the caller parks, still ours
        keep = target.transfer is not None and target.transfer.keep_arrival
        caller.queue, caller.acd_queue, caller.variables = decision.queue, acd_queue, variables
        caller.arrival = caller.arrival if keep else now
        caller.priority = max(caller.priority, runtime.layout.priority_for(decision.queue, variables))
        runtime.back_in_line(call_uuid, caller)
        return decision.queue

    def _hold_over(self, caller, offer: OfferMachine, leg) -> None:
        """The first agent of an attended transfer: their call ends (they
        wrap up) when their leg hangs up -- dropped once the next agent's
        bridge is made (`OfferDriver`), with the caller leaving
        (`QueueRuntime`), or by themselves."""
        try:
            leg.hung_up.wait()
        finally:
            self._runtime.legs.forget(offer.agent_uuid)
            if caller.held_over is offer:
                caller.held_over = None
            self._runtime.offers.end_call(offer)
