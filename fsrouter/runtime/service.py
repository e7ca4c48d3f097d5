"""The running service: wires the compiled plan to FreeSWITCH.

`fsrouter run` builds one `Service`: an outbound ESL server (one greenlet per
call), an inbound ESL client (one per FreeSWITCH, for agent legs and global
commands), the admin HTTP API (api/), and the rules plan, which is reloaded on
SIGHUP (runtime/reload.py): a reload that fails in any way keeps the running
plan, one that succeeds also reconfigures the queues and agents; calls in
progress always finish on the plan they started with.
"""

from __future__ import annotations

import logging
import os
import signal
import time

import gevent
import gevent.event

from fsrouter.api.metrics import ServiceMetrics
from fsrouter.api.resources import build_router
from fsrouter.api.server import AdminAPI
from fsrouter.api.token import TokenError, is_loopback, read_token
from fsrouter.config import ServiceConfig
from fsrouter.runtime.agent_desk import AgentDesk
from fsrouter.runtime.agent_presence import PRESENCE_EVENTS
from fsrouter.runtime.call_runner import CallRunner, RunnerSettings
from fsrouter.runtime.callback_dialer import CallbackDialer
from fsrouter.esl.inbound import DEFAULT_EVENTS, InboundClient
from fsrouter.runtime.legs import LEG_EVENTS
from fsrouter.runtime.transfers import TRANSFER_EVENTS
from fsrouter.runtime.live_calls import LiveCalls
from fsrouter.runtime.notices import NoticeDesk
from fsrouter.runtime.notify import Notifier
from fsrouter.esl.outbound import OutboundCall, OutboundServer
from fsrouter.runtime.queue_runtime import QueueRuntime
from fsrouter.runtime.reload import PlanHolder, prepare
from fsrouter.runtime.today import Today
from fsrouter.flow import CallMachine
from fsrouter.logs import fields
from fsrouter.rules import plan
from fsrouter.store import open_store
from fsrouter.store.gevent_wrapper import GeventStore
from fsrouter.store.errors import StoreError
from fsrouter.store.stats import StatsRecorder

log = logging.getLogger(__name__)


class StartupError(Exception):
    """The service cannot start; the message says why, in one line."""


def _listen(what: str, address: tuple[str, int | None], start) -> None:
    """Start a listener, turning a bind failure (port in use, address not
    local, no permission) into a `StartupError` that names it."""
    try:
        start()
    except OSError as exc:
        # gevent appends the address to strerror: the bare reason, from errno, where there is one.
        reason = os.strerror(exc.errno) if isinstance(exc.errno, int) and exc.errno > 0 else exc.strerror or str(exc)
        raise StartupError(f"cannot listen for {what} on {address[0]}:{address[1]}: {reason}") from exc


CALLER_LANGUAGE_VARIABLE = "fsrouter_language"
"""The channel variable a dialplan sets to the caller's language (from a CRM
lookup, an earlier IVR...), e.g. `<action application="set" data="fsrouter_language=ru"/>`."""


def channel_variables(call: OutboundCall) -> dict[str, str]:
    """The normalized call variables the machine routes on; the caller's
    language when the dialplan set `fsrouter_language` (the plan decides
    whether the call's way in can speak it)."""
    channel = call.channel
    variables = {
        "uuid": call.uuid,
        "destination_number": channel.get("Caller-Destination-Number") or "",
        "caller_id_number": channel.get("Caller-Caller-ID-Number") or "",
        "caller_id_name": channel.get("Caller-Caller-ID-Name") or "",
    }
    language = channel.get("variable_" + CALLER_LANGUAGE_VARIABLE)
    if language:
        variables[plan.CALLER_LANGUAGE] = language
    return variables


