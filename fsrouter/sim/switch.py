"""The simulated FreeSWITCH: places calls into fsrouter and answers it like FreeSWITCH 1.10.

`Switch` owns what is switch-wide in FreeSWITCH: the sim clock, the event
bus and its sequence numbers, the channels by UUID, the application and API
tables.  `place_call` does what a SIP call hitting dialplan/fsrouter.xml
does -- ``socket <target> async full`` on a ringing channel, which fsrouter
answers itself (``answer_in_dialplan=True`` answers first, as the dialplan
of the recorded transcripts did) -- and returns at once with the `SimCall`
that records it.  `add_agent` and `add_customer` add simulated phones
(`AgentScript`, `CustomerScript`) that the ``originate`` API command rings;
the legs it creates are `AgentChannel`s, recorded in `agent_calls` and
`customer_calls` (and per endpoint in `dials`), and ``uuid_bridge`` joins
them to callers.  An agent's phone registers when it is added (unless
scripted `unregistered`); `register` / `unregister` change its SIP
registration and fire mod_sofia's events for it, and ``show registrations``
lists the registered ones as the core database does (`sim.tables`).

Everything runs on the calling thread's gevent hub: use gevent (or
monkey-patched) sockets in the same thread to talk to it.
"""

from __future__ import annotations

import itertools
import random
import uuid as uuidlib
from collections import defaultdict

import gevent
import gevent.pool

