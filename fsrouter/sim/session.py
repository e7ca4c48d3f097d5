"""One event-socket connection of the simulated switch (mod_event_socket's listener).

As in FreeSWITCH, one kind of listener serves both directions: with a
`channel` it is the outbound socket the ``socket`` application opened to
fsrouter (already authorised, controls that channel, may ``linger``);
without one it is an inbound connection that must ``auth`` first.  Commands
are matched and answered exactly as parse_command does, in its order and with
its reply texts, including ``-ERR command not found`` for anything else.

Ordering on the wire follows FreeSWITCH's single listener loop: replies and
events leave through one queue, and events fired while a command is being
handled are held until its reply is out (so an ``API`` event follows its
``api/response``).  After the controlled channel's ``CHANNEL_HANGUP_COMPLETE``
comes the disconnect notice: ``linger`` keeps the socket open (forever, or
N+1 sim seconds then a second notice), otherwise FreeSWITCH says goodbye and
closes.
"""

from __future__ import annotations

import logging
import socket
import uuid as uuidlib
from typing import TYPE_CHECKING

import gevent
import gevent.event
import gevent.queue

from fsrouter.esl.codec import (
    ESLProtocolError,
    Frame,
    Parser,
    encode_api_response,
    encode_auth_request,
    encode_connect_reply,
    encode_disconnect_notice,
    encode_event_json,
    encode_event_plain,
    encode_reply,
)
from fsrouter.sim import api
from fsrouter.sim.call import WireMessage
from fsrouter.sim.events import SimEvent, Subscription

if TYPE_CHECKING:
    from fsrouter.sim.channel import Channel
    from fsrouter.sim.switch import Switch

log = logging.getLogger(__name__)

_CLOSE = object()


