"""A scripted stand-in for fsrouter's side of the sockets, for driving the simulator.

`FakeRouter` listens where fsrouter's outbound server would; each test gives
it a handler that runs once per connection with an `EslPeer`, which sends
commands through the codec and reads frames back.  `connect_inbound` opens an
inbound connection to an `InboundListener` the same way.  Nothing here knows
the simulator's internals: tests see only the wire.
"""

from __future__ import annotations

import struct
import wave
from collections.abc import Callable
from pathlib import Path

import gevent
from gevent import socket
from gevent.server import StreamServer

from fsrouter.esl.codec import Event, Frame, Parser, channel_data, encode_command, encode_sendmsg, parse_event

WAIT = 5.0  # real seconds: a bound on any single wait, never reached when things work


class EslPeer:
    """The client end of one ESL socket: commands out, frames in (all kept in `frames`)."""

    def __init__(self, sock) -> None:
        self.sock = sock
        self.parser = Parser()
        self.frames: list[Frame] = []
        self.eof = False

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def frame(self, timeout: float = WAIT) -> Frame | None:
        """The next frame; None once the simulator closed the socket."""
        with gevent.Timeout(timeout):
            while (frame := self.parser.next_frame()) is None:
                data = self.sock.recv(65536)
                if not data:
                    self.eof = True
                    return None
                self.parser.feed(data)
        self.frames.append(frame)
        return frame

    def command(self, line: str, headers=(), body: bytes = b"") -> Frame:
        """Send a command; return its reply (command/reply or api/response), reading past events."""
        self.send(encode_command(line, headers, body))
        return self.reply()

    def reply(self) -> Frame:
        while True:
            frame = self.frame()
            assert frame is not None, "socket closed while waiting for a reply"
            if frame.content_type in ("command/reply", "api/response"):
                return frame

    def until(self, predicate: Callable[[Frame], bool]) -> Frame | None:
        """Read frames until one satisfies `predicate` (returned) or the socket closes (None)."""
        while (frame := self.frame()) is not None:
            if predicate(frame):
                return frame
        return None

    def event(self, name: str, **headers: str) -> Event:
        frame = self.until(lambda f: is_event(f, name, **headers))
        assert frame is not None, f"socket closed before {name} {headers}"
        return parse_event(frame)

    def drain(self) -> None:
        """Read until the simulator closes the socket."""
        while self.frame() is not None:
            pass

    def close(self) -> None:
        self.sock.close()


def is_event(frame: Frame, name: str | None = None, **headers: str) -> bool:
    if frame.content_type != "text/event-plain":
        return False
    event = parse_event(frame)
    return (name is None or event.name == name) and all(
        event.get(k.replace("_", "-")) == v for k, v in headers.items())


def events(frames: list[Frame]) -> list[Event]:
    return [parse_event(f) for f in frames if f.content_type.startswith("text/event-")]


def shape(frame: Frame) -> tuple:
    """What a frame is, for comparing sequences with a transcript."""
    if frame.content_type == "text/event-plain":
        event = parse_event(frame)
        return ("event", event.name, event.get("Application"))
    if frame.content_type == "text/disconnect-notice":
        return ("notice", frame.header("Content-Disposition"))
    return (frame.content_type, frame.header("Reply-Text"))


class FakeRouter:
    """fsrouter's outbound listener; `handler(peer)` runs for each connection the switch makes."""

    def __init__(self, handler: Callable[[EslPeer], None]) -> None:
        self.handler = handler
        self.peers: list[EslPeer] = []
        self.errors: list[BaseException] = []
        self._handlers: list[gevent.Greenlet] = []
        self._server = StreamServer(("127.0.0.1", 0), self._handle)
        self._server.start()

    @property
    def address(self) -> tuple[str, int]:
        return self._server.address[:2]

    def _handle(self, sock, address) -> None:
        peer = EslPeer(sock)
        self.peers.append(peer)
        self._handlers.append(gevent.getcurrent())
        try:
            self.handler(peer)
        except BaseException as exc:  # noqa: BLE001 -- reported by check()
            self.errors.append(exc)
            raise

    def check(self) -> None:
        """Wait for the handlers to finish; re-raise the first failure (assertions inside them)."""
        assert not gevent.joinall(self._handlers, timeout=WAIT) or all(h.dead for h in self._handlers), \
            "a FakeRouter handler is still running"
        if self.errors:
            raise self.errors[0]

    def stop(self) -> None:
        self._server.stop()


def connect_inbound(address: tuple[str, int]) -> EslPeer:
    return EslPeer(socket.create_connection(address))


# ------------------------------------------------------------ inbound-socket helpers


def inbound(switch, listener, subscription: str = "ALL") -> EslPeer:
    peer = connect_inbound(listener.address)
    assert peer.frame().content_type == "auth/request"
    assert peer.command("auth ClueCon").header("Reply-Text") == "+OK accepted"
    assert peer.command(f"event plain {subscription}").header("Reply-Text") == "+OK event listener enabled plain"
    return peer


def bgapi(peer, line: str) -> str:
    """bgapi a command; the body of its BACKGROUND_JOB."""
    job = peer.command(f"bgapi {line}").header("Job-UUID")
    return parse_event(peer.until(lambda f: is_event(f, "BACKGROUND_JOB", Job_UUID=job))).body.decode()


def api(peer, line: str) -> str:
    return peer.command(f"api {line}").body.decode()


def expect(peer, name: str, **headers: str):
    """The first matching event not expected before, whether already read or still to come.

    Events of different channels interleave as their greenlets run, so a test
    waits for each one without caring what arrived in between.
    """
    used = peer.__dict__.setdefault("expected", set())
    for index, frame in enumerate(peer.frames):
        if index not in used and is_event(frame, name, **headers):
            used.add(index)
            return parse_event(frame)
    frame = peer.until(lambda f: is_event(f, name, **headers))
    assert frame is not None, f"socket closed before {name} {headers}"
    used.add(len(peer.frames) - 1)
    return parse_event(frame)


def collect(peer) -> list:
    return [parse_event(f) for f in peer.frames if f.content_type == "text/event-plain"]


def caller_router(uuids: list[str]) -> FakeRouter:
    """fsrouter's side of the caller: connect, answer, then keep the channel parked."""
    def handler(peer):
        uuids.append(channel_data(peer.command("connect")).uuid)
        assert peer.command("myevents").header("Reply-Text").startswith("+OK")
        peer.send(encode_sendmsg("answer", None, event_lock=True))
        peer.drain()
    return FakeRouter(handler)


class about:  # noqa: N801 -- reads as a value in assertions: `assert run.duration == about(2.0)`
    """A sim duration measured in real time: never much early, possibly late on a busy machine."""

    def __init__(self, expected: float, early: float = 0.1, late: float = 0.35) -> None:
        self.expected, self.early, self.late = expected, early, late

    def __eq__(self, actual: object) -> bool:
        return isinstance(actual, (int, float)) and self.expected - self.early <= actual <= self.expected + self.late

    def __repr__(self) -> str:
        return f"{self.expected} (-{self.early}/+{self.late})"


def write_wav(path: Path, seconds: float, rate: int = 8000) -> Path:
    """A silent 16-bit mono WAV of the given length."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(struct.pack("<h", 0) * int(seconds * rate))
    return path
