"""The simulated FreeSWITCH: places calls into fsrouter and answers it like FreeSWITCH 1.10.

`Switch` owns what is switch-wide in FreeSWITCH: the sim clock, the event
bus and its sequence numbers, the channels by UUID, the application and API
tables.  `place_call` does what a SIP call hitting dialplan/fsrouter.xml
does -- ``socket <target> async full`` on a ringing channel, which fsrouter
answers itself (``answer_in_dialplan=True`` answers first, as the dialplan
of the recorded transcripts did) -- and returns at once with the `SimCall`
that records it.  `add_agent` registers simulated phones (`AgentScript`) that
the ``originate`` API command rings; the legs it creates are `AgentChannel`s,
recorded in `agent_calls`, and ``uuid_bridge`` joins them to callers.

Everything runs on the calling thread's gevent hub: use gevent (or
monkey-patched) sockets in the same thread to talk to it.
"""

from __future__ import annotations

import itertools
import random
import uuid as uuidlib

import gevent
import gevent.pool

from fsrouter.sim.agent import AgentChannel, AgentScript, parse_originate
from fsrouter.sim.apps import APPLICATIONS, MEDIA_APPLICATIONS, UNSUPPORTED
from fsrouter.sim.call import SimCall
from fsrouter.sim.caller import CallerScript
from fsrouter.sim.channel import Channel
from fsrouter.sim.clock import SimClock
from fsrouter.sim.events import EventBus, EventFactory, SimEvent, SwitchIdentity
from fsrouter.sim.session import EslSession


class Switch:
    def __init__(
        self,
        target: tuple[str, int] = ("127.0.0.1", 8084),
        *,
        time_scale: float = 1.0,
        sounds_dir: str | None = None,
        answer_in_dialplan: bool = False,
        dialplan_tail: float = 1.0,
        connect_timeout: float = 5.0,
        identity: SwitchIdentity | None = None,
        seed: int | None = None,
    ) -> None:
        """
        target: fsrouter's outbound listener, as in ``socket host:port async full``.
        sounds_dir: where relative playback paths are looked up (``sound_prefix``).
        answer_in_dialplan: the dialplan answers before ``socket`` (as in the
            transcripts); by default fsrouter gets a ringing channel and answers it.
        dialplan_tail: sim seconds a channel spends in the dialplan after it left
            fsrouter (the fallback after ``socket``, or a ``transfer`` target)
            before that dialplan hangs up; the simulator does not model those
            extensions beyond that.
        connect_timeout: real seconds the ``socket`` application waits for TCP.
        """
        self.target = target
        self.clock = SimClock(time_scale)
        self.sounds_dir = sounds_dir
        self.answer_in_dialplan = answer_in_dialplan
        self.dialplan_tail = dialplan_tail
        self.connect_timeout = connect_timeout
        self.identity = identity or SwitchIdentity()
        self.events = EventFactory(self.identity, self.clock)
        self.bus = EventBus()
        self.applications = APPLICATIONS
        self.media_applications = MEDIA_APPLICATIONS
        self.unsupported_applications = UNSUPPORTED
        self.rng = random.Random(seed)
        self.channels: dict[str, Channel] = {}
        self.calls: list[SimCall] = []
        #: Simulated phones by endpoint (``user/1001``), see `add_agent`.
        self.agents: dict[str, AgentScript] = {}
        #: The legs ``originate`` created, oldest first (their `SimCall` records).
        self.agent_calls: list[SimCall] = []
        self.sessions: set[EslSession] = set()
        self.sessions_since_startup = 0
        self.peak_sessions = 0
        self._session_ids = itertools.count(1)
        self._greenlets = gevent.pool.Group()

    def fire(self, event: SimEvent) -> None:
        self.bus.fire(event)

    def place_call(self, script: CallerScript) -> SimCall:
        """Start a call now; it runs in the background until its channel is destroyed."""
        call = SimCall(str(uuidlib.UUID(int=self.rng.getrandbits(128), version=4)), script)
        channel = Channel(self, script, call, next(self._session_ids))
        self.channels[channel.uuid] = channel
        self.calls.append(call)
        self.sessions_since_startup += 1
        self.peak_sessions = max(self.peak_sessions, len(self.channels))
        self.spawn(channel.run)
        return call

    def add_agent(self, script: AgentScript) -> AgentScript:
        """Register a simulated phone: ``originate <script.endpoint>`` rings it."""
        self.agents[script.endpoint] = script
        return script

    def originate(self, arg: str) -> str:
        """The ``originate`` API command: blocks until answer or failure, returns its output."""
        variables, endpoint, target = parse_originate(arg)
        if not endpoint:
            return "-USAGE: <call url> <exten>|&<application_name>(<app_args>) [<dialplan>] [<context>] [<cid_name>] [<cid_num>] [<timeout_sec>]\n"
        agent = self.agents.get(endpoint)
        if agent is None:
            if endpoint.startswith("user/"):
                return "-ERR SUBSCRIBER_ABSENT\n"
            return "-ERR CHAN_NOT_IMPLEMENTED\n"
        if agent.unregistered:
            return "-ERR USER_NOT_REGISTERED\n"
        uuid = variables.get("origination_uuid") or str(uuidlib.UUID(int=self.rng.getrandbits(128), version=4))
        if uuid in self.channels:
            return "-ERR DESTINATION_OUT_OF_ORDER\n"
        channel = AgentChannel(self, agent, uuid, variables, target, next(self._session_ids))
        self.channels[uuid] = channel
        self.agent_calls.append(channel.call)
        self.sessions_since_startup += 1
        self.peak_sessions = max(self.peak_sessions, len(self.channels))
        self.spawn(channel.run)
        cause = channel.result.get()
        return f"+OK {uuid}\n" if cause is None else f"-ERR {cause}\n"

    def agent_call(self, uuid: str) -> SimCall | None:
        """The record of an originated leg, live or ended."""
        return next((call for call in self.agent_calls if call.uuid == uuid), None)

    def spawn(self, function, *args, delay: float = 0.0) -> gevent.Greenlet:
        """Run `function` in the background (after `delay` sim seconds); `close` stops it."""
        greenlet = gevent.Greenlet(function, *args)
        self._greenlets.add(greenlet)
        if delay > 0:
            greenlet.start_later(self.clock.real(delay))
        else:
            greenlet.start()
        return greenlet

    def channel(self, uuid: str) -> Channel | None:
        return self.channels.get(uuid)

    def forget(self, channel: Channel) -> None:
        """The channel was destroyed: it is no longer known by UUID."""
        self.channels.pop(channel.uuid, None)
        channel.call.finish()

    def close(self) -> None:
        """Stop every call and close every socket at once (end of a test, service shutdown)."""
        self._greenlets.kill()
        for session in list(self.sessions):
            session.abort()

    def __enter__(self) -> Switch:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
