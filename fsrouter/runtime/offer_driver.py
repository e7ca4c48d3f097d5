"""Carrying out offers: the IO side of the sans-IO `OfferMachine`.

What happens to an offer is decided by its `OfferMachine`
(fsrouter/offer/machine.py, drawn in docs/offer.md); this driver gives each
offer a greenlet that feeds it events (originate results, the leg's park or
hang-up, the whisper deadline, the ACD cancelling the offer, the caller
leaving) and carries out its commands (`_performers`).  The agent's leg is
originated beside the held caller, says the queue's whisper (heard by the
agent only) and parks; only then is it bridged to the caller, and the
caller's runner told.  An agent who does not answer, or hangs up during the
whisper, costs the caller nothing but time: the miss is reported, the caller
keeps their place and the next agent is tried.

It lives apart from `QueueRuntime` because it is the one part that waits on
the switch for long (a ring, a whisper, a bridge): the runtime's callers,
dispatcher and reloads reach it only through `begin`, `cancel`, `end_call`
and `held_legs`, and it reaches them only through `OfferHost`.  Every wait is
bounded: an originate at most its ring timeout plus `originate_margin`, a
whisper at most the offer's `whisper_timeout`, every `api` at most the
switch's `command_timeout`.
"""

from __future__ import annotations

import logging
import uuid as uuidlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import gevent
import gevent.event

from fsrouter import fsvalues
from fsrouter.acd import InMemoryAcd, Offer, UnknownOffer
from fsrouter.acd.model import MissReason
from fsrouter.esl.errors import ESLConnectionClosed, ESLError, ESLTimeout
from fsrouter.logs import fields
from fsrouter.rules.plan import Queue
from fsrouter.offer.machine import (
    AttachCall,
    BackInLine,
    Bridge,
    BridgeError,
    BridgeOk,
    BridgeUnknown,
    CallbackDone,
    CallerGone,
    CallerLeft,
    CallerThere,
    Cancelled,
    CheckCaller,
    ConnectCallback,
    ConnectionLost,
    ForgetCaller,
    ForgetLeg,
    KillLeg,
    LegHungUp,
    LegParked,
    NotifyCaller,
    OfferMachine,
    OfferState,
    Originate,
    OriginateFailed,
    OriginateOk,
    Report,
    Reported,
    ReportToAcd,
    Start,
    Timeout,
    VerifyBridge,
    WatchLeg,
)
from fsrouter.offer.messages import Bridged, BridgeFailed
from fsrouter.runtime import orphan_legs
from fsrouter.runtime.agent_presence import refused_unregistered
from fsrouter.runtime.callback_dialer import RULES_QUEUE
from fsrouter.runtime.callers import Caller
from fsrouter import speech
from fsrouter.runtime.legs import Legs, miss_reason, originate_command, speak
from fsrouter.runtime.switch_commands import SwitchCommands
from fsrouter.runtime.switch_sync import SwitchSync
from fsrouter.runtime.transfers import meta_bindings

log = logging.getLogger(__name__)


def _log_fields(offer: Offer) -> dict[str, object]:
    """``extra=`` for an offer's log records: its call, queue and agent."""
    return fields(call=offer.entry_id, queue=offer.queue, agent=offer.agent_id)


class OfferHost(Protocol):
    """What the driver needs of the queue runtime."""

    acd: InMemoryAcd
    plan: Any
    """The current rules plan: whispers come from it."""
    callbacks: Any
    """The `CallbackDialer`, or None when the service has no store."""

    def now(self) -> float: ...
    def handle(self, events: list) -> None: ...
    def wake(self) -> None: ...
    def report(self, report: Callable[[], list]) -> list | None: ...
    def call_ended(self, offer_id: int) -> None: ...
    def caller(self, entry_id: str) -> Caller | None: ...
    def forget_caller(self, entry_id: str) -> None: ...
    def back_in_line(self, entry_id: str, caller: Caller) -> None: ...


