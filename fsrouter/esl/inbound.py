"""Inbound event socket client: fsrouter's long-lived connection to one FreeSWITCH.

Used to originate agent and callback legs (``bgapi originate``), to run
``uuid_*`` commands and to receive global events.  `InboundClient` keeps the
connection up by itself: it connects in the background, authenticates,
subscribes, and after any loss reconnects with exponential backoff and jitter
(capped at 30 s) so a restarted FreeSWITCH is not stampeded.  While it is down,
requests fail at once with `ESLConnectionClosed`; on EOF every pending request
fails at once with it.

``bgapi`` results are matched on the ``Job-UUID`` fsrouter chose and sent
(FreeSWITCH honours a ``Job-UUID`` header on ``bgapi``), never on arrival
order, and matched in the reader so a slow ``on_event`` callback cannot delay
them.
"""

from __future__ import annotations

import logging
import random
import time
import uuid as uuidlib
from collections.abc import Callable, Sequence

import gevent
import gevent.event

from fsrouter.esl.codec import Event, encode_command
from fsrouter.esl.errors import ESLAuthError, ESLCommandError, ESLConnectionClosed, ESLError, ESLTimeout
from fsrouter.esl.greenswitch_fixes import FixedESLEvent, FixedInboundESL

log = logging.getLogger(__name__)

DEFAULT_EVENTS = (
    "CHANNEL_PROGRESS",
    "CHANNEL_ANSWER",
    "CHANNEL_BRIDGE",
    "CHANNEL_UNBRIDGE",
    "CHANNEL_HANGUP_COMPLETE",
    "BACKGROUND_JOB",
)


class _Connection(FixedInboundESL):
    """One authenticated connection; resolves ``bgapi`` jobs as their events arrive."""

    def __init__(self, host: str, port: int, password: str, timeout: float) -> None:
        self.jobs: dict[str, gevent.event.AsyncResult] = {}
        super().__init__(host, port, password, timeout=timeout)

    def handle_event(self, event: FixedESLEvent) -> None:
        if event.event is not None and event.event.name == "BACKGROUND_JOB":
            waiter = self.jobs.pop(event.event.get("Job-UUID", ""), None)
            if waiter is not None:
                waiter.set(event.event)
        super().handle_event(event)

    def _fail_pending(self, exc: Exception) -> None:
        super()._fail_pending(exc)
        waiters = list(self.jobs.values())
        self.jobs.clear()
        for waiter in waiters:
            waiter.set_exception(exc)


def subscription(names: Sequence[str]) -> tuple[str, ...]:
    """Event names in the order ``event plain`` needs: every word after
    ``CUSTOM`` is read as a subclass (``sofia::register``), so CUSTOM and
    its subclasses go last."""
    names = list(dict.fromkeys(word for name in names for word in name.split()))
    subclasses = [n for n in names if "::" in n]
    plain = [n for n in names if "::" not in n and n != "CUSTOM"]
    return tuple(plain + (["CUSTOM", *subclasses] if subclasses or "CUSTOM" in names else []))


