"""Small fake FreeSWITCH peers on 127.0.0.1 for the ESL tests.

They speak through fsrouter's codec (``Parser(commands=True)`` and the
server-side encoders), which the transcript tests pin to real FreeSWITCH
output.  Each test scripts what the peer answers; nothing here depends on
``fsrouter.sim``.
"""

from __future__ import annotations

import gc
import os
import uuid as uuidlib
from collections.abc import Callable

import gevent
import greenlet
from gevent import socket
from gevent.server import StreamServer

from fsrouter.esl.codec import (
    Frame,
    Parser,
    encode_api_response,
    encode_auth_request,
    encode_connect_reply,
    encode_event_plain,
    encode_reply,
)

WAIT = 2.0  # generous bound for a fake peer's own waits; tests use tighter gevent.Timeouts


class PeerConn:
    """FreeSWITCH's end of one socket: reads client commands, records them, writes frames."""

    def __init__(self, sock) -> None:
        self.sock = sock
        self.parser = Parser(commands=True)
        self.commands: list[Frame] = []

    def recv_command(self, timeout: float = WAIT) -> Frame | None:
        """The next command, or None at EOF (or when `timeout` passes)."""
        with gevent.Timeout(timeout, False):
            while (frame := self.parser.next_frame()) is None:
                try:
                    data = self.sock.recv(65536)
                except OSError:
                    return None
                if not data:
                    return None
                self.parser.feed(data)
            self.commands.append(frame)
            return frame
        return None

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def wait_eof(self, timeout: float = WAIT) -> bool:
        """True if the client closed the socket within `timeout` (commands meanwhile are recorded)."""
        with gevent.Timeout(timeout, False):
            while self.recv_command(timeout) is not None:
                pass
            return True
        return False

    def close(self) -> None:
        self.sock.close()


def event(name: str, uuid: str = "u-1", *extra: tuple[str, str], body: bytes = b"") -> bytes:
    return encode_event_plain([("Event-Name", name), ("Unique-ID", uuid), *extra], body)


def execute_complete(frame: Frame, uuid: str = "u-1", app_uuid: str | None = None) -> bytes:
    """The CHANNEL_EXECUTE_COMPLETE FreeSWITCH sends for a sendmsg execute."""
    app = frame.header("execute-app-name")
    return event(
        "CHANNEL_EXECUTE_COMPLETE",
        uuid,
        ("Application", app),
        ("Application-Data", frame.header("execute-app-arg", "")),
        ("Application-Response", "FILE PLAYED"),
        ("Application-UUID", app_uuid or frame.header("Event-UUID") or str(uuidlib.uuid4())),
        ("variable_current_application", app),
    )


# ------------------------------------------------------------------ inbound


Script = Callable[[PeerConn, Frame], None]


def reply_ok(conn: PeerConn, frame: Frame) -> None:
    if frame.command.startswith("api "):
        conn.send(encode_api_response("+OK\n"))
    else:
        conn.send(encode_reply("+OK"))


class FakeInboundFS:
    """FreeSWITCH's inbound listener: auth/request, auth, ``event`` subscription, then `script`."""

    def __init__(self, script: Script = reply_ok, password: str = "ClueCon") -> None:
        self.script = script
        self.password = password
        self.conns: list[PeerConn] = []
        self.server = StreamServer(("127.0.0.1", 0), self._handle)
        self.server.start()

    @property
    def port(self) -> int:
        return self.server.server_port

    def _handle(self, sock, address) -> None:
        conn = PeerConn(sock)
        self.conns.append(conn)
        conn.send(encode_auth_request())
        while (frame := conn.recv_command(timeout=30)) is not None:
            if frame.command.startswith("auth "):
                if frame.command == f"auth {self.password}":
                    conn.send(encode_reply("+OK accepted"))
                else:
                    conn.send(encode_reply("-ERR invalid"))
                    return
            elif frame.command.startswith("event "):
                conn.send(encode_reply("+OK event listener enabled plain"))
            else:
                self.script(conn, frame)

    def stop(self) -> None:
        for conn in self.conns:
            conn.close()
        self.server.stop(timeout=0.2)


# ------------------------------------------------------------------ outbound


def channel_headers(uuid: str) -> list[tuple[str, str]]:
    return [
        ("Event-Name", "CHANNEL_DATA"),
        ("Unique-ID", uuid),
        ("Channel-Name", "sofia/internal/sipp@127.0.0.1:5070"),
        ("Caller-Caller-ID-Name", "Ελένη"),
        ("Caller-Caller-ID-Number", "1000"),
        ("variable_uuid", uuid),
    ]


class FakeOutboundFS:
    """FreeSWITCH's ``socket 127.0.0.1:PORT async full`` for one call: connects, answers ``connect``.

    `serve()` then answers commands like FreeSWITCH in async mode; with
    `complete`, each execute is followed by its CHANNEL_EXECUTE_COMPLETE.
    """

    def __init__(self, address: tuple[str, int], uuid: str | None = None) -> None:
        self.uuid = uuid or str(uuidlib.uuid4())
        self.conn = PeerConn(socket.create_connection(address, timeout=WAIT))
        self.conn.sock.settimeout(None)

    def handshake(self) -> Frame | None:
        frame = self.conn.recv_command()
        if frame is not None and frame.command == "connect":
            self.conn.send(encode_connect_reply(channel_headers(self.uuid)))
        return frame

    def serve(self, complete: bool = True) -> None:
        while (frame := self.conn.recv_command(timeout=30)) is not None:
            if frame.command == "sendmsg":
                self.conn.send(encode_reply("+OK"))
                if complete:
                    self.conn.send(execute_complete(frame, self.uuid))
            elif frame.command.startswith("api "):
                self.conn.send(encode_api_response(f"+OK {frame.command[4:]}\n"))
            elif frame.command == "exit":
                self.conn.send(encode_reply("+OK bye"))
                return
            else:
                self.conn.send(encode_reply("+OK"))


# ------------------------------------------------------------------ leak checks


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def live_greenlets() -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if isinstance(o, greenlet.greenlet) and not o.dead)
