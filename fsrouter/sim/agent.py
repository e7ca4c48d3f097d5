"""Simulated phones (agents' and customers') and the channels ``originate`` creates for them.

A `Phone` says how the far end behaves when FreeSWITCH rings it: on each
ring (`Phone.ring`) it answers after N seconds, never answers, is busy or
rejects; once answered it may hang up after a handle time and key digits.
`AgentScript` is an agent's phone registered as ``user/1001`` (it behaves
the same on every ring); `CustomerScript` is a customer reached through a
gateway (``sofia/gateway/carrier/+30...``) whose N-th ring follows its N-th
entry in ``attempts`` -- what a callback dialler meets.

`AgentChannel` is the outbound leg ``originate`` creates, laid out as the
recorded ``inbound_bridge.txt`` shows it: CHANNEL_OUTGOING, CS_INIT,
CHANNEL_CREATE, CHANNEL_ORIGINATE, CS_ROUTING, CHANNEL_PROGRESS, CS_CONSUME_MEDIA
while it rings, CHANNEL_ANSWER; then ``originate``'s BACKGROUND_JOB ``+OK
<uuid>`` and, in CS_EXECUTE, what the originate asked the leg to run: the
application after ``&`` (``&park()``, ``&playback(...)``), or an inline
dialplan (``'speak:flite|kal|Hello,park' inline``: each ``app:arg`` in
turn).  A failed originate ends the leg with the SIP cause (USER_BUSY,
CALL_REJECTED, NO_ANSWER after ``originate_timeout``, ORIGINATOR_CANCEL when
it was killed with that cause) and the job says ``-ERR <CAUSE>``; ``user/``
endpoints without a registration create no channel at all (``-ERR
USER_NOT_REGISTERED``), unknown users give ``-ERR SUBSCRIBER_ABSENT``.
"""

from __future__ import annotations

import math
import random
from dataclasses import KW_ONLY, dataclass, field
from typing import ClassVar

import gevent
import gevent.event

from fsrouter.sim import template
from fsrouter.sim.call import SimCall
from fsrouter.sim.caller import CallerScript, Press
from fsrouter.sim.channel import Channel, Outcome
from fsrouter.sim.dist import Duration, draw
from fsrouter.sim.fsutil import atoi

AGENT_HOST = "127.0.0.1"
AGENT_PORT = 5080


@dataclass(frozen=True)
class Ring:
    """What a phone does on one ring."""

    #: Sim seconds of ringing before it answers; None: it never does (NO_ANSWER).
    answer_after: float | None
    #: A cause it refuses with instead (USER_BUSY, CALL_REJECTED), after `Phone.fail_after`.
    refuse: str | None = None


@dataclass(frozen=True)
class Phone:
    """What every simulated phone has: where it is dialled and how it behaves once answered."""

    #: Who the far end is, as `SimCall.hung_up_by` says when it hangs up.
    party: ClassVar[str] = "agent"

    endpoint: str
    _: KW_ONLY
    #: Sim seconds after answer when the phone hangs up (or a callable taking the seeded rng).
    hang_up_after: Duration = None
    #: Keys pressed on the phone (``Press(at=...)``, sim seconds after answer).
    press: tuple[Press, ...] = field(default_factory=tuple)
    #: Sim seconds before a busy / reject answer comes back.
    fail_after: float = 0.1

    def __post_init__(self) -> None:
        object.__setattr__(self, "press", tuple(self.press))
        if any(p.at is None for p in self.press):
            raise ValueError("key presses on a phone need at= (sim seconds after answer)")

    @property
    def user(self) -> str:
        """The number or user part: ``user/1001@dom`` -> ``1001``, ``sofia/gateway/gw/+30..`` -> ``+30..``."""
        return self.endpoint.rpartition("/")[2].partition("@")[0]

    def handle_time(self, rng: random.Random) -> float | None:
        return draw(self.hang_up_after, rng)

    def ring(self, attempt: int) -> Ring:
        """What the phone does the `attempt`-th time it is rung (from 1)."""
        raise NotImplementedError


@dataclass(frozen=True)
class AgentScript(Phone):
    """An agent's registered phone; it behaves the same way every time it rings."""

    endpoint: str = "user/1001"
    #: Sim seconds of ringing before the agent answers; None: never answers (NO_ANSWER).
    answer_after: float | None = 2.0
    busy: bool = False  #: 486 Busy Here -> USER_BUSY
    reject: bool = False  #: 603 Decline -> CALL_REJECTED
    #: Not registered when added (`Switch.register` registers it): USER_NOT_REGISTERED, no channel.
    unregistered: bool = False

    def ring(self, attempt: int) -> Ring:
        refuse = "USER_BUSY" if self.busy else "CALL_REJECTED" if self.reject else None
        return Ring(self.answer_after, refuse)


