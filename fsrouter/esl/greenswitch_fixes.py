"""greenswitch 0.0.19, fixed: the one place fsrouter overrides greenswitch.

greenswitch supplies sound gevent plumbing (sockets, the handler registry,
``process_events`` dispatch); its wire handling and waiting have defects that
a routing engine cannot live with (../shared/GREENSWITCH.md).  Each override
below names in its docstring the defect it fixes, keeps greenswitch's method
signature (new parameters are keyword-only and optional), and is covered by a
test in ``tests/esl/test_greenswitch_defects.py`` that fails on stock 0.0.19
-- so each could be offered upstream as it stands.  What could not be fixed
by override (``OutboundESLServer``) is replaced in `fsrouter.esl.outbound`;
see docs/decisions/0001-greenswitch-overrides.md.

Defects fixed here:

1. Header injection via an encoded newline     -> `FixedESLEvent`, `FixedESLProtocol.receive_events`
2. Event bodies merged into headers            -> `FixedESLEvent`
3. Blocking playback hangs once a CHANNEL_EXECUTE_COMPLETE handler exists
                                               -> `FixedOutboundSession.handle_event`, `.playback`
4. Stale waiter after ``response_timeout``     -> `FixedOutboundSession.call_command`
5. TCP close with a pending ``api`` hangs      -> `FixedESLProtocol._connection_lost`
6. Non-UTF-8 body kills the receive greenlet   -> `FixedESLProtocol.receive_events`
and: completion matched on application name (`FixedOutboundSession.register_expected_event`),
``sock.send`` instead of ``sendall`` and no timeouts (`FixedESLProtocol.send`,
`FixedInboundESL.connect`), unbounded event queue (`_EventQueue`), no
``text/event-json``, ``stop()`` that waits on the peer forever.
"""

from __future__ import annotations

import logging
import uuid as uuidlib
from collections.abc import Iterator, Mapping

import gevent
import gevent.event
import gevent.lock
import gevent.queue
from gevent import socket
from greenswitch import esl

from fsrouter.esl.codec import (
    Event,
    Frame,
    Parser,
    channel_data,
    encode_command,
    encode_sendmsg,
    parse_event,
)
from fsrouter.esl.errors import (
    ESLAuthError,
    ESLConnectionClosed,
    ESLError,
    ESLProtocolError,
    ESLTimeout,
)

log = logging.getLogger(__name__)

EVENT_CONTENT_TYPES = frozenset({"text/event-plain", "text/event-json"})
REPLY_CONTENT_TYPES = frozenset({"command/reply", "api/response"})


class ConnectionClosed(ESLConnectionClosed, esl.NotConnectedError):
    """The socket closed; also greenswitch's NotConnectedError so existing callers catch it."""


# ----------------------------------------------------------------- events


class _Headers(Mapping[str, str]):
    """greenswitch's ``event.headers``, looked up lazily.

    Event headers win over envelope headers, as in greenswitch (which parsed
    the envelope, then updated it with the event).  Nothing is url-decoded
    until it is asked for.
    """

    __slots__ = ("_frame", "_event")

    def __init__(self, frame: Frame, event: Event | None) -> None:
        self._frame = frame
        self._event = event

    def __getitem__(self, name: str) -> str:
        if self._event is not None and (value := self._event.get(name)) is not None:
            return value
        value = self._frame.header(name)
        if value is None:
            raise KeyError(name)
        return value

    def __iter__(self) -> Iterator[str]:
        names = [name for name, _ in self._event.items()] if self._event is not None else []
        names += [name for name, _ in self._frame.headers]
        return iter(dict.fromkeys(names))

    def __len__(self) -> int:
        return sum(1 for _ in self)


