"""Simulated agent endpoints and the channels ``originate`` creates for them.

`AgentScript` says how the phone registered as ``user/1001`` behaves when
FreeSWITCH rings it (answers after N seconds, never answers, is busy,
rejects, is not registered, hangs up after a handle time, keys digits).
`AgentChannel` is the outbound leg ``originate`` creates, laid out as the
recorded ``inbound_bridge.txt`` shows it: CHANNEL_OUTGOING, CS_INIT,
CHANNEL_CREATE, CHANNEL_ORIGINATE, CS_ROUTING, CHANNEL_PROGRESS, CS_CONSUME_MEDIA
while it rings, CHANNEL_ANSWER; then ``originate``'s BACKGROUND_JOB ``+OK
<uuid>`` and the application after ``&`` (``park()``, ``playback(...)``) in
CS_EXECUTE.  A failed originate ends the leg with the SIP cause
(USER_BUSY, CALL_REJECTED, NO_ANSWER after ``originate_timeout``,
ORIGINATOR_CANCEL when it was killed with that cause) and the job says
``-ERR <CAUSE>``; ``user/`` endpoints without a registration create no
channel at all (``-ERR USER_NOT_REGISTERED``), unknown users give
``-ERR SUBSCRIBER_ABSENT``.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field

import gevent
import gevent.event

from fsrouter.sim import template
from fsrouter.sim.call import SimCall
from fsrouter.sim.caller import CallerScript, Press
from fsrouter.sim.channel import Channel, Outcome
from fsrouter.sim.fsutil import atoi

#: A handle time: fixed sim seconds, or drawn from the switch's seeded rng.
HandleTime = float | Callable[[random.Random], float] | None

AGENT_HOST = "127.0.0.1"
AGENT_PORT = 5080


@dataclass(frozen=True)
class AgentScript:
    endpoint: str = "user/1001"
    #: Sim seconds of ringing before the agent answers; None: never answers (NO_ANSWER).
    answer_after: float | None = 2.0
    busy: bool = False  #: 486 Busy Here -> USER_BUSY
    reject: bool = False  #: 603 Decline -> CALL_REJECTED
    unregistered: bool = False  #: no registration -> USER_NOT_REGISTERED, no channel
    #: Sim seconds after answer when the agent hangs up (or a callable taking the seeded rng).
    hang_up_after: HandleTime = None
    #: Keys the agent presses (``Press(at=...)``, sim seconds after answer).
    press: tuple[Press, ...] = field(default_factory=tuple)
    #: Sim seconds before a busy / reject answer comes back.
    fail_after: float = 0.1

    def __post_init__(self) -> None:
        object.__setattr__(self, "press", tuple(self.press))
        if any(p.at is None for p in self.press):
            raise ValueError("agent key presses need at= (sim seconds after answer)")

    @property
    def user(self) -> str:
        return self.endpoint.rpartition("/")[2].partition("@")[0]

    def handle_time(self, rng: random.Random) -> float | None:
        if self.hang_up_after is None:
            return None
        if callable(self.hang_up_after):
            return float(self.hang_up_after(rng))
        return float(self.hang_up_after)


class OriginateError(Exception):
    def __init__(self, cause: str) -> None:
        super().__init__(cause)
        self.cause = cause


def parse_originate(arg: str) -> tuple[dict[str, str], str, str]:
    """``{a=b,c=d}endpoint rest`` -> (variables, endpoint, rest)."""
    text = arg.strip()
    variables: dict[str, str] = {}
    while text.startswith(("{", "[", "<")):
        close = {"{": "}", "[": "]", "<": ">"}[text[0]]
        end = text.find(close)
        if end < 0:
            break
        for pair in _split_vars(text[1:end]):
            name, _, value = pair.partition("=")
            if name.strip():
                variables[name.strip()] = value.strip().strip("'")
        text = text[end + 1:]
    endpoint, _, rest = text.partition(" ")
    return variables, endpoint, rest.strip()


def _split_vars(text: str) -> list[str]:
    parts, current, quoted = [], "", False
    for ch in text:
        if ch == "'":
            quoted = not quoted
        if ch == "," and not quoted:
            parts.append(current)
            current = ""
        else:
            current += ch
    if current:
        parts.append(current)
    return parts


class AgentChannel(Channel):
    """The outbound leg of ``originate user/...``: a `Channel` with an agent's behaviour."""

    def __init__(self, switch, agent: AgentScript, uuid: str, variables: dict[str, str],
                 target: str, session_id: int) -> None:
        script = CallerScript(
            destination=agent.user,
            caller_id_number=variables.get("origination_caller_id_number", "0000000000"),
            caller_id_name=variables.get("origination_caller_id_name", "FreeSWITCH"),
            actions=agent.press)
        call = SimCall(uuid, script)
        call.endpoint = agent.endpoint
        super().__init__(switch, script, call, session_id)
        self.agent = agent
        self.target = target
        self.name = f"sofia/internal/{agent.user}@{AGENT_HOST}:{AGENT_PORT}"
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
                    "Channel-Presence-ID": f"{self.agent.user}@{AGENT_HOST}"}
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
        self.driver.start()  # the agent's key presses, timed from the answer
        self.fire("CHANNEL_OUTGOING")
        self._set_state("CS_INIT", 1)
        self.fire("CHANNEL_CREATE")
        self.fire("CHANNEL_ORIGINATE")
        self._set_state("CS_ROUTING", 2)
        self._set_state("CS_CONSUME_MEDIA", 7)
        self.ring_ready()
        self._set_call_state("RINGING")
        timeout = atoi(self.variables.get("originate_timeout") or "60") or 60
        agent = self.agent
        if agent.busy or agent.reject:
            self.media_wait(min(agent.fail_after, timeout), breakable=False)
            self.hangup("USER_BUSY" if agent.busy else "CALL_REJECTED", by="agent")
            return
        ring = agent.answer_after if agent.answer_after is not None else math.inf
        if self.media_wait(min(ring, timeout), breakable=False) is Outcome.HANGUP:
            return
        if ring > timeout:
            self.hangup("NO_ANSWER", by="switch")
            return
        # SIP 200 OK with SDP: media and answer at once, no CHANNEL_PROGRESS_MEDIA (as recorded)
        self.media_up = True
        self.set_variables(template.MEDIA_VARIABLES)
        self.answer()
        self.fire("CHANNEL_OUTGOING")  # sent again once answered, as recorded
        self.fire("CALL_UPDATE", pre=[("Direction", "SEND")])
        handle = agent.handle_time(self.switch.rng)
        self.call.handle_time = handle
        if handle is not None:
            self.switch.spawn(self._agent_hangs_up, delay=handle)

    def _agent_hangs_up(self) -> None:
        self.hangup("NORMAL_CLEARING", by="agent")

    def _run_target(self) -> None:
        """``&app(arg)``, or a dialplan extension (not modelled: it parks there)."""
        target = self.target
        if target.startswith("&"):
            app, _, arg = target[1:].partition("(")
            arg = arg.rpartition(")")[0] if ")" in arg else arg
            if not arg and " " in app:
                app, _, arg = app.partition(" ")
            self.execute(app.strip(), arg.strip() or None)
        else:
            self.call.transferred_to = target.split()[0] if target else None
            self.park()
        # uuid_bridge ended the application (park, playback): the bridge runs in
        # the leg's state machine; park_after_bridge parks it again afterwards.
        while self.ready and self.bridge_pending is not None:
            if self._bridge():
                self.park()
        # Once the application is over, FreeSWITCH hangs the originated leg up.
        if self.ready:
            self.hangup("NORMAL_CLEARING", by="switch")
