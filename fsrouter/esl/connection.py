"""One ESL socket under gevent: the codec's thin IO shell, shared by the outbound and inbound sides.

A reader greenlet feeds received bytes to `fsrouter.esl.codec.Parser` and
routes each frame: replies (``command/reply``, ``api/response``) go to the
oldest waiting `request`, in order; events and notices go to a bounded queue
that the owner pulls with `next_event`.  Nothing is decoded before a frame is
complete, and no greenswitch code is involved: see
docs/decisions/0001-greenswitch-replaced.md for why each part of greenswitch
was replaced (the defect numbers D5, D6 below refer to it).

Guarantees the owners rely on:

* Every wait is bounded (`request` takes a timeout) and every waiter fails at
  once with `ESLConnectionClosed` when the connection ends (D5).
* A malformed frame, a non-UTF-8 byte, a socket error or a bug in the reader
  ends this connection, logged, and nothing else (D6).
* Memory is bounded by `Limits`: the largest frame body accepted, and a soft
  bound on queued events (by count and by bytes) past which the reader stops
  reading, so TCP pushes back on the peer (greenswitch queues without bound).
* `close` drops the receive buffer at once, and the objects form no reference
  cycle (waiters carry values, not stored exceptions; the reader greenlet
  lets go of its function when it ends), so plain reference counting frees a
  closed connection without waiting for the cycle collector.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from dataclasses import dataclass

import gevent
import gevent.event
import gevent.lock
import gevent.queue
from gevent import socket

from fsrouter.esl.codec import MAX_BODY_BYTES, Event, Frame, Parser, parse_event
from fsrouter.esl.errors import ESLConnectionClosed, ESLProtocolError, ESLTimeout

log = logging.getLogger(__name__)

EVENT_CONTENT_TYPES = frozenset({"text/event-plain", "text/event-json"})
REPLY_CONTENT_TYPES = frozenset({"command/reply", "api/response"})

WAKE = object()
"""What `next_event` returns when `wake()` was called: something local (not
from FreeSWITCH) wants the owner's attention."""

_CLOSED = object()
"""Queued after the last frame, so a blocked `next_event` wakes up at the end."""


@dataclass(frozen=True)
class Limits:
    """What one peer may make fsrouter hold in memory.

    `max_body_bytes` bounds each frame's body (its header block is bounded by
    the codec's MAX_HEADER_BYTES, 64 KiB).  With `one_reply` the peer may send
    one reply and nothing else, and reading pauses after it until the owner
    sets the next limits (an outbound peer before ``connect`` is answered:
    FreeSWITCH sends nothing else then).  `max_queued_events` and
    `max_queued_bytes` are the soft bound of the event queue.
    """

    max_body_bytes: int = MAX_BODY_BYTES
    one_reply: bool = False
    max_queued_events: int = 1000
    max_queued_bytes: int = 4 * 1024 * 1024


@dataclass(frozen=True)
class _Closed:
    """Handed to waiters instead of a stored exception (which would hold a traceback cycle)."""

    reason: str