class FixedESLEvent(esl.ESLEvent):
    """An ESLEvent built from a frame split by fsrouter's codec.

    Fixes defect 1 (header injection): stock ``ESLEvent.parse_data``
    url-decodes the whole event before splitting lines, so a value holding
    ``%0AUnique-ID%3A%20x`` (a caller-controlled SIP display name) forges
    headers.  Here values are decoded after the split, one at a time.

    Fixes defect 2 (event bodies merged into headers): a BACKGROUND_JOB
    result (or any event body) is kept in `body`, not parsed as headers.

    Also adds ``text/event-json`` support.  `frame` and `event` expose the
    codec objects; `headers` and `data` keep greenswitch's interface.
    """

    def __init__(self, frame: Frame) -> None:  # not calling super(): it parses the stock way
        self.frame = frame
        self.event: Event | None = None
        if frame.content_type in EVENT_CONTENT_TYPES:
            self.event = parse_event(frame)
        elif frame.content_type == "command/reply" and frame.header("Event-Name") is not None:
            self.event = channel_data(frame)  # the outbound `connect` reply
        self.body = self.event.body if self.event is not None else frame.body
        self.headers = _Headers(frame, self.event)
        reply = frame.header("Reply-Text")
        self.data = reply if reply is not None else frame.body.decode("utf-8", "replace")


# ----------------------------------------------------------------- queue


class _EventQueue(gevent.queue.Queue):
    """greenswitch's event queue with a soft bound the reader respects.

    Fixes the unbounded queue: stock greenswitch reads as fast as the peer
    writes and queues every event (GBs of RSS under load).  The reader waits
    for `room` before reading more, so TCP pushes back on FreeSWITCH.
    """

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit
        self.room = gevent.event.Event()
        self.room.set()

    def get(self, *args, **kwargs):
        item = super().get(*args, **kwargs)
        if self.qsize() < self.limit:
            self.room.set()
        return item


_CLOSED = object()
"""Queued after the last event in pull mode, so a blocked `next_event` wakes up."""

WAKE = object()
"""What `next_event` returns when the owner's `wake()` was called: something
local (not from FreeSWITCH) wants the owner's attention."""


# ----------------------------------------------------------------- protocol


