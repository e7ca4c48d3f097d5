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

Memory a peer can claim before it is known to be a call (it has answered
``connect`` with a channel whose ``Unique-ID`` is a UUID) is bounded:

* it may send one reply, with no body and a header block of at most the
  codec's 64 KiB, and nothing else (FreeSWITCH sends nothing before it
  answers ``connect``, and its answer is one header block of channel data:
  7.4 KB in the recorded transcripts, ~10 KB seen in the field), see
  `PRECONNECT`;
* it has `connect_timeout` seconds to answer in full;
* at most `max_pending` peers are in that phase at once.  The next peer is
  not refused but waits, unaccepted, in the kernel's listen backlog until a
  slot frees: a burst of real calls is then served a few milliseconds late
  instead of being sent to the dialplan fallback, and a flood of peers that
  never answer costs each slot at most `connect_timeout`, never memory.

After ``connect`` a frame's body is bounded by `CALL_LIMITS` (1 MiB: a call's
socket carries channel events of 4-9 KB and short command results).

greenswitch's ``OutboundESLServer`` and ``OutboundSession`` are not used:
see docs/decisions/0001-greenswitch-replaced.md.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

import gevent
import gevent.lock
import gevent.pool
from gevent import socket

from fsrouter.esl.codec import Event, Frame, channel_data, encode_command, encode_sendmsg
from fsrouter.esl.connection import WAKE, Connection, Limits
from fsrouter.esl.errors import ESLCommandError, ESLConnectionClosed, ESLError, ESLProtocolError

__all__ = ["CALL_LIMITS", "PRECONNECT", "WAKE", "OutboundCall", "OutboundServer"]

log = logging.getLogger(__name__)

PRECONNECT = Limits(max_body_bytes=0, one_reply=True)
"""Until ``connect`` is answered: one reply, one header block (<= 64 KiB), no body; then
reading pauses until the reply is checked."""

CALL_LIMITS = Limits(max_body_bytes=1024 * 1024)
"""Once the peer is a call: frames up to 1 MiB of body (about 100x the largest channel event)."""

UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
"""A channel's Unique-ID as FreeSWITCH makes it (switch_uuid_format: 36 characters, 8-4-4-4-12 hex)."""