class Connection:
    """An ESL connection over a connected socket; the reader starts at once.

    `observe`, if given, is called in the reader with every event before it
    is queued (the inbound client resolves ``bgapi`` jobs there, so a slow
    consumer cannot delay them); it must not block.
    """

    recv_size = 65536

    def __init__(self, sock, *, name: str, limits: Limits = Limits(), observe=None) -> None:
        self.name = name
        self._sock = sock
        self._limits = limits
        self._parser: Parser | None = Parser(max_body_bytes=limits.max_body_bytes)
        self._observe = observe
        self._waiters: deque[gevent.event.AsyncResult] = deque()
        self._send_lock = gevent.lock.Semaphore()
        self._queue: gevent.queue.Queue = gevent.queue.Queue()
        self._queued_bytes = 0
        self._paused = False
        self._room = gevent.event.Event()
        self._room.set()
        self._closed_reason: str | None = None
        self.disconnect_notice: Frame | None = None
        """FreeSWITCH's ``text/disconnect-notice``, once received (its linger or disconnect)."""
        self._reader = gevent.spawn(self._read_loop)

    # ------------------------------------------------------------ state

    @property
    def closed(self) -> bool:
        """True once the connection ended, from either side; its waiters have failed."""
        return self._closed_reason is not None

    def set_limits(self, limits: Limits) -> None:
        """Change the limits, e.g. once an outbound peer has answered ``connect``."""
        self._limits = limits
        self._paused = False
        if self._parser is not None:
            self._parser.max_body_bytes = limits.max_body_bytes
        self._update_room()

    def wait_closed(self, timeout: float | None = None) -> bool:
        """Wait until the reader has ended; True if it has."""
        self._reader.join(timeout)
        return self._reader.dead

    # ------------------------------------------------------------ receiving

    def _read_loop(self) -> None:
        reason = "closed by peer"
        try:
            while self._wait_for_room():
                frame = self._parser.next_frame()
                if frame is not None:
                    self._route(frame)
                    continue
                data = self._sock.recv(self.recv_size)
                if not data or self.closed:
                    break
                self._parser.feed(data)
        # Logged as str(exc): a record holding the exception would hold its
        # traceback, its frames and this connection for as long as a log
        # handler keeps the record.
        except ESLProtocolError as exc:
            reason = f"protocol error: {exc}"
            log.warning("ESL peer %s sent a malformed frame, closing: %s", self.name, str(exc))
        except OSError as exc:
            reason = f"socket error: {exc}"
            log.debug("ESL socket error on %s: %s", self.name, str(exc))
        except Exception:
            reason = "internal error"
            log.exception("ESL receive loop on %s failed, closing the connection", self.name)
        finally:
            self.close(reason)

    def _route(self, frame: Frame) -> None:
        content_type = frame.content_type
        if content_type in REPLY_CONTENT_TYPES:
            if self._waiters:
                self._waiters.popleft().set(frame)
            else:
                log.warning("ESL reply from %s with no request waiting: %r", self.name, frame.headers[:2])
            if self._limits.one_reply:
                self._paused = True
                self._update_room()
            return
        if self._limits.one_reply:
            raise ESLProtocolError(f"{content_type or 'a frame without Content-Type'} where only a reply may come")
        item: Event | Frame = frame
        if content_type == "text/disconnect-notice":
            self.disconnect_notice = frame
        elif content_type in EVENT_CONTENT_TYPES:
            item = parse_event(frame)
            if self._observe is not None:
                self._observe(item)
        self._put(item, _size(frame))

    def _put(self, item: Event | Frame, size: int) -> None:
        self._queued_bytes += size
        self._queue.put((item, size))
        self._update_room()

    def _update_room(self) -> None:
        limits = self._limits
        if self._paused:
            self._room.clear()
        elif self._queue.qsize() < limits.max_queued_events and self._queued_bytes < limits.max_queued_bytes:
            self._room.set()
        else:
            self._room.clear()

    def _wait_for_room(self) -> bool:
        """Backpressure: stop reading while the queue is full, unless a reply is awaited,
        and while paused after a `one_reply`; False once the connection is closed.

        A reply can only be reached by reading past the queued events, so a
        pending request lets the queue exceed its bound for that round trip.
        """
        while not self.closed and not self._room.is_set() and (self._paused or not self._waiters):
            self._room.wait(1.0)
        return not self.closed

    def next_event(self, timeout: float | None) -> Event | Frame | object | None:
        """The next queued event (an `Event`) or other frame (a notice, as its `Frame`).

        None when `timeout` passes first, `WAKE` after a `wake()`.  Raises
        ESLConnectionClosed once the connection ended and everything received
        was handed out.
        """
        if self.closed and self._queue.empty():
            raise ESLConnectionClosed(f"connection to {self.name} {self._closed_reason}")
        try:
            item, size = self._queue.get(timeout=timeout)
        except gevent.queue.Empty:
            return None
        if item is _CLOSED:
            raise ESLConnectionClosed(f"connection to {self.name} {self._closed_reason}")
        self._queued_bytes -= size
        self._update_room()
        return item

    def wake(self) -> None:
        """Make a blocked (or the next) `next_event` return `WAKE`; never blocks."""
        self._queue.put_nowait((WAKE, 0))

    # ------------------------------------------------------------ requests

    def request(self, data: bytes, timeout: float) -> Frame:
        """Send one encoded command and wait up to `timeout` for its reply frame.

        Replies are strictly in order; a timed-out request keeps its place in
        the line so its late reply is consumed by it, never handed to the next
        request.  A write that fails or stalls ends the connection (half a
        command cannot be taken back).
        """
        return self.requests([data], timeout)[0]

    def requests(self, commands: list[bytes], timeout: float) -> list[Frame]:
        """Send encoded commands in one write and wait for their replies, in order.

        FreeSWITCH reads a socket one command at a time and answers each in
        turn (mod_event_socket.c, read_packet reads up to the blank line that
        ends a command and no further), so commands need not wait for each
        other's replies: N commands cost one write and one wait instead of N
        round trips.  `timeout` bounds the whole; the replies of commands
        given up on are consumed by their places in the line, as in `request`.
        """
        if self.closed:
            raise ESLConnectionClosed(
                f"cannot send {_first_line(commands[0])!r}: connection to {self.name} {self._closed_reason}")
        waiters = [gevent.event.AsyncResult() for _ in commands]
        if not self._send_lock.acquire(timeout=timeout):
            raise ESLTimeout(f"could not send {_first_line(commands[0])!r} within {timeout}s: another send is stuck")
        try:
            self._waiters.extend(waiters)
            self._sendall(commands[0] if len(commands) == 1 else b"".join(commands), timeout)
        finally:
            self._send_lock.release()
        deadline = time.monotonic() + timeout
        replies = []
        for data, waiter in zip(commands, waiters):
            try:
                result = waiter.get(timeout=max(deadline - time.monotonic(), 0))
            except gevent.Timeout:
                raise ESLTimeout(f"no reply to {_first_line(data)!r} within {timeout}s") from None
            if isinstance(result, _Closed):
                raise ESLConnectionClosed(
                    f"no reply to {_first_line(data)!r}: connection to {self.name} {result.reason}")
            replies.append(result)
        return replies

    def _sendall(self, data: bytes, timeout: float) -> None:
        timer = gevent.Timeout.start_new(timeout)
        try:
            self._sock.sendall(data)
        except (OSError, gevent.Timeout) as exc:
            if isinstance(exc, gevent.Timeout) and exc is not timer:
                self.close("send interrupted")  # part of a command may be on the wire
                raise
            self.close(f"send failed: {exc or 'peer not reading'}")
        except BaseException:  # killed mid-send: what the peer got is half a command
            self.close("send interrupted")
            raise
        finally:
            timer.close()

    # ------------------------------------------------------------ closing

    def close(self, reason: str = "closed locally") -> None:
        """End the connection once: fail every waiter, close the socket, drop the buffer."""
        if self._closed_reason is not None:
            return
        self._closed_reason = reason
        closed = _Closed(reason)
        while self._waiters:
            self._waiters.popleft().set(closed)
        self._queue.put_nowait((_CLOSED, 0))
        self._room.set()
        self._parser = None  # the receive buffer: freed now, whoever still holds this connection
        self._observe = None
        try:
            # shutdown sends FIN now and wakes a reader blocked in recv.
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._sock.close()


def _size(frame: Frame) -> int:
    """Roughly what a queued frame holds in memory, for the queue's byte bound."""
    return len(frame.body) + sum(len(name) + len(value) for name, value in frame.headers)


def _first_line(command: bytes) -> str:
    """A command's first line, shortened, for an error message (made only when one is raised)."""
    return command.split(b"\n", 1)[0][:80].decode("utf-8", "replace")