class FixedESLProtocol(esl.ESLProtocol):
    """ESLProtocol whose receive path is fsrouter's codec and whose waits are bounded.

    Class attributes tune it; `dispatch_events` False skips greenswitch's
    ``process_events`` greenlet for owners that pull with `next_event`.
    """

    command_timeout = 10.0
    max_queued_events = 1000
    recv_size = 65536
    dispatch_events = True

    def __init__(self, *args, **kwargs) -> None:
        self._parser = Parser()
        self._send_lock = gevent.lock.Semaphore()
        self._lost = False
        super().__init__(*args, **kwargs)

    def start_event_handlers(self) -> None:
        """Fixes the unbounded queue (see `_EventQueue`); honours `dispatch_events`."""
        self._esl_event_queue = _EventQueue(self.max_queued_events)
        self._receive_events_greenlet = gevent.spawn(self.receive_events)
        if self.dispatch_events:
            self._process_events_greenlet = gevent.spawn(self.process_events)

    def receive_events(self) -> None:
        """Read bytes, split frames with the codec, hand each to `handle_event`.

        Fixes defect 6 (non-UTF-8 body kills the receive greenlet): stock
        decodes every line and body as UTF-8 and dies on the first bad byte,
        after which every ``send()`` hangs while ``connected`` stays True.
        The codec slices bodies on bytes and decodes with replacement.  Any
        failure here (malformed frame, socket error, bug) now ends the
        connection visibly: `_connection_lost` fails every waiter (defect 5).
        Replaces the stock ``handle_event``'s own body reads: bodies arrive
        here already sliced, including the disconnect notice's, which stock
        never read.
        """
        reason = "closed by peer"
        try:
            while self._run:
                self._wait_for_queue_room()
                data = self.sock.recv(self.recv_size)
                if not data:
                    break
                self._parser.feed(data)
                for frame in self._parser.frames():
                    self.handle_event(FixedESLEvent(frame))
        except ESLProtocolError as exc:
            reason = f"protocol error: {exc}"
            log.warning("ESL peer sent a malformed frame, closing: %s", exc)
        except OSError as exc:
            reason = f"socket error: {exc}"
            log.debug("ESL socket error: %s", exc)
        except Exception:
            reason = "internal error"
            log.exception("ESL receive loop failed, closing the connection")
        finally:
            self._connection_lost(reason)

    def _wait_for_queue_room(self) -> None:
        """Backpressure: stop reading while the queue is full, unless a reply is awaited.

        A reply can only be reached by reading past the queued events, so a
        pending command lets the queue exceed its bound for that round trip.
        """
        queue = self._esl_event_queue
        while self._run and queue.qsize() >= queue.limit and not self._commands_sent:
            queue.room.clear()
            queue.room.wait(1.0)

    def handle_event(self, event: FixedESLEvent) -> None:
        """Route one frame; replaces the stock version, which read bodies off the socket itself."""
        content_type = event.frame.content_type
        if content_type in REPLY_CONTENT_TYPES:
            if self._commands_sent:
                self._commands_sent.pop(0).set(event)
            else:
                log.warning("ESL reply with no command waiting: %r", event.data[:200])
        elif content_type == "auth/request":
            self._auth_request_event.set()
        elif content_type == "text/rude-rejection":
            log.error("FreeSWITCH rejected the connection: %s", event.data.strip())
            self.connected = False
            self._auth_request_event.set()
        else:
            if content_type == "text/disconnect-notice":
                if event.frame.header("Content-Disposition") == "linger":
                    self._lingering = True
                else:
                    self.connected = False
            self._esl_event_queue.put(event)

    def send(self, data: str | bytes, *, timeout: float | None = None) -> FixedESLEvent:
        """Send one command and wait for its reply.

        Fixes: ``sock.send`` (may write part of a large command) is now
        ``sendall``; two greenlets sending at once can no longer interleave
        bytes (a lock keeps write order = reply order); the wait is bounded
        (`timeout`, default `command_timeout`) and raises ESLTimeout; a
        closed connection raises `ConnectionClosed` at once (defect 5).
        A timed-out waiter stays in the FIFO so its late reply is consumed
        by it, never handed to the next command.
        `data` is a stock-style string (``"\\n\\n"`` is appended) or bytes
        from `fsrouter.esl.codec`'s encoders.
        """
        if not self.connected:
            raise ConnectionClosed("not connected")
        raw = data if isinstance(data, bytes) else (data + "\n\n").encode("utf-8")
        wait = self.command_timeout if timeout is None else timeout
        first_line = raw.split(b"\n", 1)[0][:80].decode("utf-8", "replace")
        waiter = gevent.event.AsyncResult()
        if not self._send_lock.acquire(timeout=wait):
            raise ESLTimeout(f"could not send {first_line!r} within {wait}s: another send is stuck")
        try:
            self._commands_sent.append(waiter)
            self._esl_event_queue.room.set()  # a reply is awaited: let the reader run
            self._sendall(raw, wait)
        finally:
            self._send_lock.release()
        try:
            return waiter.get(timeout=wait)
        except gevent.Timeout:
            raise ESLTimeout(f"no reply to {first_line!r} within {wait}s") from None

    def _sendall(self, raw: bytes, timeout: float) -> None:
        """Write a whole command; a write that fails or stalls ends the connection.

        Half a command cannot be taken back, so the stream is unusable after it.
        """
        timer = gevent.Timeout.start_new(timeout)
        try:
            self.sock.sendall(raw)
        except (OSError, gevent.Timeout) as exc:
            if isinstance(exc, gevent.Timeout) and exc is not timer:
                raise
            reason = f"send failed: {exc or 'peer not reading'}"
            self._connection_lost(reason)
            raise ConnectionClosed(reason) from None
        finally:
            timer.close()

    def _connection_lost(self, reason: str) -> None:
        """Fail everything that waits on this connection, once.

        Fixes defect 5 (TCP close while an ``api`` is pending hangs
        ``send()`` forever): stock noticed EOF but failed no waiter.
        """
        if self._lost:
            return
        self._lost = True
        self.connected = False
        self._run = False
        self._fail_pending(ConnectionClosed(reason))
        self._auth_request_event.set()
        self._esl_event_queue.room.set()
        if not self.dispatch_events:
            self._esl_event_queue.put(_CLOSED)
        self._close_socket()

    def wait_closed(self, timeout: float | None = None) -> bool:
        """Wait until the receive loop has ended; True if it has."""
        self._receive_events_greenlet.join(timeout)
        return self._receive_events_greenlet.dead

    @property
    def closed(self) -> bool:
        """True once the connection ended, from either side; its waiters have failed."""
        return self._lost

    def _fail_pending(self, exc: Exception) -> None:
        while self._commands_sent:
            self._commands_sent.pop(0).set_exception(exc)

    def _close_socket(self) -> None:
        # shutdown sends FIN now and wakes a greenlet blocked in recv; the
        # makefile() object holds a reference that would keep the fd open.
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock_file.close()
        self.sock.close()

    def wake(self) -> None:
        """Make a blocked (or the next) `next_event` return `WAKE`.  Never
        blocks: the queue's bound only holds the socket reader back."""
        self._esl_event_queue.put_nowait(WAKE)

    def next_event(self, timeout: float | None) -> FixedESLEvent | object | None:
        """Pull mode (``dispatch_events = False``): the next queued frame, None on
        timeout, `WAKE` after a `wake()`.

        Raises ConnectionClosed once the connection ended and the queue is drained.
        """
        if self._lost and self._esl_event_queue.empty():
            raise ConnectionClosed("connection closed")
        try:
            item = self._esl_event_queue.get(timeout=timeout)
        except gevent.queue.Empty:
            return None
        if item is _CLOSED:
            raise ConnectionClosed("connection closed")
        return item

    def stop(self, send_exit: bool = True, timeout: float = 1.0) -> None:
        """Close the connection and end its greenlets, in bounded time; idempotent.

        Fixes: stock ``stop()`` joins the receive greenlet, which ends only
        when the peer closes -- a silent peer hangs it forever -- and the
        socket leaks if ``exit`` fails.
        """
        if send_exit and self.connected:
            try:
                self.send("exit", timeout=timeout)
            except (ESLError, esl.NotConnectedError):
                pass
        self._connection_lost("closed locally")
        current = gevent.getcurrent()
        greenlets = [g for g in (self._receive_events_greenlet, self._process_events_greenlet) if g and g is not current]
        gevent.killall(greenlets, block=True, timeout=timeout)


