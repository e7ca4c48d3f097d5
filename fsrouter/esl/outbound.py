"""Outbound event socket: FreeSWITCH's ``socket`` application calls us, one connection per call.

`OutboundServer` accepts connections from the dialplan's
``socket <addr> async full``, sends ``connect`` itself and hands the handler
an `OutboundCall` carrying the channel data.  The call runner drives the call
through `OutboundCall` only: commands and ``sendmsg`` executions go out,
events come back through `next_event`.  Completions are not awaited here:
``execute`` returns at FreeSWITCH's ``+OK`` and the ``CHANNEL_EXECUTE_COMPLETE``
whose ``Application-UUID`` equals the given ``event_uuid`` arrives as an
event, so the per-call state machine sees every outcome in one stream.

Isolation: a malformed frame, a vanished peer, or an exception in the handler
ends that one session (logged); the socket is always closed when the handler
returns.  Above ``max_sessions`` a call is refused by answering ``connect``
and closing without ``linger``: FreeSWITCH's ``socket`` application then
fails and the dialplan continues to its fallback (transcript
``outbound_close_nolinger_park_5003.txt``).

greenswitch's ``OutboundESLServer`` is replaced rather than fixed (it polls
``accept`` every 100 ms and joins calls without a timeout): see
docs/decisions/0001-greenswitch-overrides.md.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import gevent.pool
from gevent.server import StreamServer
from greenswitch import esl

from fsrouter.esl.codec import Event, Frame, encode_command
from fsrouter.esl.errors import ESLCommandError, ESLConnectionClosed, ESLError, ESLProtocolError
from fsrouter.esl.greenswitch_fixes import WAKE, FixedESLEvent, FixedOutboundSession

log = logging.getLogger(__name__)


class OutboundCall:
    """One FreeSWITCH ``socket <addr> async full`` connection, which is one call.

    `channel` is the channel data from the ``connect`` reply (url-decoded
    lazily); `uuid` its ``Unique-ID``.  Every method has a timeout; every
    method raises `ESLConnectionClosed` once the connection is gone.
    """

    def __init__(self, session: FixedOutboundSession, channel: Event) -> None:
        self._session = session
        self.channel = channel
        self.uuid: str = channel.get("Unique-ID") or ""

    @property
    def closed(self) -> bool:
        return self._session.closed

    def _request(self, data: bytes, timeout: float) -> FixedESLEvent:
        return self._session.send(data, timeout=timeout)

    def command(self, line: str, timeout: float = 5.0) -> Frame:
        """A socket command (``myevents``, ``linger``, ``event plain ...``, ``filter ...``).

        Returns the ``command/reply`` frame; raises ESLCommandError on ``-ERR``.
        """
        frame = self._request(encode_command(line), timeout).frame
        ESLCommandError.check(line, frame.header("Reply-Text", ""))
        return frame

    def execute(
        self,
        app: str,
        arg: str | None = None,
        *,
        event_uuid: str,
        event_lock: bool = True,
        timeout: float = 5.0,
    ) -> None:
        """``sendmsg`` execute; returns at ``+OK``, completion comes later as an event.

        The completion is the ``CHANNEL_EXECUTE_COMPLETE`` whose
        ``Application-UUID`` equals `event_uuid`.  `event_lock` keeps queued
        applications from nesting inside each other.
        """
        try:
            reply = self._session.call_command(
                app, arg, event_uuid=event_uuid, event_lock=event_lock, reply_timeout=timeout
            )
        except esl.OutboundSessionHasGoneAway as exc:
            raise ESLConnectionClosed(f"call {self.uuid} has hung up; cannot execute {app}") from exc
        ESLCommandError.check(f"execute {app}", reply.data)

    def api(self, cmd: str, timeout: float = 5.0) -> str:
        """An ``api`` command over this socket (e.g. ``uuid_break <uuid> all``); its text result.

        Raises ESLCommandError when the result starts with ``-ERR``.
        """
        body = self._request(encode_command(f"api {cmd}"), timeout).data
        ESLCommandError.check(f"api {cmd}", body)
        return body

    def next_event(self, timeout: float | None) -> Event | Frame | object | None:
        """The next event for this call; a ``text/disconnect-notice`` comes as its Frame.

        None when `timeout` passes first, `WAKE` when `wake()` was called.
        Raises ESLConnectionClosed after the connection ended and everything
        received was handed out.
        """
        item = self._session.next_event(timeout)
        if item is None or item is WAKE:
            return item
        return item.event if item.event is not None else item.frame

    def wake(self) -> None:
        """Make `next_event` return `WAKE` (from any greenlet; never blocks), so
        the call's owner looks at what other greenlets told it."""
        self._session.wake()

    def close(self) -> None:
        """Close the socket (without ``exit``); idempotent, always safe."""
        self._session.stop(send_exit=False)

    def __repr__(self) -> str:
        return f"<OutboundCall {self.uuid} {'closed' if self.closed else 'open'}>"


class OutboundServer:
    """Accepts FreeSWITCH's outbound connections and runs `handler` once per call."""

    def __init__(
        self,
        host: str,
        port: int,
        handler: Callable[[OutboundCall], None],
        *,
        max_sessions: int = 500,
        connect_timeout: float = 5.0,
    ) -> None:
        self._handler = handler
        self.max_sessions = max_sessions
        self.connect_timeout = connect_timeout
        self.active_sessions = 0
        # A pool (unbounded: refusals must still be answered) lets stop() wait
        # for and then kill the calls in progress.
        self._server = StreamServer((host, port), self._serve, spawn=gevent.pool.Pool())

    def start(self) -> None:
        """Bind and start accepting in the background (port 0 picks a free port)."""
        self._server.start()
        log.info("outbound ESL server listening on %s:%d", *self.address)

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._server.address[:2]
        return host, port

    def stop(self, timeout: float = 10.0) -> None:
        """Stop accepting, give calls in progress `timeout` seconds, then kill them."""
        self._server.stop(timeout=timeout)

    def _serve(self, sock, address) -> None:
        session = FixedOutboundSession(address, sock, dispatch_events=False)
        try:
            channel = self._connect(session)
            if self.active_sessions >= self.max_sessions:
                log.warning(
                    "refusing call %s from %s:%d: %d sessions active (max_sessions=%d); "
                    "closing without linger so the dialplan continues to its fallback",
                    channel.uuid, *address[:2], self.active_sessions, self.max_sessions,
                )
                return
            self.active_sessions += 1
            try:
                self._handler(OutboundCall(session, channel))
            finally:
                self.active_sessions -= 1
        except ESLError as exc:
            log.warning("outbound session from %s:%d ended: %s", *address[:2], exc)
        except Exception:
            log.exception("outbound session from %s:%d failed", *address[:2])
        finally:
            session.stop(send_exit=False)

    def _connect(self, session: FixedOutboundSession) -> Event:
        reply = session.send("connect", timeout=self.connect_timeout)
        if reply.event is None or not reply.event.uuid:
            raise ESLProtocolError(f"connect reply without channel data: {reply.frame.headers[:4]!r}")
        return reply.event
