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
from gevent import socket

from fsrouter.esl.codec import Event, Frame, encode_command
from fsrouter.esl.connection import Connection, Limits
from fsrouter.esl.errors import (
    ESLAuthError,
    ESLCommandError,
    ESLConnectionClosed,
    ESLError,
    ESLProtocolError,
    ESLTimeout,
)

log = logging.getLogger(__name__)

DEFAULT_EVENTS = (
    "CHANNEL_PROGRESS",
    "CHANNEL_ANSWER",
    "CHANNEL_BRIDGE",
    "CHANNEL_UNBRIDGE",
    "CHANNEL_HANGUP_COMPLETE",
    "BACKGROUND_JOB",
)


class _Jobs:
    """``bgapi`` jobs waiting for their BACKGROUND_JOB, by the Job-UUID fsrouter chose."""

    def __init__(self) -> None:
        self.waiting: dict[str, gevent.event.AsyncResult] = {}

    def observe(self, event: Event) -> None:
        """Called by the connection's reader with every event: never blocks."""
        if event.name == "BACKGROUND_JOB":
            waiter = self.waiting.pop(event.get("Job-UUID", ""), None)
            if waiter is not None:
                waiter.set(event)

    def fail_all(self) -> None:
        """The connection is gone: every job waiting on it fails now (with None, read as closed)."""
        waiters = list(self.waiting.values())
        self.waiting.clear()
        for waiter in waiters:
            waiter.set(None)


def subscription(names: Sequence[str]) -> tuple[str, ...]:
    """Event names in the order ``event plain`` needs: every word after
    ``CUSTOM`` is read as a subclass (``sofia::register``), so CUSTOM and
    its subclasses go last."""
    names = list(dict.fromkeys(word for name in names for word in name.split()))
    subclasses = [n for n in names if "::" in n]
    plain = [n for n in names if "::" not in n and n != "CUSTOM"]
    return tuple(plain + (["CUSTOM", *subclasses] if subclasses or "CUSTOM" in names else []))


def open_connection(
    host: str,
    port: int,
    password: str,
    timeout: float,
    *,
    events: Sequence[str] = (),
    observe: Callable[[Event], None] | None = None,
    limits: Limits = Limits(),
) -> Connection:
    """Connect, wait for ``auth/request``, authenticate, subscribe to `events` -- each step
    bounded by `timeout`; nothing is left open when a step fails.

    ESLConnectionClosed when the address refuses (or FreeSWITCH's ACL rejects
    us), ESLTimeout when the peer stays silent, ESLAuthError on a wrong password.
    """
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except OSError as exc:
        raise ESLConnectionClosed(f"cannot connect to {host}:{port}: {exc}") from None
    sock.settimeout(None)
    conn = Connection(sock, name=f"{host}:{port}", limits=limits, observe=observe)
    try:
        greeting = conn.next_event(timeout)
        if greeting is None:
            raise ESLTimeout(f"no auth/request from {host}:{port} within {timeout}s")
        if isinstance(greeting, Frame) and greeting.content_type == "text/rude-rejection":
            text = greeting.body.decode("utf-8", "replace").strip()
            raise ESLConnectionClosed(f"{host}:{port} refused the connection (ACL?): {text}")
        if not (isinstance(greeting, Frame) and greeting.content_type == "auth/request"):
            raise ESLProtocolError(f"expected auth/request, got {greeting!r}")
        reply = conn.request(encode_command(f"auth {password}"), timeout).header("Reply-Text", "")
        if reply != "+OK accepted":
            raise ESLAuthError("auth", reply)
        if events:
            subscribe = "event plain " + " ".join(events)
            ESLCommandError.check(subscribe, conn.request(encode_command(subscribe), timeout).header("Reply-Text", ""))
    except BaseException:
        conn.close()
        raise
    return conn


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
        """Called after each (re)connection, in the connection greenlet and
        before `wait_connected` returns: it may make requests, so what
        changed on the switch while nobody was listening (registrations,
        channels) can be read before anything is done on the strength of it.
        Events are already being dispatched meanwhile (an answer may be
        older than an event heard before it).  Its exceptions are logged;
        the connection stays up."""
        self._sleep = sleep
        self._jitter = jitter
        self._connect_timeout = connect_timeout
        self._backoff_initial = backoff_initial
        self._backoff_max = backoff_max
        self._conn: Connection | None = None
        self._jobs = _Jobs()
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
            conn = dispatcher = None
            try:
                conn = self._open()
                dispatcher = gevent.spawn(self._dispatch, conn)
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
                log.warning("inbound ESL to %s:%d failed: %s", self.host, self.port, str(exc))
            except Exception:
                log.exception("inbound ESL to %s:%d failed unexpectedly", self.host, self.port)
            finally:
                self._up.clear()
                self._conn = None
                if conn is not None:
                    conn.close()
                if dispatcher is not None:
                    # Events read before the drop (a hangup, say) still reach
                    # `on_event`: the dispatcher ends by itself at the queue's end.
                    dispatcher.join(timeout=1.0)
                    dispatcher.kill(block=False)
                self._jobs.fail_all()
            failures += 1
            self._sleep(self.backoff(failures))

    def _connected(self) -> None:
        if self.on_connected is None:
            return
        try:
            self.on_connected()
        except Exception:
            log.exception("inbound ESL to %s:%d: on_connected failed", self.host, self.port)

    def _open(self) -> Connection:
        return open_connection(
            self.host, self.port, self._password, self._connect_timeout,
            events=self._events, observe=self._jobs.observe,
        )

    def _dispatch(self, conn: Connection) -> None:
        """Hand every event to `on_event`, one at a time, until the connection ends.

        A failing callback is logged and the next event still delivered.
        """
        while True:
            try:
                item = conn.next_event(None)
            except ESLConnectionClosed:
                return
            if isinstance(item, Event) and self.on_event is not None:
                try:
                    self.on_event(item)
                except Exception:
                    log.exception("on_event failed for %r", item)

    # ------------------------------------------------------------ requests

    def _require(self) -> Connection:
        conn = self._conn
        if conn is None or conn.closed:
            raise ESLConnectionClosed(f"not connected to FreeSWITCH {self.host}:{self.port}")
        return conn

    def api(self, cmd: str, timeout: float = 5.0) -> str:
        """Run ``api <cmd>`` and return its text; ESLCommandError if it starts with ``-ERR``."""
        body = self._require().request(encode_command(f"api {cmd}"), timeout).body.decode("utf-8", "replace")
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
        self._jobs.waiting[job_uuid] = waiter
        deadline = time.monotonic() + timeout
        try:
            reply = conn.request(encode_command(f"bgapi {cmd}", [("Job-UUID", job_uuid)]), timeout)
            ESLCommandError.check(f"bgapi {cmd}", reply.header("Reply-Text", ""))
            event = waiter.get(timeout=max(0.0, deadline - time.monotonic()))
        except gevent.Timeout:
            raise ESLTimeout(f"no result for bgapi {cmd!r} (Job-UUID {job_uuid}) within {timeout}s") from None
        finally:
            self._jobs.waiting.pop(job_uuid, None)
        if event is None:
            raise ESLConnectionClosed(f"connection to {self.host}:{self.port} lost before bgapi {cmd!r} finished")
        return event