class Service:
    def __init__(self, config: ServiceConfig, notifier: Notifier | None = None):
        self.config = config
        #: systemd's `Type=notify` (a no-op without NOTIFY_SOCKET).
        self.notifier = notifier or Notifier()
        # Compiled, mapped and checked once: for the plan holder and the ACD.
        prepared = prepare(config.rules_path, config.sounds_dir)
        self.plans = PlanHolder(config.rules_path, config.sounds_dir, prepared=prepared)
        self.calls_started = 0
        self.calls = LiveCalls()
        #: Prometheus' figures (GET /metrics), in a registry of this service's own.
        self.metrics = ServiceMetrics()
        self._runner_settings = RunnerSettings(sounds_root=config.freeswitch_sounds_dir,
                                               timer_fired_late=self.metrics.timer_fired_late)
        self.outbound = OutboundServer(config.listen_host, config.listen_port, self._handle_call,
                                       max_sessions=config.max_sessions)
        self.inbound = InboundClient(config.inbound_host, config.inbound_port,
                                     config.inbound_password,
                                     events=(*DEFAULT_EVENTS, *LEG_EVENTS, *PRESENCE_EVENTS, *TRANSFER_EVENTS))
        # Callbacks and queue statistics are kept in the database.
        self.store = GeventStore(open_store(config.database_url))
        # Today's figures for the wallboard, fed the same rows as the store.
        self.today = Today.for_plan(prepared.plan)
        self.stats = StatsRecorder(self.store, on_rows=self.today.add)
        #: Supervisors' notices, read by each call at its `notice:` steps.
        self.notices = NoticeDesk(self.store, lambda: self.plans.current, config.sounds_dir)
        self.queues = QueueRuntime(prepared.plan, self.inbound,
                                   tts=config.tts, on_events=self._acd_events, instance=config.instance,
                                   layout=prepared.layout, compiled=prepared.compiled)
        self.queues.surveys = self.store
        # Agents start as they last chose (stored), else as the rules say.
        self.agents = AgentDesk(self.queues, self.store)
        self.agents.restore()
        self.inbound.on_event = self.queues.on_event
        self.inbound.on_connected = self.queues.on_connected
        self.plans.apply = self._apply_plan
        self.callbacks = CallbackDialer(self.queues, self.store, sounds_root=config.freeswitch_sounds_dir)
        self.metrics.read_live(self.queues, self.plans)
        self.api = self._admin_api(config) if config.api_port is not None else None
        self._stopped = gevent.event.Event()

    def _apply_plan(self, prepared) -> None:
        """A reload: the ACD takes the new queues and agents, then agents the
        reload added start as at start-up (`AgentDesk.after_reload`), and
        today's figures take the new targets."""
        previous = self.queues.plan.agents
        self.queues.reconfigure(prepared.plan, prepared.layout, prepared.compiled)
        self.agents.after_reload(previous, prepared.plan)
        self.today.retarget(prepared.plan)

    def _acd_events(self, events: list) -> None:
        """Every list of ACD events: statistics rows, metrics counters, and
        the pauses the ACD makes itself, to be stored."""
        self.stats.record(events)
        self.metrics.record(events)
        self.agents.on_events(events)

    def _admin_api(self, config: ServiceConfig) -> AdminAPI:
        """The admin API, behind the configured token; without one, only on
        a loopback address (anybody who can reach it could log agents out)."""
        try:
            token = read_token(config.api_token_file, config.api_token_env, create=True)
        except TokenError as exc:
            raise StartupError(str(exc)) from None
        if token is None and not is_loopback(config.api_host):
            raise StartupError(f"refusing to serve the admin API on {config.api_host} without a token: "
                               "set api.token_file or api.token_env, or api.host: 127.0.0.1")
        return AdminAPI(config.api_host, config.api_port, build_router(self), token=token)

    def start(self) -> None:
        """Start serving; `StartupError` when a port cannot be listened on."""
        config = self.config
        self.notices.load()  # before the first call is taken
        _listen("FreeSWITCH outbound sockets", (config.listen_host, config.listen_port), self.outbound.start)
        host, port = self.outbound.address
        # Tests and supervisors parse this line to find an ephemeral port.
        log.info("listening for FreeSWITCH outbound sockets on %s:%d", host, port)
        if self.api is not None:  # bound before anything else runs
            _listen("the admin API", (config.api_host, config.api_port), self.api.start)
            log.info("admin API on http://%s:%d/", *self.api.address)
            if not self.api.needs_token:  # allowed on loopback, but every local account gets in
                log.warning("admin API on %s:%d without a token: any local user can change agents "
                            "and rules; set api.token_file", *self.api.address)
        self.inbound.start()
        self._seed_today()
        self.stats.start()
        self.queues.start()
        gevent.signal_handler(signal.SIGHUP, self.reload)
        gevent.signal_handler(signal.SIGTERM, self.stop)
        gevent.signal_handler(signal.SIGINT, self.stop)
        self.notifier.ready()  # listeners bound: units ordered after this one may start

    def _seed_today(self) -> None:
        """Today's figures start from the rows stored today (a restart does
        not zero the day); a store that cannot say leaves them at zero."""
        try:
            self.today.add(self.store.queue_events(since=self.today.start_of_day(time.time())))
        except StoreError as exc:
            log.warning("today's figures start from zero: the stored statistics cannot be read (%s)", exc)

    def reload(self) -> None:
        """SIGHUP (`systemctl reload`): systemd hears RELOADING=1 now and
        READY=1 once the reload is over, whether it succeeded or was refused."""
        self.notifier.reloading()
        self.plans.request_reload()
        gevent.spawn(self._ready_after_reload)

    def _ready_after_reload(self) -> None:
        self.plans.wait_reloaded()  # a request made meanwhile is reloaded by the same worker
        self.notifier.ready()

    def serve_forever(self) -> None:
        self._stopped.wait()

    def stop(self) -> None:
        if self._stopped.is_set():
            return
        log.info("stopping: no new calls; waiting for calls in progress")
        self.notifier.stopping()
        self.outbound.stop(timeout=10)
        self.queues.stop()
        self.inbound.stop()
        self.stats.stop(timeout=5)
        self.store.close()
        if self.api is not None:
            self.api.stop()
        self.notifier.close()  # the watchdog pings last as long as the wait for calls
        self._stopped.set()

    def snapshot(self) -> dict:
        return {
            "active_calls": self.outbound.active_sessions,
            "calls_started": self.calls_started,
            "freeswitch_inbound_connected": self.inbound.connected,
            "runtime_greenlets": self.queues.greenlets,  # O(1): no walk over every object
            "rules_loaded_at": self.plans.loaded_at,
        }

    def _handle_call(self, call: OutboundCall) -> None:
        self.calls_started += 1
        plan = self.plans.current  # this call keeps this plan to the end
        variables = channel_variables(call)
        machine = CallMachine(plan, variables, now=time.time(), notices=self.notices.prompt_for)
        context = fields(call=call.uuid)
        log.info("call %s from %s to %s", call.uuid, variables["caller_id_number"],
                 variables["destination_number"], extra=context)
        with self.calls.handling(call.uuid, variables, machine, time.time()):
            CallRunner(call, machine, self._runner_settings, queueing=self.queues, agents=self.agents).run()
        log.info("call %s ended in state %s, outcome %s", call.uuid, machine.state, machine.outcome,
                 extra=context)