class EslSession:
    def __init__(self, switch: Switch, sock: socket.socket, *, channel: Channel | None = None,
                 password: str | None = None) -> None:
        self.switch = switch
        self.sock = sock
        self.channel = channel
        self.password = password
        #: The outbound socket is authorised by the dialplan that opened it.
        self.authed = channel is not None
        self.subscription = Subscription()
        #: None: no linger; -1: linger until the client closes; N: N seconds.
        self.linger: int | None = None
        self.connected = False
        self.running = True
        self.finished = gevent.event.Event()
        #: Every message in and out, as in the transcripts (outbound: the call's own record).
        self.wire: list[WireMessage] = channel.call.wire if channel is not None else []
        self._out: gevent.queue.Queue = gevent.queue.Queue()
        self._held: list[bytes] | None = None
        self._broken = False
        self._channel_down = False

    def start(self) -> None:
        # As listener_run does: small replies must not wait for the peer's delayed ACK.
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.switch.bus.subscribe(self._on_event)
        self.switch.sessions.add(self)
        if not self.authed:
            self._send(encode_auth_request())
        self.switch.spawn(self._write_loop)
        self.switch.spawn(self._read_loop)

    # ------------------------------------------------------------ wire

    def _elapsed(self) -> float:
        return self.channel.elapsed() if self.channel is not None else self.switch.clock.now()

    def _send(self, data: bytes) -> None:
        self.wire.append(WireMessage(self._elapsed(), "FS->APP", data))
        self._out.put(data)

    def _reply(self, text: str, extra: tuple[tuple[str, str], ...] = ()) -> None:
        self._send(encode_reply(text, extra))

    def _on_event(self, event: SimEvent) -> None:
        if not self.running or not self.subscription.wants(event):
            return
        if self.subscription.format == "json":
            data = encode_event_json(event.headers, event.body)
        else:
            data = encode_event_plain(event.headers, event.body)
        if self._held is not None:
            self._held.append(data)
        else:
            self._send(data)

    def _read_loop(self) -> None:
        parser = Parser(commands=True)
        try:
            while self.running:
                data = self.sock.recv(65536)
                if not data:
                    break
                self.wire.append(WireMessage(self._elapsed(), "APP->FS", data))
                parser.feed(data)
                for frame in parser.frames():
                    self._handle(frame)
                    if not self.running:
                        return
        except ESLProtocolError as exc:
            log.warning("ESL client sent garbage, closing: %s", exc)
            self.close(goodbye=False)
            return
        except OSError:
            pass  # closed under us (by our own writer, or reset by the peer)
        if self.running:
            if self.channel is not None:
                self.channel.call.socket_closed_by_client = True
            self.close(goodbye=False)

    def _write_loop(self) -> None:
        try:
            while (data := self._out.get()) is not _CLOSE:
                if self._broken:
                    continue
                try:
                    self.sock.sendall(data)
                except OSError:
                    self._broken = True
        finally:
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.sock.close()
            self.switch.sessions.discard(self)
            self.finished.set()
            if self.channel is not None:
                self.channel.release_control()

    def close(self, goodbye: bool) -> None:
        """End the listener: stop taking events, optionally say goodbye, then close the socket."""
        if not self.running:
            return
        self.running = False
        self.switch.bus.unsubscribe(self._on_event)
        if goodbye:
            uuid = self.channel.uuid if self.channel is not None else None
            self._send(encode_disconnect_notice(uuid, None, "disconnect"))
        self._out.put(_CLOSE)

    def abort(self) -> None:
        """Drop the connection now, without a goodbye (the switch is shutting down)."""
        self.running = False
        self.switch.bus.unsubscribe(self._on_event)
        self.sock.close()
        self.switch.sessions.discard(self)
        self.finished.set()

    def channel_down(self) -> None:
        """The controlled channel reached CHANNEL_HANGUP_COMPLETE (read_packet's HANDLE_DISCO)."""
        if not self.running or self._channel_down or self.channel is None:
            return
        self._channel_down = True
        if self.linger is None:
            self.close(goodbye=True)
            return
        self._send(encode_disconnect_notice(self.channel.uuid, self.channel.name, "linger", self.linger))
        if self.linger >= 0:
            self.switch.spawn(self.close, True, delay=self.linger + 1)

    # ------------------------------------------------------------ commands

    def _handle(self, frame: Frame) -> None:
        """parse_command; events fired meanwhile wait until the reply is on its way."""
        self._held = []
        try:
            reply = self._command(frame.command.strip(), frame)
            if reply is not None:
                self._reply(reply or "-ERR command not found")
        finally:
            held, self._held = self._held, None
            if self.running:
                for data in held:
                    self._send(data)

    def _command(self, command: str, frame: Frame) -> str | None:
        """The reply text ("" for "command not found"), or None if the reply was already sent."""
        lower = command.lower()
        if lower.startswith(("exit", "...")):
            self._reply("+OK bye")
            if self.channel is not None:
                self.channel.call.socket_closed_by_client = True
            self.close(goodbye=True)
            return None
        if not self.authed:
            return self._auth(command)
        for prefix, handler in self._HANDLERS:
            if lower.startswith(prefix):
                return handler(self, command, frame)
        return ""

    def _auth(self, command: str) -> str | None:
        if command.lower().startswith("auth ") and command[5:] == self.password:
            self.authed = True
            return "+OK accepted"
        if command.lower().startswith(("auth ", "userauth ")):
            self._reply("-ERR invalid")
            self.close(goodbye=True)
            return None
        return ""

    def _filter(self, command: str, frame: Frame) -> str:
        header, _, value = command[7:].lstrip(" ").partition(" ")
        if header.lower() == "delete" and value:
            header, _, value = value.partition(" ")
            self.subscription.delete_filter(header, value or None)
            return f"+OK filter deleted. [{header}][{value}]"
        if not value:
            return "-ERR invalid syntax"
        if header.lower() == "add":
            header, _, value = value.partition(" ")
        self.subscription.add_filter(header, value)
        return f"+OK filter added. [{header}]=[{value}]"

    def _resume(self, command: str, frame: Frame) -> str:
        # The simulated dialplan always goes on after the socket application.
        return "+OK" if self.channel is not None else ""

    def _connect(self, command: str, frame: Frame) -> str | None:
        if self.channel is None:
            return ""
        data = self.channel.event("CHANNEL_DATA", pre=self.channel.profile_headers("Channel"))
        self._send(encode_connect_reply(data.headers, "async", "full"))
        self.connected = True
        self.channel.poke()
        return None

    def _getvar(self, command: str, frame: Frame) -> str:
        if self.channel is None:
            return ""
        return self.channel.variables.get(command[7:].strip(), "")

    def _myevents(self, command: str, frame: Frame) -> str:
        if self.subscription.uuid is not None:
            return "-ERR aready enabled."
        words = command.split()
        if self.channel is not None:
            uuid = self.channel.uuid
        elif len(words) > 1 and self.switch.channel(words[1]) is not None:
            uuid = words[1]
        else:
            return "-ERR invalid uuid" if len(words) > 1 else ""
        formats = {word.lower() for word in words[1:]}
        if "xml" in formats:
            return _NO_XML
        self.subscription.myevents(uuid)
        if "json" in formats:
            self.subscription.format = "json"
        return "+OK Events Enabled"

    def _sendmsg(self, command: str, frame: Frame) -> str:
        uuid = command[7:].strip() or frame.header("session-id") or ""
        if self.channel is not None and uuid in ("", self.channel.uuid):
            target = self.channel
        else:
            target = self.switch.channel(uuid) if uuid else None
        if target is None:
            return f"-ERR invalid session id [{uuid}]"
        target.queue_command(frame)
        return "+OK"

    def _api(self, command: str, frame: Frame) -> None:
        name, _, arg = command[4:].partition(" ")
        output = api.run(self.switch, name, arg)
        if output is None:
            output = f"-ERR {name} Command not found!\n"
        self._send(encode_api_response(output or "-ERR no reply\n"))
        return None

    def _bgapi(self, command: str, frame: Frame) -> None:
        name, _, arg = command[6:].partition(" ")
        job_uuid = frame.header("Job-UUID") or str(uuidlib.uuid4())
        self._reply(f"+OK Job-UUID: {job_uuid}", (("Job-UUID", job_uuid),))
        self.switch.spawn(api.run_background, self.switch, job_uuid, name, arg)
        return None

    def _linger(self, command: str, frame: Frame) -> str:
        if self.channel is None:
            return "-ERR not controlling a session"
        seconds = command[7:].strip() if command[6:7] == " " else ""
        if seconds:
            self.linger = int(seconds) if seconds.lstrip("-").isdigit() else 0
            return f"+OK will linger {self.linger} seconds"
        self.linger = -1
        return "+OK will linger"

    def _nolinger(self, command: str, frame: Frame) -> str:
        if self.channel is None:
            return "-ERR not controlling a session"
        self.linger = None
        return "+OK will not linger"

    def _event(self, command: str, frame: Frame) -> str:
        words = _words_after_first_space(command[5:])
        if words and words[0].lower() == "xml":
            return _NO_XML
        if not self.subscription.subscribe(words):
            return "-ERR no keywords supplied"
        return f"+OK event listener enabled {self.subscription.format}"

    def _nixevent(self, command: str, frame: Frame) -> str:
        if not self.subscription.unsubscribe(_words_after_first_space(command[5:])):
            return "-ERR no keywords supplied"
        return "+OK events nixed"

    def _noevents(self, command: str, frame: Frame) -> str:
        if not self.subscription.enabled:
            return "-ERR not listening for events"
        self.subscription.clear()
        if self._held is not None:
            self._held.clear()
        return "+OK no longer listening for events"

    #: parse_command's order; the first prefix that matches decides.
    _HANDLERS = (
        ("filter ", _filter),
        ("resume", _resume),
        ("connect", _connect),
        ("getvar", _getvar),
        ("myevents", _myevents),
        ("sendmsg", _sendmsg),
        ("api ", _api),
        ("bgapi ", _bgapi),
        ("linger", _linger),
        ("nolinger", _nolinger),
        ("event", _event),
        ("nixevent", _nixevent),
        ("noevents", _noevents),
    )


_NO_XML = "-ERR the simulator does not produce XML events (use plain or json)"


def _words_after_first_space(text: str) -> list[str]:
    """The words after the first space, split on single spaces as FreeSWITCH does."""
    _, space, rest = text.partition(" ")
    return rest.split(" ") if space else []