#: One customer attempt: None (no answer), "busy", "reject", or sim seconds until they answer.
Attempt = float | str | None
_REFUSALS = {"busy": "USER_BUSY", "reject": "CALL_REJECTED"}


@dataclass(frozen=True)
class CustomerScript(Phone):
    """A customer's phone behind a gateway; the N-th dial goes as ``attempts[N-1]`` says.

    Dials beyond the list are not answered.
    """

    party: ClassVar[str] = "customer"

    endpoint: str = "sofia/gateway/carrier/+306912345678"
    attempts: tuple[Attempt, ...] = (2.0,)

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "attempts", tuple(self.attempts))
        for attempt in self.attempts:
            if not (attempt is None or attempt in _REFUSALS
                    or (isinstance(attempt, (int, float)) and not isinstance(attempt, bool) and attempt >= 0)):
                raise ValueError(f"an attempt is None, 'busy', 'reject' or seconds >= 0, not {attempt!r}")

    def ring(self, attempt: int) -> Ring:
        outcome = self.attempts[attempt - 1] if attempt <= len(self.attempts) else None
        if isinstance(outcome, str):
            return Ring(None, _REFUSALS[outcome])
        return Ring(None if outcome is None else float(outcome))


def parse_originate(arg: str) -> tuple[dict[str, str], str, str]:
    """``{a=b,c=d}endpoint rest`` -> (variables, endpoint, rest)."""
    text = arg.strip()
    variables: dict[str, str] = {}
    while text.startswith(("{", "[", "<")):
        close = {"{": "}", "[": "]", "<": ">"}[text[0]]
        end = text.find(close)
        if end < 0:
            break
        for pair in _split_outside_quotes(text[1:end], ","):
            name, _, value = pair.partition("=")
            if name.strip():
                variables[name.strip()] = value.strip().strip("'")
        text = text[end + 1:]
    endpoint, _, rest = text.partition(" ")
    return variables, endpoint, rest.strip()


def _split_outside_quotes(text: str, separator: str) -> list[str]:
    """Split on `separator` except inside single quotes (which are kept)."""
    parts, current, quoted = [], "", False
    for ch in text:
        if ch == "'":
            quoted = not quoted
        if ch == separator and not quoted:
            parts.append(current)
            current = ""
        else:
            current += ch
    if current:
        parts.append(current)
    return parts


#: An application a leg runs: (name, argument or None).
App = tuple[str, str | None]


def target_apps(target: str) -> tuple[list[App], str | None]:
    """What an originated leg runs once answered: (applications, dialplan extension).

    ``&app(arg)`` is one application.  ``<exten> inline`` is FreeSWITCH's
    inline dialplan: the extension is ``app:arg`` items separated by commas,
    run in order (the originate command line strips the single quotes around
    it).  Any other ``<exten> [XML [context]]`` is a dialplan extension the
    simulator does not model: the leg parks there.
    """
    if target.startswith("&"):
        app, _, arg = target[1:].partition("(")
        arg = arg.rpartition(")")[0] if ")" in arg else arg
        if not arg and " " in app:
            app, _, arg = app.partition(" ")
        return [(app.strip(), arg.strip() or None)], None
    argv = [part.replace("'", "") for part in _split_outside_quotes(target, " ") if part]
    if len(argv) > 1 and argv[1] == "inline":
        apps = []
        for item in argv[0].split(","):
            app, _, arg = item.strip().partition(":")
            if app:
                apps.append((app, arg or None))
        return apps, None
    return [("park", None)], argv[0] if argv else None