class InboundClient:
    """A self-healing inbound ESL connection.

    `on_event` is called for every subscribed event, one at a time, in a
    greenlet of the connection; while it is slow, reading pauses (bounded
    queue) rather than memory growing.  `sleep` and `jitter` are injectable
    so tests can check the backoff without waiting.
    """

    def __init__(
        self,
        host: str,
        port: int,
        password: str,
        *,
        events: Sequence[str] = DEFAULT_EVENTS,
        on_event: Callable[[Event], None] | None = None,
        sleep: Callable[[float], None] = gevent.sleep,
        jitter: Callable[[], float] = random.random,
        connect_timeout: float = 5.0,
        backoff_initial: float = 0.5,
        backoff_max: float = 30.0,
    ) -> None:
        if "\n" in password or "\r" in password:
            raise ValueError("password must not contain a newline")
        self.host = host
        self.port = port
        self._password = password
        # BACKGROUND_JOB is what bgapi() waits for: always subscribed.
        self._events = subscription([*events, "BACKGROUND_JOB"])
        self.on_event = on_event
        """Called with every subscribed event; may be set before `start`."""
        self.on_connected: Callable[[], None] | None = None
        """Called after each (re)connection, in the connection greenlet, before
        it yields to any other greenlet and before `wait_connected` returns:
        it may make requests, so what changed on the switch while nobody was
        listening (registrations, channels) can be read before anything is
        done on the strength of it.  Its exceptions are logged; the
        connection stays up."""
        self._sleep = sleep
        self._jitter = jitter
        self._connect_timeout = connect_timeout
        self._backoff_initial = backoff_initial
        self._backoff_max = backoff_max
        self._conn: _Connection | None = None
        self._up = gevent.event.Event()
        self._runner: gevent.Greenlet | None = None
        self._stopping = False

    # ------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Connect in the background; returns at once (see `wait_connected`)."""
        if self._runner is None:
            self._stopping = False
            self._runner = gevent.spawn(self._run)

    def stop(self) -> None:
        """Close the connection and stop reconnecting; pending requests fail."""
        self._stopping = True
        if self._runner is not None:
            self._runner.kill(block=True, timeout=5)
            self._runner = None

    @property
    def connected(self) -> bool:
        conn = self._conn
        return conn is not None and not conn.closed

    def wait_connected(self, timeout: float | None = None) -> bool:
        return self._up.wait(timeout)

    def backoff(self, failures: int) -> float:
        """Delay before reconnect attempt `failures` (1-based): doubling, capped, jittered to 50-100 %."""
        delay = min(self._backoff_max, self._backoff_initial * 2 ** (failures - 1))
        return delay * (0.5 + 0.5 * self._jitter())

    def _run(self) -> None:
        failures = 0
        while not self._stopping:
            conn = None
            try:
                conn = self._open()
                failures = 0
                self._conn = conn
                log.info("inbound ESL connected to %s:%d", self.host, self.port)
                self._connected()
                self._up.set()
                conn.wait_closed()
                log.warning("inbound ESL connection to %s:%d lost", self.host, self.port)
            except ESLAuthError as exc:
                log.error("FreeSWITCH %s:%d refused the ESL password (%s); retrying", self.host, self.port, exc.reply)
            except ESLError as exc:
                log.warning("inbound ESL to %s:%d failed: %s", self.host, self.port, exc)
            except Exception:
                log.exception("inbound ESL to %s:%d failed unexpectedly", self.host, self.port)
            finally:
                self._up.clear()
                self._conn = None
                if conn is not None:
                    conn.stop(send_exit=False)
            failures += 1
            self._sleep(self.backoff(failures))

    def _connected(self) -> None:
        if self.on_connected is None:
            return
        try:
            self.on_connected()
        except Exception:
            log.exception("inbound ESL to %s:%d: on_connected failed", self.host, self.port)

    def _open(self) -> _Connection:
        conn = _Connection(self.host, self.port, self._password, timeout=self._connect_timeout)
        conn.register_handle("*", self._dispatch)
        conn.connect()
        try:
            subscribe = "event plain " + " ".join(self._events)
            ESLCommandError.check(subscribe, conn.send(encode_command(subscribe), timeout=self._connect_timeout).data)
        except BaseException:
            conn.stop(send_exit=False)
            raise
        return conn

    def _dispatch(self, event: FixedESLEvent) -> None:
        if event.event is not None and self.on_event is not None:
            self.on_event(event.event)

    # ------------------------------------------------------------ requests

    def _require(self) -> _Connection:
        conn = self._conn
        if conn is None or conn.closed:
            raise ESLConnectionClosed(f"not connected to FreeSWITCH {self.host}:{self.port}")
        return conn

    def api(self, cmd: str, timeout: float = 5.0) -> str:
        """Run ``api <cmd>`` and return its text; ESLCommandError if it starts with ``-ERR``."""
        body = self._require().send(encode_command(f"api {cmd}"), timeout=timeout).data
        ESLCommandError.check(f"api {cmd}", body)
        return body

    def bgapi(self, cmd: str, timeout: float = 60.0) -> Event:
        """Run ``bgapi <cmd>``; return its BACKGROUND_JOB event (result in ``.body``).

        ESLTimeout if the job does not finish within `timeout`; its late
        result is then dropped, never given to another request.
        """
        conn = self._require()
        job_uuid = str(uuidlib.uuid4())
        waiter = gevent.event.AsyncResult()
        conn.jobs[job_uuid] = waiter
        deadline = time.monotonic() + timeout
        try:
            reply = conn.send(encode_command(f"bgapi {cmd}", [("Job-UUID", job_uuid)]), timeout=timeout)
            ESLCommandError.check(f"bgapi {cmd}", reply.data)
            return waiter.get(timeout=max(0.0, deadline - time.monotonic()))
        except gevent.Timeout:
            raise ESLTimeout(f"no result for bgapi {cmd!r} (Job-UUID {job_uuid}) within {timeout}s") from None
        finally:
            conn.jobs.pop(job_uuid, None)