# ----------------------------------------------------------------- inbound


class FixedInboundESL(FixedESLProtocol, esl.InboundESL):
    """InboundESL with bounded connect/auth and clean failure."""

    def connect(self) -> None:
        """Connect, wait for ``auth/request``, authenticate -- each step bounded by `timeout`.

        Fixes: stock waits for ``auth/request`` forever (a peer that accepts
        and stays silent hangs the caller), and leaks the socket and both
        greenlets when connecting or authenticating fails.
        """
        try:
            self.sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        except OSError as exc:
            raise ConnectionClosed(f"cannot connect to {self.host}:{self.port}: {exc}") from exc
        self.sock.settimeout(None)
        self.sock_file = self.sock.makefile("rb")
        self.connected = True
        self.start_event_handlers()
        try:
            if not self._auth_request_event.wait(self.timeout):
                raise ESLTimeout(f"no auth/request from {self.host}:{self.port} within {self.timeout}s")
            if not self.connected:
                raise ConnectionClosed(f"{self.host}:{self.port} closed before auth/request (ACL?)")
            self.authenticate()
        except BaseException:
            self.stop(send_exit=False)
            raise

    def authenticate(self) -> None:
        """Fixes: the password line is checked for newlines; the error carries FreeSWITCH's reply."""
        reply = self.send(encode_command(f"auth {self.password}"), timeout=self.timeout)
        if reply.data != "+OK accepted":
            raise ESLAuthError("auth", reply.data)


# ----------------------------------------------------------------- outbound