class AgentChannel(Channel):
    """The outbound leg of ``originate``: a `Channel` with a `Phone`'s behaviour."""

    def __init__(self, switch, phone: Phone, uuid: str, variables: dict[str, str],
                 target: str, session_id: int, attempt: int = 1) -> None:
        script = CallerScript(
            destination=phone.user,
            caller_id_number=variables.get("origination_caller_id_number", "0000000000"),
            caller_id_name=variables.get("origination_caller_id_name", "FreeSWITCH"),
            actions=phone.press)
        call = SimCall(uuid, script)
        call.endpoint = phone.endpoint
        call.origination = dict(variables)
        call.attempt = attempt
        super().__init__(switch, script, call, session_id)
        self.phone = phone
        self.ring_plan = phone.ring(attempt)
        self.target = target
        self.name = _channel_name(phone)
        self._identity["channel_name"] = self.name
        self.variables.clear()
        self.set_variable("direction", "outbound")
        self.set_variable("call_uuid", uuid)
        for name, value in variables.items():
            self.set_variable(name, value)
        self.bridge_in_park = False
        self.result: gevent.event.AsyncResult = gevent.event.AsyncResult()

    def channel_headers(self) -> list[tuple[str, str | None]]:
        replaced = {"Call-Direction": "outbound", "Presence-Call-Direction": "outbound",
                    "Channel-HIT-Dialplan": "false",
                    "Channel-Presence-ID": f"{self.phone.user}@{AGENT_HOST}"}
        headers = [(k, replaced.get(k, v)) for k, v in super().channel_headers()]
        return [(k, "outbound" if k in ("Caller-Direction", "Caller-Logical-Direction") else v)
                for k, v in headers]

    # ------------------------------------------------------------ the session thread

    def run(self) -> None:
        try:
            self._originate()
            if self.ready:
                self.result.set(None)
                gevent.sleep(0)  # originate's BACKGROUND_JOB goes out before the application starts
                self._set_state("CS_EXECUTE", 4)
                self._run_target()
        finally:
            if not self.result.ready():
                self.result.set(self.hangup_cause or "NORMAL_CLEARING")
        self._report()
        self._destroy()

    def _originate(self) -> None:
        self.driver.start()  # the phone's key presses, timed from the answer
        self.fire("CHANNEL_OUTGOING")
        self._set_state("CS_INIT", 1)
        self.fire("CHANNEL_CREATE")
        self.fire("CHANNEL_ORIGINATE")
        self._set_state("CS_ROUTING", 2)
        self._set_state("CS_CONSUME_MEDIA", 7)
        self.ring_ready()
        self._set_call_state("RINGING")
        timeout = atoi(self.variables.get("originate_timeout") or "60") or 60
        ring = self.ring_plan
        if ring.refuse is not None:
            self.media_wait(min(self.phone.fail_after, timeout), breakable=False)
            self.hangup(ring.refuse, by=self.phone.party)
            return
        answer_after = ring.answer_after if ring.answer_after is not None else math.inf
        if self.media_wait(min(answer_after, timeout), breakable=False) is Outcome.HANGUP:
            return
        if answer_after > timeout:
            self.hangup("NO_ANSWER", by="switch")
            return
        # SIP 200 OK with SDP: media and answer at once, no CHANNEL_PROGRESS_MEDIA (as recorded)
        self.media_up = True
        self.set_variables(template.MEDIA_VARIABLES)
        self.answer()
        self.fire("CHANNEL_OUTGOING")  # sent again once answered, as recorded
        self.fire("CALL_UPDATE", pre=[("Direction", "SEND")])
        handle = self.phone.handle_time(self.switch.rng_for("handle", self.phone.endpoint, self.call.attempt))
        self.call.handle_time = handle
        if handle is not None:
            self.switch.spawn(self._phone_hangs_up, delay=handle)

    def _phone_hangs_up(self) -> None:
        self.hangup("NORMAL_CLEARING", by=self.phone.party)

    def _run_target(self) -> None:
        """The originate's applications in turn, then any bridge; then FreeSWITCH hangs up.

        ``uuid_bridge`` takes the leg out of its extension: the applications
        not yet run are dropped and the bridge runs in the leg's state
        machine; park_after_bridge parks it again afterwards.
        """
        apps, extension = target_apps(self.target)
        self.call.transferred_to = extension
        for app, arg in apps:
            if not self.ready or self.bridge_pending is not None:
                break
            self.execute(app, arg)
        while self.ready and self.bridge_pending is not None:
            if self._bridge():
                self.park()
        # Once the extension is over, FreeSWITCH hangs the originated leg up.
        if self.ready:
            self.hangup("NORMAL_CLEARING", by="switch")


def _channel_name(phone: Phone) -> str:
    """``sofia/internal/1001@host:port`` for a registered user, ``sofia/external/<number>`` via a gateway."""
    if phone.endpoint.startswith("user/"):
        return f"sofia/internal/{phone.user}@{AGENT_HOST}:{AGENT_PORT}"
    return f"sofia/external/{phone.user}"