class OutboundCall:
    """One FreeSWITCH ``socket <addr> async full`` connection, which is one call.

    `channel` is the channel data from the ``connect`` reply (url-decoded
    lazily); `uuid` its ``Unique-ID``, checked to be a UUID.  Every method
    has a timeout; every method raises `ESLConnectionClosed` once the
    connection is gone.
    """

    def __init__(self, connection: Connection, channel: Event) -> None:
        self._conn = connection
        self.channel = channel
        self.uuid: str = channel.get("Unique-ID") or ""

    @property
    def closed(self) -> bool:
        return self._conn.closed

    def command(self, line: str, timeout: float = 5.0) -> Frame:
        """A socket command (``myevents``, ``linger``, ``event plain ...``, ``filter ...``).

        Returns the ``command/reply`` frame; raises ESLCommandError on ``-ERR``.
        """
        return self.commands([line], timeout)[0]

    def commands(self, lines: list[str], timeout: float = 5.0) -> list[Frame]:
        """Socket commands sent together (`Connection.requests`): their
        ``command/reply`` frames in order; raises ESLCommandError for the first ``-ERR``."""
        frames = self._conn.requests([encode_command(line) for line in lines], timeout)
        for line, frame in zip(lines, frames):
            ESLCommandError.check(line, frame.header("Reply-Text", ""))
        return frames

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
        applications from nesting inside each other.  Once FreeSWITCH sent
        its disconnect notice (the caller hung up; the socket lingers)
        nothing more can run on the channel: ESLConnectionClosed at once.
        """
        if self._conn.disconnect_notice is not None:
            raise ESLConnectionClosed(f"call {self.uuid} has hung up; cannot execute {app}")
        frame = self._conn.request(encode_sendmsg(app, arg, event_uuid=event_uuid, event_lock=event_lock), timeout)
        ESLCommandError.check(f"execute {app}", frame.header("Reply-Text", ""))

    def api(self, cmd: str, timeout: float = 5.0) -> str:
        """An ``api`` command over this socket (e.g. ``uuid_break <uuid> all``); its text result.

        Raises ESLCommandError when the result starts with ``-ERR``.
        """
        body = self._conn.request(encode_command(f"api {cmd}"), timeout).body.decode("utf-8", "replace")
        ESLCommandError.check(f"api {cmd}", body)
        return body

    def next_event(self, timeout: float | None) -> Event | Frame | object | None:
        """The next event for this call; a ``text/disconnect-notice`` comes as its Frame.

        None when `timeout` passes first, `WAKE` when `wake()` was called.
        Raises ESLConnectionClosed after the connection ended and everything
        received was handed out.
        """
        return self._conn.next_event(timeout)

    def wake(self) -> None:
        """Make `next_event` return `WAKE` (from any greenlet; never blocks), so
        the call's owner looks at what other greenlets told it."""
        self._conn.wake()

    def close(self) -> None:
        """Close the socket (without ``exit``); idempotent, always safe."""
        self._conn.close()

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
        max_pending: int = 64,
        backlog: int = 1024,
    ) -> None:
        self._handler = handler
        self._bind = (host, port)
        self.max_sessions = max_sessions
        self.connect_timeout = connect_timeout
        self.max_pending = max_pending
        self._backlog = backlog
        self.active_sessions = 0
        self.pending_peers = 0
        """Peers accepted that have not yet answered ``connect`` (at most `max_pending`)."""
        self._pending = gevent.lock.BoundedSemaphore(max_pending)
        self._sessions = gevent.pool.Group()
        self._listener: socket.socket | None = None
        self._acceptor: gevent.Greenlet | None = None

    def start(self) -> None:
        """Bind and start accepting in the background (port 0 picks a free port).

        Raises OSError when the address cannot be bound.
        """
        listener = socket.socket(socket.AF_INET6 if ":" in self._bind[0] else socket.AF_INET)
        try:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(self._bind)
            listener.listen(self._backlog)
        except OSError:
            listener.close()
            raise
        self._listener = listener
        self._acceptor = gevent.spawn(self._accept_loop, listener)
        log.info("outbound ESL server listening on %s:%d", *self.address)

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._listener.getsockname()[:2]
        return host, port

    def stop(self, timeout: float = 10.0) -> None:
        """Stop accepting, give calls in progress `timeout` seconds, then kill them."""
        if self._acceptor is not None:
            self._acceptor.kill()
            self._acceptor = None
        if self._listener is not None:
            self._listener.close()
        self._sessions.join(timeout=timeout)
        self._sessions.kill(block=True, timeout=1)

    def _accept_loop(self, listener: socket.socket) -> None:
        while True:
            self._pending.acquire()  # beyond max_pending, peers wait in the listen backlog
            try:
                sock, address = listener.accept()
            except OSError as exc:
                self._pending.release()
                log.error("outbound ESL accept failed: %s; retrying in 0.1 s", str(exc))  # e.g. EMFILE
                gevent.sleep(0.1)
                continue
            self.pending_peers += 1
            self._sessions.spawn(self._serve, sock, address)

    def _serve(self, sock, address) -> None:
        peer = "%s:%d" % address[:2]
        conn = Connection(sock, name=peer, limits=PRECONNECT)
        try:
            try:
                channel = self._connect(conn)
            finally:
                self.pending_peers -= 1
                self._pending.release()
            conn.set_limits(CALL_LIMITS)
            if self.active_sessions >= self.max_sessions:
                log.warning(
                    "refusing call %s from %s: %d sessions active (max_sessions=%d); "
                    "closing without linger so the dialplan continues to its fallback",
                    channel.uuid, peer, self.active_sessions, self.max_sessions,
                )
                return
            self.active_sessions += 1
            try:
                self._handler(OutboundCall(conn, channel))
            finally:
                self.active_sessions -= 1
        except ESLError as exc:
            log.warning("outbound session from %s ended: %s", peer, str(exc))
        except Exception:
            log.exception("outbound session from %s failed", peer)
        finally:
            conn.close()

    def _connect(self, conn: Connection) -> Event:
        """Send ``connect``; the reply's channel data, once it is a channel with a UUID."""
        reply = conn.request(encode_command("connect"), timeout=self.connect_timeout)
        if reply.content_type != "command/reply" or reply.header("Event-Name") is None:
            raise ESLProtocolError(f"connect reply without channel data: {reply.headers[:4]!r}")
        channel = channel_data(reply)
        uuid = channel.uuid or ""
        if not UUID.fullmatch(uuid):
            # The runtime puts Unique-ID into api commands (uuid_break <uuid> all).
            raise ESLProtocolError(f"connect reply's Unique-ID is not a UUID: {uuid[:80]!r}")
        return channel