class FixedOutboundSession(FixedESLProtocol, esl.OutboundSession):
    """OutboundSession matching completions by Application-UUID, in the reader."""

    def __init__(self, client_address, sock, *, dispatch_events: bool = True) -> None:
        self._completions: dict[str, gevent.event.AsyncResult] = {}
        self._unbound_waiters: list[tuple[str, gevent.event.AsyncResult]] = []
        self.dispatch_events = dispatch_events
        super().__init__(client_address, sock)

    def connect(self, *, timeout: float | None = None):
        """Send ``connect`` and keep the channel data; fixes: no timeout (stock waits forever)."""
        if not self._outbound_connected:
            self.session_data = self.send("connect", timeout=timeout).headers
            self._outbound_connected = True
        return self.session_data

    def handle_event(self, event: FixedESLEvent) -> None:
        """Resolve completion waiters here, in the reader.

        Fixes defect 3 (blocking playback hangs once any handler is
        registered for CHANNEL_EXECUTE_COMPLETE): stock resolves waiters in
        its ``'*'`` handler, which ``process_events`` skips as soon as a
        specific handler exists.  A disconnect notice fails the waiters that
        can no longer complete.
        """
        if event.event is not None and event.event.name == "CHANNEL_EXECUTE_COMPLETE":
            waiter = self._completions.pop(event.event.get("Application-UUID", ""), None)
            if waiter is not None:
                waiter.set(event)
        elif event.frame.content_type == "text/disconnect-notice":
            self._fail_completions(esl.OutboundSessionHasGoneAway())
        super().handle_event(event)

    def _fail_pending(self, exc: Exception) -> None:
        super()._fail_pending(exc)
        self._fail_completions(exc)

    def _fail_completions(self, exc: Exception) -> None:
        waiters = [*self._completions.values(), *(w for _, w in self._unbound_waiters)]
        self._completions.clear()
        self._unbound_waiters.clear()
        for waiter in waiters:
            waiter.set_exception(exc)

    def register_expected_event(self, expected_event, expected_variable, expected_value, async_response) -> None:
        """Bind the waiter to the next `call_command` of that application.

        Fixes completion matched on the application name (stock compares
        ``variable_current_application``): when applications nest (a second
        playback queued without event-lock starts inside the first,
        transcript outbound_eventlock.txt) the inner completion was handed to
        the outer waiter.  Stock helpers (``say``, ``play_and_get_digits``)
        register first and then call ``call_command``, which now sends an
        ``Event-UUID`` and waits for that ``Application-UUID``.
        """
        self._unbound_waiters.append((expected_value, async_response))

    def _take_unbound_waiter(self, app_name: str) -> gevent.event.AsyncResult | None:
        for i, (app, waiter) in enumerate(self._unbound_waiters):
            if app == app_name:
                del self._unbound_waiters[i]
                return waiter
        return None

    def call_command(
        self,
        app_name,
        app_args=None,
        block=False,
        response_timeout=None,
        *,
        event_uuid: str | None = None,
        event_lock: bool = False,
        reply_timeout: float | None = None,
    ):
        """``sendmsg`` execute; with `block`, wait for *this* execution's completion.

        Fixes defect 4 (stale waiter after ``response_timeout``): stock left
        the timed-out waiter registered, where it swallowed the next
        completion of the same application.  Each execution now carries an
        ``Event-UUID`` (generated unless given), completion is matched on the
        ``Application-UUID`` FreeSWITCH echoes, and the waiter is removed
        however the wait ends.  Also refuses newlines in the application or
        its argument (they would inject sendmsg headers).  Times out with
        ``gevent.Timeout`` as stock does; `reply_timeout` bounds the ``+OK``.
        """
        if self._lingering:
            raise esl.OutboundSessionHasGoneAway()
        event_uuid = event_uuid or str(uuidlib.uuid4())
        command = encode_sendmsg(app_name, app_args, event_uuid=event_uuid, event_lock=event_lock)
        waiter = gevent.event.AsyncResult() if block else self._take_unbound_waiter(app_name)
        if waiter is not None:
            self._completions[event_uuid] = waiter
        try:
            reply = self.send(command, timeout=reply_timeout)
            return waiter.get(timeout=response_timeout) if block else reply
        finally:
            if block:
                self._completions.pop(event_uuid, None)

    def playback(self, path, block=True):
        """Fixes defect 3 for playback: stock bypassed call_command with its own name-matched waiter."""
        result = self.call_command("playback", path, block=block)
        return result if block else None