@dataclass
class Ringing:
    """An offer being carried out by its greenlet; `woken` interrupts its
    wait for the agent's leg (the offer was cancelled)."""

    machine: OfferMachine
    connection: int
    """`SwitchSync.connections` when the offer began: a reconnect since
    means the leg's events may have been lost with the old connection."""
    woken: gevent.event.Event = field(default_factory=gevent.event.Event)


class OfferDriver:
    """Drives every offer under way, one greenlet each."""

    def __init__(self, host: OfferHost, switch: SwitchCommands, sync: SwitchSync, legs: Legs, *,
                 instance: str, tts: str | Mapping[str, str], originate_margin: float, max_sleep: float,
                 spawn: Callable[..., object]) -> None:
        """`instance` marks the legs originated (see `orphan_legs`); `tts` is
        the `engine|voice` whispers are spoken with, or one per agent
        language (`{"default": "flite|kal", "ru": "tts_commandline|ru"}`,
        see `config.tts_voices`); `max_sleep` the pause
        between tries to verify a bridge while the connection is down;
        `spawn` runs each offer's greenlet."""
        self._host = host
        self._switch = switch
        self._sync = sync
        self._legs = legs
        self._instance = instance
        self._tts = tts if isinstance(tts, Mapping) else {"default": tts}
        self._originate_margin = originate_margin
        self._max_sleep = max_sleep
        self._spawn = spawn
        self._ringing: dict[int, Ringing] = {}
        self._reports = {
            Report.RINGING: lambda offer_id, c: host.acd.ringing(offer_id, host.now()),
            Report.CONNECTING: lambda offer_id, c: host.acd.connecting(offer_id, host.now(), c.hold_for),
            Report.ANSWERED: lambda offer_id, c: host.acd.answered(offer_id, host.now()),
            Report.MISSED: lambda offer_id, c: host.acd.missed(offer_id, c.reason, host.now()),
        }
        self._performers = {
            ReportToAcd: self._perform_report, Originate: self._perform_originate,
            WatchLeg: lambda m, c: legs.watch(c.uuid),
            ForgetLeg: lambda m, c: legs.forget(c.uuid), KillLeg: lambda m, c: switch.kill(c.uuid),
            AttachCall: self._perform_attach, NotifyCaller: self._perform_notify,
            Bridge: self._perform_bridge, VerifyBridge: self._perform_verify, CheckCaller: self._perform_check,
            BackInLine: self._perform_back_in_line, ForgetCaller: self._perform_forget_caller,
            ConnectCallback: self._perform_callback,
        }
        """How each of the offer machine's commands is carried out; for a
        command that `awaits_result`, the performer returns the result as the
        machine's next event."""

    # -- what the queue runtime asks ---------------------------------------

    def begin(self, offer: Offer, whisper_timeout: float) -> None:
        """Carry `offer` out in a greenlet of its own, the agent given
        `whisper_timeout` to hear the whisper."""
        machine = OfferMachine(offer, str(uuidlib.uuid4()),
                               callback=offer.is_callback and self._host.callbacks is not None,
                               whisper_timeout=whisper_timeout,
                               hold_for=whisper_timeout + self._switch.command_timeout)
        self._ringing[offer.offer_id] = Ringing(machine, self._sync.connections)
        self._spawn(self._ring, offer.offer_id)

    def cancel(self, offer_id: int, reason: str) -> None:
        """The ACD cancelled the offer: its machine decides what that means."""
        ringing = self._ringing.get(offer_id)
        if ringing is not None:
            self._carry_out(ringing.machine, Cancelled(reason))
            ringing.woken.set()

    def end_call(self, machine: OfferMachine) -> None:
        """The answered call is over (or never got bridged): the agent wraps up."""
        self._carry_out(machine, CallerLeft())

    def held_legs(self) -> set[str]:
        """The agents' legs of the offers under way that this fsrouter holds."""
        return {r.machine.agent_uuid for r in self._ringing.values() if r.machine.holds_leg}

    # -- one offer ---------------------------------------------------------

    def _ring(self, offer_id: int) -> None:
        """Carry out one offer's machine until it waits no more: dial the
        agent, whisper, then bridge (or the callback dialer's part); the
        machine says when to report a miss, so the next agent is tried."""
        ringing = self._ringing[offer_id]
        try:
            self._carry_out(ringing.machine, Start())
            while ringing.machine.awaits_leg:
                event = self._leg_news(ringing)
                if event is not None:
                    self._carry_out(ringing.machine, event)
        except Exception:  # a bug: neither the agent's leg nor the caller is left hanging
            offer = ringing.machine.offer
            log.exception("offer %d (agent %s, call %s) failed in state %s; given up",
                          offer_id, offer.agent_id, offer.entry_id, ringing.machine.state,
                          extra=_log_fields(offer))
            try:
                self._give_up(ringing.machine)
            except Exception:
                log.exception("offer %d could not be given up", offer_id)
        finally:
            self._ringing.pop(offer_id, None)
            self._host.wake()

    def _give_up(self, machine: OfferMachine) -> None:
        """End an offer whose carrying out failed midway, whatever it had
        got to: the agent's leg hung up, the ACD told (before the answer a
        miss that costs the agent nothing and keeps the caller's place,
        after it the call is over), and a caller answered but not bridged
        put back in line.  A bridged call goes on: the caller's leaving ends it."""
        if machine.state is OfferState.BRIDGED:
            return
        offer = machine.offer
        if machine.holds_leg:
            self._switch.drop_leg(machine.agent_uuid)
        try:
            self._host.handle(self._host.acd.missed(offer.offer_id, MissReason.LOST, self._host.now()))
            return
        except UnknownOffer:  # answered (or already over)
            self._host.call_ended(offer.offer_id)
        caller = self._host.caller(offer.entry_id)
        if (machine.state in _ANSWERED_UNBRIDGED and caller is not None and caller.offer in (None, machine)
                and not self._host.acd.has_entry(offer.entry_id)):
            if machine.state in (OfferState.BRIDGING, OfferState.VERIFYING):  # told `Bridging`: their runner waits
                caller.notify(BridgeFailed(offer.agent_id))
            self._host.back_in_line(offer.entry_id, caller)

    def _leg_news(self, ringing: Ringing):
        """Wait for the agent's leg to park or hang up, or for the whisper's
        deadline; None when woken for another reason (the offer was cancelled)."""
        machine = ringing.machine
        leg = self._legs.get(machine.agent_uuid)
        if leg is None:
            return LegHungUp("not watched")  # dropped meanwhile: nothing to wait for
        ringing.woken.clear()
        state = leg.wait_parked(max(0.0, machine.deadline - self._host.now()), interrupt=ringing.woken)
        if state == "parked":
            return LegParked()
        if state == "hangup":
            event = LegHungUp(leg.hung_up.get())
        elif self._host.now() >= machine.deadline or not ringing.woken.is_set():
            # The park may have come while the connection was down: not the agent's doing.
            connected = self._switch.connected and self._sync.connections == ringing.connection
            event = Timeout() if connected else ConnectionLost()
        else:
            return None
        offer = machine.offer
        log.info("agent %s: %s during the whisper for call %s",
                 offer.agent_id, "hangup" if isinstance(event, LegHungUp) else "timeout", offer.entry_id,
                 extra=_log_fields(offer))
        return event

    def _carry_out(self, machine: OfferMachine, event) -> None:
        """Feed `event` and carry out the commands; a command with a result
        (always the last of its batch) feeds that result in turn."""
        commands = machine.feed(event, self._host.now())
        while commands:
            command = commands.pop(0)
            result = self._performers[type(command)](machine, command)
            if command.awaits_result:
                commands[:0] = machine.feed(result, self._host.now())

    def _perform_report(self, machine: OfferMachine, command: ReportToAcd):
        offer = machine.offer
        if command.report is Report.CALL_ENDED:
            self._host.call_ended(offer.offer_id)
            return None  # not awaited: the offer is over either way
        report = self._reports[command.report]
        accepted = self._host.report(lambda: report(offer.offer_id, command))
        return Reported() if accepted is not None else Cancelled("the ACD no longer has the offer")

    def _perform_originate(self, machine: OfferMachine, command: Originate):
        result = self._originate(machine)
        if result.startswith("+OK"):
            return OriginateOk()
        offer = machine.offer
        log.info("agent %s missed call %s: %s", offer.agent_id, offer.entry_id, result.strip(),
                 extra=_log_fields(offer))
        if refused_unregistered(result):
            self._sync.phone_refused(offer.agent_id)  # until it registers again
        return OriginateFailed(miss_reason(result), result.strip())

    def _perform_bridge(self, machine: OfferMachine, command: Bridge):
        bridged = self._switch.bridge(command.caller_uuid, command.agent_uuid)
        if bridged is None:
            return BridgeUnknown()
        if not bridged:
            return BridgeError()
        log.info("call %s: bridged to agent %s", command.caller_uuid, machine.offer.agent_id,
                 extra=_log_fields(machine.offer))
        return BridgeOk()

    def _perform_verify(self, machine: OfferMachine, command: VerifyBridge):
        """Wait for the connection to come back, then ask the agent's leg
        whom it is bridged to: `switch_ivr_uuid_bridge` (switch_ivr_bridge.c)
        sets each leg's ``bridge_uuid`` to the other's uuid, and
        ``uuid_getvar`` (mod_commands.c) answers ``_undef_`` when unset,
        ``-ERR No such channel!`` when the leg is gone."""
        question = fsvalues.api_command("uuid_getvar", command.agent_uuid, "bridge_uuid")
        while machine.state is OfferState.VERIFYING:  # the caller leaving ends the wait
            if self._switch.connected:
                try:
                    answer = self._switch.api(question).strip()
                except (ESLConnectionClosed, ESLTimeout):
                    answer = None  # lost again: asked once it is back
                except ESLError:
                    answer = ""  # the leg is gone: bridged to nobody
                if answer is not None:
                    bridged = answer == command.caller_uuid
                    log.info("call %s: the bridge to agent %s %s made", command.caller_uuid,
                             machine.offer.agent_id, "was" if bridged else "was not",
                             extra=_log_fields(machine.offer))
                    return BridgeOk() if bridged else BridgeError()
            gevent.sleep(self._max_sleep)
        return BridgeError()  # moot: the offer is over

    def _perform_check(self, machine: OfferMachine, command: CheckCaller):
        return CallerThere() if self._switch.channel_exists(command.uuid) else CallerGone()

    def _perform_notify(self, machine: OfferMachine, command: NotifyCaller) -> None:
        caller = self._host.caller(command.entry_id)
        if caller is not None:
            caller.notify(command.message)
            if isinstance(command.message, Bridged) and caller.held_over is not None:
                self._switch.kill(caller.held_over.agent_uuid)  # attended transfer: the first agent drops

    def _perform_attach(self, machine: OfferMachine, command: AttachCall) -> None:
        caller = self._host.caller(command.entry_id)
        if caller is not None:
            caller.offer = machine

    def _perform_back_in_line(self, machine: OfferMachine, command: BackInLine) -> None:
        caller = self._host.caller(command.entry_id)
        if caller is not None:
            self._host.back_in_line(command.entry_id, caller)

    def _perform_forget_caller(self, machine: OfferMachine, command: ForgetCaller) -> None:
        self._host.forget_caller(command.entry_id)  # the caller is gone: nobody to put back

    def _perform_callback(self, machine: OfferMachine, command: ConnectCallback):
        self._host.callbacks.connect(machine)
        return CallbackDone()

    def _originate(self, machine: OfferMachine) -> str:
        offer = machine.offer
        context, queue = self._offer_context(offer)
        settings = {
            "origination_uuid": machine.agent_uuid,
            "origination_caller_id_number": context.get("caller_id_number", ""),
            "fsrouter_queue": offer.queue,
            "fsrouter_caller_uuid": offer.entry_id,
            "originate_timeout": str(max(1, round(offer.ring_timeout))),
            **{f"fsrouter_{k}": v for k, v in context.items() if k in _CONTEXT_VARIABLES},
            **orphan_legs.marker(orphan_legs.AGENT, self._instance),
        }
        language, whisper = self.whisper(offer, context, queue)
        voice = self._tts.get(language) or self._tts["default"]
        # The agent's `*<code>` transfer keys (runtime/transfers.py): a live caller's queue's, none for a callback.
        transfer = queue.transfer if queue is not None and not offer.is_callback else None
        try:
            greeting = [*meta_bindings(transfer), *([speak(voice, whisper)] if whisper else [])]
            command = originate_command(settings, offer.dial, greeting)
        except fsvalues.UnsafeValue as exc:
            log.error("agent %s not dialled: %s", offer.agent_id, exc, extra=_log_fields(offer))
            return "-ERR INVALID_DIAL_STRING"
        return self._switch.bgapi_result(command, offer.ring_timeout + self._originate_margin, machine.agent_uuid)

    def _offer_context(self, offer: Offer) -> tuple[Mapping[str, str], Queue | None]:
        """The call's variables, for the agent leg and the whisper, and its
        rules queue (a callback's: the one it was booked in), looked up once."""
        queues = self._host.plan.queues
        if offer.is_callback and self._host.callbacks is not None:
            context = self._host.callbacks.context(offer)
            return context, queues.get(context.get(RULES_QUEUE, ""))
        caller = self._host.caller(offer.entry_id)
        return (caller.variables, queues.get(caller.queue)) if caller is not None else ({}, None)

    def whisper(self, offer: Offer, context: Mapping[str, str], queue: Queue | None) -> tuple[str, str]:
        """The language and the text the agent hears before the bridge (""
        for none): the rules queue's `whisper` (its text in the agent's
        language if it has one), or its `callback.whisper` for a callback.
        A text not in the agent's language is said in its own (the first
        of a queue's texts, else the rules' default), wait included."""
        if offer.is_callback:
            template = queue.callback.whisper if queue is not None and queue.callback is not None else None
        else:
            template = queue.whisper if queue is not None else None
        language = self._host.plan.settings.language
        said = ""
        if template is not None:
            whispers = {} if offer.is_callback else queue.whispers
            wanted = self._agent_language(offer)
            if wanted in whispers:
                language, template = wanted, whispers[wanted]
            elif whispers:
                language = next(iter(whispers))  # the first text, `queue.whisper`
            spoken = {"queue": queue.title, "waited": speech.spoken_wait(offer.waited, language)}
            if "number" in context:  # a callback's number: digit by digit, not "six billion..."
                spoken["number"] = speech.spoken_digits(context["number"])
            said = template.render({**context, **spoken})
        if context.get("transfer_from") and not offer.is_callback:  # runtime/transfers.py
            if template is None:  # no whisper of the queue's: the prefix is in the agent's language
                language = self._agent_language(offer)
            preamble = speech.transfer_preamble(context["transfer_from"], context.get("transfer_note", ""), language)
            said = f"{preamble} {said}".strip()
        return language, said

    def _agent_language(self, offer: Offer) -> str:
        """The language the agent hears the whisper in: theirs, else the rules' default."""
        agent = self._host.plan.agents.get(offer.agent_id)
        return (agent.language if agent is not None else None) or self._host.plan.settings.language


_ANSWERED_UNBRIDGED = frozenset({OfferState.ANSWERING, OfferState.BRIDGING, OfferState.VERIFYING,
                                 OfferState.CHECKING})
"""Offer states in which the caller may be out of line, answered but not bridged."""

_CONTEXT_VARIABLES = frozenset({"brand", "topic", "language", "vip", "line", "destination_number"})
"""Call variables copied onto the agent's leg as `fsrouter_<name>`, so the
agent's phone, CDRs and the dialplan see the call's context."""