from fsrouter.sim.agent import AGENT_HOST, AGENT_PORT, AgentChannel, AgentScript, CustomerScript, Phone, parse_originate
from fsrouter.sim.apps import APPLICATIONS, MEDIA_APPLICATIONS, UNSUPPORTED
from fsrouter.sim.call import SimCall
from fsrouter.sim.caller import CallerScript
from fsrouter.sim.channel import Channel
from fsrouter.sim.clock import SimClock
from fsrouter.sim.dist import draw
from fsrouter.sim.media import LOCAL_STREAMS
from fsrouter.sim.events import EventBus, EventFactory, SimEvent, SwitchIdentity
from fsrouter.sim.session import EslSession
from fsrouter.sim.sofia import Registration


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
        sql: bool = True,
        local_streams: frozenset[str] = LOCAL_STREAMS,
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
        sql: the core database is on; off (``freeswitch -nosql``, switch.c),
            ``show`` answers ``-ERR SQL disabled, no data available!``
            (mod_commands.c, show_function).
        local_streams: mod_local_stream's sources (``local_stream://NAME``
            plays ``NAME/<rate>``, ``NAME`` or ``default``; `sim.media`).
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
        self.seed = seed
        self.rng = random.Random(seed)
        self.channels: dict[str, Channel] = {}
        self.calls: list[SimCall] = []
        #: Simulated phones by endpoint (``user/1001``), see `add_agent` and `add_customer`.
        self.phones: dict[str, Phone] = {}
        #: Endpoints whose phone is not registered now (`unregister`).
        self.unregistered: set[str] = set()
        self.sql = sql
        self.local_streams = frozenset(local_streams)
        #: The legs ``originate`` created to agents' and to customers' phones, oldest first.
        self.agent_calls: list[SimCall] = []
        self.customer_calls: list[SimCall] = []
        self._dials: dict[str, list[SimCall]] = defaultdict(list)
        self._registrations: dict[str, Registration] = {}
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
        call.patience = draw(script.patience, self.rng_for("patience", len(self.calls)))
        channel = Channel(self, script, call, next(self._session_ids))
        self.channels[channel.uuid] = channel
        self.calls.append(call)
        self.sessions_since_startup += 1
        self.peak_sessions = max(self.peak_sessions, len(self.channels))
        self.spawn(channel.run)
        return call

    def add_agent(self, script: AgentScript) -> AgentScript:
        """Add an agent's phone: ``originate <script.endpoint>`` rings it (if registered)."""
        self.phones[script.endpoint] = script
        if script.unregistered:
            self.unregistered.add(script.endpoint)
        elif not script.endpoint.startswith("sofia/gateway/"):
            self.register(script.endpoint)
        return script

    def add_customer(self, script: CustomerScript) -> CustomerScript:
        """Add a customer's phone behind a gateway; each dial follows its next attempt."""
        self.phones[script.endpoint] = script
        return script

    def register(self, endpoint: str) -> None:
        """The phone at `endpoint` registers: it rings again; ``sofia::register`` fires."""
        self.unregistered.discard(endpoint)
        self.fire(self._registration(endpoint).register(self.events))

    def unregister(self, endpoint: str, expired: bool = False) -> None:
        """The phone unregisters (``sofia::unregister``) or its registration lapses
        (`expired`: ``sofia::expire``); originating to it fails with USER_NOT_REGISTERED.
        Calls already ringing it are left alone, as in FreeSWITCH."""
        self.unregistered.add(endpoint)
        registration = self._registration(endpoint)
        self.fire(registration.expire(self.events) if expired else registration.unregister(self.events))

    def registrations(self) -> list[Registration]:
        """The phones registered now, as the registrations table holds them."""
        return [registration for endpoint, registration in self._registrations.items()
                if endpoint not in self.unregistered]

    def _registration(self, endpoint: str) -> Registration:
        if endpoint not in self._registrations:
            self._registrations[endpoint] = Registration(endpoint, self.identity.ipv4, AGENT_HOST, AGENT_PORT)
        return self._registrations[endpoint]

    def originate(self, arg: str) -> str:
        """The ``originate`` API command: blocks until answer or failure, returns its output."""
        variables, endpoint, target = parse_originate(arg)
        if not endpoint:
            return "-USAGE: <call url> <exten>|&<application_name>(<app_args>) [<dialplan>] [<context>] [<cid_name>] [<cid_num>] [<timeout_sec>]\n"
        phone = self.phones.get(endpoint)
        if phone is None:
            return f"-ERR {self._unreachable(endpoint)}\n"
        if endpoint in self.unregistered:
            return "-ERR USER_NOT_REGISTERED\n"
        uuid = variables.get("origination_uuid") or str(uuidlib.UUID(int=self.rng.getrandbits(128), version=4))
        if uuid in self.channels:
            return "-ERR DESTINATION_OUT_OF_ORDER\n"
        dials = self._dials[endpoint]
        channel = AgentChannel(self, phone, uuid, variables, target, next(self._session_ids), len(dials) + 1)
        self.channels[uuid] = channel
        dials.append(channel.call)
        (self.customer_calls if isinstance(phone, CustomerScript) else self.agent_calls).append(channel.call)
        self.sessions_since_startup += 1
        self.peak_sessions = max(self.peak_sessions, len(self.channels))
        self.spawn(channel.run)
        cause = channel.result.get()
        return f"+OK {uuid}\n" if cause is None else f"-ERR {cause}\n"

    def _unreachable(self, endpoint: str) -> str:
        """Why FreeSWITCH cannot reach an endpoint nobody scripted.

        An unknown ``user/`` is SUBSCRIBER_ABSENT; an unknown gateway is
        INVALID_GATEWAY (sofia_outgoing_channel); a number the carrier does not
        know comes back 404, which mod_sofia maps to UNALLOCATED_NUMBER (the
        simulator answers that without creating the channel).
        """
        if endpoint.startswith("user/"):
            return "SUBSCRIBER_ABSENT"
        if endpoint.startswith("sofia/gateway/"):
            gateway = endpoint.split("/")[2]
            known = {p.endpoint.split("/")[2] for p in self.phones.values()
                     if p.endpoint.startswith("sofia/gateway/")}
            return "UNALLOCATED_NUMBER" if gateway in known else "INVALID_GATEWAY"
        return "CHAN_NOT_IMPLEMENTED"

    def dials(self, endpoint: str) -> list[SimCall]:
        """Every leg originated to `endpoint`, oldest first: what each dial met, heard and was bridged with."""
        return list(self._dials.get(endpoint, ()))

    def agent_call(self, uuid: str) -> SimCall | None:
        """The record of an originated leg (an agent's or a customer's), live or ended."""
        return next((call for call in (*self.agent_calls, *self.customer_calls) if call.uuid == uuid), None)

    def rng_for(self, *key: object) -> random.Random:
        """The generator for one draw (the n-th caller's patience, an agent's n-th handle time).

        Seeded, each draw gets a generator of its own derived from the seed
        and `key`, so what a caller or agent draws does not depend on the
        order greenlets happen to run in; unseeded, the switch's one.
        """
        if self.seed is None:
            return self.rng
        return random.Random("/".join(map(str, (self.seed, *key))))

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
