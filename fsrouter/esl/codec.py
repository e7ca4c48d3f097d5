"""Sans-IO codec for the FreeSWITCH event socket (ESL): bytes in, frames out.

Like h11, nothing here touches a socket or gevent: `Parser.feed()` takes bytes,
`Parser.next_frame()` returns a `Frame` or ``None`` ("need more data"), and the
`encode_*` functions return bytes.  The same module serves both ends: the
client side (fsrouter's outbound server and inbound client) parses frames and
encodes commands; the FreeSWITCH simulator parses commands
(``Parser(commands=True)``) and encodes replies and events with the
server-side encoders, which reproduce FreeSWITCH 1.10's output byte for byte.

Wire format (see tests/fixtures/esl-transcripts/README.md):

* A frame is a header block ending in ``\\n\\n`` then exactly
  ``Content-Length`` *bytes* of body.  The body is sliced on bytes before
  anything is decoded: UTF-8 caller names exist, and a peer may send bytes
  that are not UTF-8 at all.
* Event envelopes carry the event as their body.  Inside a ``text/event-plain``
  event, header values are url-encoded by FreeSWITCH, so a value can never
  contain a raw newline.  Values are url-decoded only after the block is
  split into lines, so an encoded ``%0A`` stays inside its value (greenswitch
  decodes first and lets a caller's display name forge ``Unique-ID``).
* An event may have its own body after its own ``Content-Length`` (the result
  of a ``bgapi`` job in ``BACKGROUND_JOB``); it is kept apart in `Event.body`.

Events are decoded lazily: 4-9 KB ``CHANNEL_*`` events carry ~150 headers and
a routing engine reads a handful, so `Event.get` finds and url-decodes only
the header asked for (5x faster than decoding everything).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import unquote

from fsrouter.esl.errors import ESLProtocolError

__all__ = [
    "ESLProtocolError",
    "Event",
    "Frame",
    "MAX_BODY_BYTES",
    "MAX_HEADER_BYTES",
    "Parser",
    "channel_data",
    "encode_api_response",
    "encode_auth_request",
    "encode_command",
    "encode_connect_reply",
    "encode_disconnect_notice",
    "encode_event_json",
    "encode_event_plain",
    "encode_reply",
    "encode_rude_rejection",
    "encode_sendmsg",
    "parse_event",
    "urlencode_value",
]

MAX_HEADER_BYTES = 64 * 1024
"""Largest header block accepted; FreeSWITCH's biggest (connect reply) is ~10 KB."""

MAX_BODY_BYTES = 16 * 1024 * 1024
"""Largest body accepted; bounds memory a broken or hostile peer can claim."""

GOODBYE = b"Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n"
"""Body of the disconnect notice FreeSWITCH sends just before closing a socket."""


# --------------------------------------------------------------------- frames


@dataclass(frozen=True)
class Frame:
    """One ESL message: its envelope headers (raw, not url-decoded) and body bytes.

    `command` is the first line of a client command (``"api status"``,
    ``"sendmsg <uuid>"``) when parsed with ``Parser(commands=True)``; it is
    ``""`` for messages FreeSWITCH sends.
    """

    content_type: str
    headers: tuple[tuple[str, str], ...]
    body: bytes = b""
    command: str = ""

    def header(self, name: str, default: str | None = None) -> str | None:
        """The first envelope header called `name` (case-insensitive, as FreeSWITCH matches)."""
        wanted = name.lower()
        for key, value in self.headers:
            if key.lower() == wanted:
                return value
        return default


def _content_length(value: str, limit: int = MAX_BODY_BYTES) -> int:
    if not (value.isascii() and value.isdigit()):
        raise ESLProtocolError(f"Content-Length is not a number: {value[:40]!r}")
    # Longer than the limit's digits is too big: int() of thousands of digits
    # costs time (and past 4300 raises ValueError) before a comparison could refuse it.
    if len(value) > len(str(limit)) or int(value) > limit:
        raise ESLProtocolError(f"Content-Length {value[:40]} exceeds {limit}")
    return int(value)


_ENVELOPE_CACHE_BYTES = 128
"""Header blocks up to this size are parsed once per distinct block (`_parse_envelope`)."""


@functools.lru_cache(maxsize=512)
def _parse_envelope(
    block: bytes, commands: bool, max_body_bytes: int
) -> tuple[str, tuple[tuple[str, str], ...], int]:
    """`_parse_header_block` remembered: an event's envelope is one of a few
    hundred short blocks (``Content-Length: N`` / ``Content-Type:
    text/event-plain``), the same ones over and over.  Bounded, so a peer
    sending distinct blocks only evicts."""
    return _parse_header_block(block, commands, max_body_bytes)


def _parse_header_block(
    block: bytes | bytearray, commands: bool, max_body_bytes: int
) -> tuple[str, tuple[tuple[str, str], ...], int]:
    """Split a complete header block into (command line, headers, Content-Length)."""
    lines = block.decode("utf-8", "replace").split("\n")
    command = lines.pop(0) if commands else ""
    pairs = [line.split(": ", 1) for line in lines]
    for pair in pairs:
        if len(pair) != 2 or not pair[0]:
            raise ESLProtocolError(f"header line without ': ': {': '.join(pair)[:80]!r}")
    headers = tuple(map(tuple, pairs))
    length = 0
    for name, value in headers:
        if len(name) == 14 and name.lower() == "content-length":
            length = _content_length(value, max_body_bytes)
    return command, headers, length


class Parser:
    """Incremental ESL frame splitter.

    ``Parser()`` reads what FreeSWITCH sends; ``Parser(commands=True)`` reads
    what a client sends, where the first line of each block is the command.
    After an `ESLProtocolError` the stream cannot be resynchronised: every
    later call raises the same error.  `max_body_bytes` bounds each frame's
    body (a larger Content-Length is refused before anything is buffered for
    it); the owner may lower or raise it between frames.
    """

    def __init__(self, *, commands: bool = False, max_body_bytes: int = MAX_BODY_BYTES) -> None:
        self._commands = commands
        self.max_body_bytes = max_body_bytes
        self._buf = bytearray()
        # Bytes before `_start` are handed out already.  They are dropped in
        # one go when the buffer is used up or half of it is stale, not frame
        # by frame: deleting a frame from the front moves every byte behind
        # it, and a 64 KiB read holds 10-20 events.
        self._start = 0
        self._searched = 0  # offset up to which b"\n\n" was searched without success
        self._pending: tuple[int, str, tuple[tuple[str, str], ...], int] | None = None
        # The message, not the exception: a stored exception's traceback
        # holds this parser's frame, a reference cycle.
        self._error: str | None = None

    def feed(self, data: bytes) -> None:
        self._buf += data

    @property
    def buffered(self) -> int:
        """Bytes received but not yet returned as frames."""
        return len(self._buf) - self._start

    def next_frame(self) -> Frame | None:
        """The next complete frame, or None until more bytes are fed."""
        if self._error is not None:
            raise ESLProtocolError(self._error)
        try:
            return self._next_frame()
        except ESLProtocolError as exc:
            self._error = str(exc)
            raise

    def frames(self) -> Iterator[Frame]:
        """Every frame that is complete in the buffer now."""
        while (frame := self.next_frame()) is not None:
            yield frame

    def _next_frame(self) -> Frame | None:
        buf = self._buf
        if self._pending is None:
            start = self._skip_blank_lines()
            end = buf.find(b"\n\n", max(self._searched, start))
            if end < 0:
                if len(buf) - start > MAX_HEADER_BYTES:
                    raise ESLProtocolError(f"header block exceeds {MAX_HEADER_BYTES} bytes")
                self._searched = max(len(buf) - 1, start)
                self._compact()
                return None
            if end - start > MAX_HEADER_BYTES:
                raise ESLProtocolError(f"header block exceeds {MAX_HEADER_BYTES} bytes")
            if end - start <= _ENVELOPE_CACHE_BYTES:
                parsed = _parse_envelope(bytes(buf[start:end]), self._commands, self.max_body_bytes)
            else:
                parsed = _parse_header_block(buf[start:end], self._commands, self.max_body_bytes)
            self._pending = (end + 2, *parsed)
        body_start, command, headers, length = self._pending
        stop = body_start + length
        if len(buf) < stop:
            self._compact()
            return None
        body = bytes(buf[body_start:stop]) if length else b""
        self._start = self._searched = stop
        self._pending = None
        self._compact()
        if headers and headers[-1][0] == "Content-Type":  # FreeSWITCH's events put it last
            content_type = headers[-1][1]
        elif headers and headers[0][0] == "Content-Type":  # and its replies first
            content_type = headers[0][1]
        else:
            content_type = next((v for k, v in headers if k.lower() == "content-type"), "")
        return Frame(content_type, headers, body, command)

    def _skip_blank_lines(self) -> int:
        """Step over newlines between frames (clients often send an extra one); where the frame starts."""
        buf, start = self._buf, self._start
        while start < len(buf) and buf[start] == 0x0A:
            start += 1
        self._start = start
        return start

    def _compact(self) -> None:
        """Drop the bytes handed out, when that is cheap: all of them, or a stale first half."""
        start = self._start
        if not start:
            return
        buf = self._buf
        if start == len(buf):
            buf.clear()
        elif start > len(buf) // 2:
            del buf[:start]
        else:
            return
        if self._pending is not None:
            body_start, *rest = self._pending
            self._pending = (body_start - start, *rest)
        self._searched = max(self._searched - start, 0)
        self._start = 0


# --------------------------------------------------------------------- events


class Event:
    """A FreeSWITCH event: headers looked up by name, plus the event's own body.

    ``Event(pairs, body)`` builds one from already-decoded values (tests, JSON
    events).  Events parsed from ``text/event-plain`` keep the raw header text
    and url-decode a header only when it is asked for.  Names are matched
    exactly as FreeSWITCH spells them (``Unique-ID``, ``variable_foo``).
    """

    __slots__ = ("_text", "_values", "body")

    def __init__(self, headers: Mapping[str, str] | Iterable[tuple[str, str]] = (), body: bytes = b"") -> None:
        self._text: str | None = None
        self._values: dict[str, str] = dict(headers)
        self.body = body

    @classmethod
    def _lazy(cls, header_text: str, body: bytes) -> Event:
        event = cls.__new__(cls)
        event._text = header_text
        event._values = {}
        event.body = body
        return event

    def get(self, name: str, default: str | None = None) -> str | None:
        value = self._values.get(name)
        if value is not None:
            return value
        text = self._text
        if text is None:
            return default
        # A header is a whole line "<name>: <value>": the first line, or one after a newline.
        if text.startswith(name) and text.startswith(": ", len(name)):
            start = len(name) + 2
        else:
            at = text.find(f"\n{name}: ")
            if at < 0:
                return default
            start = at + len(name) + 3
        stop = text.find("\n", start)
        raw = text[start:] if stop < 0 else text[start:stop]
        value = unquote(raw, errors="replace") if "%" in raw else raw
        self._values[name] = value
        return value

    def __getitem__(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise KeyError(name)
        return value

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def items(self) -> Iterator[tuple[str, str]]:
        """Every header in wire order, decoded (this decodes everything: avoid on hot paths)."""
        if self._text is None:
            yield from self._values.items()
            return
        for line in self._text.split("\n"):
            name, sep, raw = line.partition(": ")
            if sep:
                yield name, unquote(raw, errors="replace")

    @property
    def name(self) -> str | None:
        return self.get("Event-Name")

    @property
    def subclass(self) -> str | None:
        return self.get("Event-Subclass")

    @property
    def uuid(self) -> str | None:
        return self.get("Unique-ID")

    def __repr__(self) -> str:
        return f"<Event {self.name} {self.subclass or ''} uuid={self.uuid} body={len(self.body)}B>"


def parse_event(frame: Frame) -> Event:
    """The event carried by a ``text/event-plain`` or ``text/event-json`` frame."""
    if frame.content_type == "text/event-plain":
        event = _parse_plain_event(frame.body)
    elif frame.content_type == "text/event-json":
        event = _parse_json_event(frame.body)
    else:
        raise ValueError(f"not an event frame: Content-Type {frame.content_type!r}")
    if event.name is None:
        raise ESLProtocolError("event without Event-Name")
    return event


_BLANK_LINE = re.compile(b"\n\n")
"""The end of an event's header block.  A compiled search: ``bytes.find`` of a
two-byte needle whose first byte ends every line crawls (10 us through a
12 KB event on CPython 3.11, against 4 us for `re`)."""


def _parse_plain_event(data: bytes) -> Event:
    blank = _BLANK_LINE.search(data)
    end = blank.start() if blank else len(data)
    event = Event._lazy(data[:end].decode("utf-8", "replace"), b"")
    length = event.get("Content-Length")
    if length is not None:
        size = _content_length(length)
        rest = len(data) - end - 2
        if rest < size:
            raise ESLProtocolError(f"event body has {max(rest, 0)} bytes, Content-Length says {size}")
        event.body = data[end + 2:end + 2 + size]
    return event


def _json_value(value: object) -> str:
    """FreeSWITCH JSON values are strings, or lists for array headers (plain form ``ARRAY::a|:b``)."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "ARRAY::" + "|:".join(_json_value(v) for v in value)
    return json.dumps(value)


def _parse_json_event(data: bytes) -> Event:
    try:
        obj = json.loads(data.decode("utf-8", "replace"))
    except (ValueError, RecursionError) as exc:
        raise ESLProtocolError(f"event-json body is not JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise ESLProtocolError("event-json body is not a JSON object")
    body = obj.pop("_body", "")
    return Event(((k, _json_value(v)) for k, v in obj.items()), _json_value(body).encode("utf-8"))


def channel_data(frame: Frame) -> Event:
    """The channel data in the reply to an outbound socket's ``connect``.

    That reply is one serialized event without Content-Length: the channel's
    headers, url-encoded, followed by ``Content-Type: command/reply``,
    ``Reply-Text: %2BOK%0A``, ``Socket-Mode`` and ``Control``.
    """
    if frame.content_type != "command/reply":
        raise ValueError(f"not a connect reply: Content-Type {frame.content_type!r}")
    return Event._lazy("\n".join(f"{k}: {v}" for k, v in frame.headers), b"")


# ------------------------------------------------------------ url encoding

# FreeSWITCH's switch_url_encode (switch_utils.c, SWITCH_URL_UNSAFE): bytes
# outside 0x21-0x7E and "\r\n #%&+:;<=>?@[\]^`{|}\"" are escaped as %XX
# (upper-case hex); a '%' already followed by two upper-case hex digits is
# left alone (it does not double-encode).  Transcripts agree: '/', ',', '(',
# ')', '*', '~', '-', '.', '_' pass through unescaped.
_UNSAFE = re.compile(rb'%(?![0-9A-F]{2})|[^\x21-\x7e]|[#&+:;<=>?@\[\\\]^`{|}"]')


def urlencode_value(value: str | bytes) -> str:
    """Escape a header value the way FreeSWITCH does when serializing an event."""
    raw = value.encode("utf-8") if isinstance(value, str) else value
    return _UNSAFE.sub(lambda m: b"%%%02X" % m.group()[0], raw).decode("ascii")


# ------------------------------------------------------ client-side encoders


def _check_line(text: str, what: str) -> None:
    """Refuse CR/LF: a newline would end the line and let the rest become a header."""
    if "\n" in text or "\r" in text:
        raise ValueError(f"{what} must not contain a newline: {text[:80]!r}")


def encode_command(line: str, headers: Sequence[tuple[str, str]] = (), body: bytes = b"") -> bytes:
    """A client command: the command line, headers, Content-Length when there is a body."""
    if not line:
        raise ValueError("empty command")
    _check_line(line, "command")
    parts = [line, "\n"]
    for name, value in headers:
        _check_line(name, "header name")
        _check_line(value, f"header {name}")
        parts += (name, ": ", value, "\n")
    if body:
        parts.append(f"Content-Length: {len(body)}\n")
    parts.append("\n")
    return "".join(parts).encode("utf-8") + body


def encode_sendmsg(
    app: str,
    arg: str | None = None,
    *,
    uuid: str | None = None,
    event_uuid: str | None = None,
    event_lock: bool = False,
) -> bytes:
    """``sendmsg`` executing a dialplan application, in FreeSWITCH's own header spelling.

    `event_uuid` comes back as ``Application-UUID`` in the application's
    ``CHANNEL_EXECUTE(_COMPLETE)`` events, which is how completions are
    matched.  `event_lock` makes queued applications run one after another
    instead of nesting (transcript ``outbound_eventlock.txt``).
    """
    headers = [("call-command", "execute"), ("execute-app-name", app)]
    if arg:
        headers.append(("execute-app-arg", arg))
    if event_uuid:
        headers.append(("Event-UUID", event_uuid))
    if event_lock:
        headers.append(("event-lock", "true"))
    return encode_command(f"sendmsg {uuid}" if uuid else "sendmsg", headers)


# ------------------------------------------------------ server-side encoders


def _as_bytes(data: bytes | str) -> bytes:
    return data.encode("utf-8") if isinstance(data, str) else data


def _serialize_event(headers: Iterable[tuple[str, str]], body: bytes) -> bytes:
    """switch_event_serialize: url-encoded ``name: value`` lines, then the body or a blank line.

    FreeSWITCH writes ``_undef_`` for an empty value.
    """
    head = "".join(f"{name}: {urlencode_value(value) if value else '_undef_'}\n" for name, value in headers)
    tail = b"Content-Length: %d\n\n%s" % (len(body), body) if body else b"\n"
    return head.encode("ascii") + tail


def encode_reply(reply_text: str, extra: Sequence[tuple[str, str]] = ()) -> bytes:
    """``command/reply``; e.g. bgapi: ``encode_reply(f"+OK Job-UUID: {j}", [("Job-UUID", j)])``."""
    lines = "".join(f"{name}: {value}\n" for name, value in extra)
    return f"Content-Type: command/reply\nReply-Text: {reply_text}\n{lines}\n".encode("utf-8")


def encode_connect_reply(
    channel_headers: Sequence[tuple[str, str]], socket_mode: str = "async", control: str = "full"
) -> bytes:
    """The reply to an outbound socket's ``connect`` (README fact 1): one serialized event."""
    trailer = [("Content-Type", "command/reply"), ("Reply-Text", "+OK\n"), ("Socket-Mode", socket_mode), ("Control", control)]
    return _serialize_event([*channel_headers, *trailer], b"")


def encode_api_response(body: bytes | str) -> bytes:
    data = _as_bytes(body)
    return b"Content-Type: api/response\nContent-Length: %d\n\n%s" % (len(data), data)


def encode_event_plain(headers: Sequence[tuple[str, str]], body: bytes | str = b"") -> bytes:
    """An event as ``event plain`` subscribers get it: Content-Length before Content-Type."""
    inner = _serialize_event(headers, _as_bytes(body))
    return b"Content-Length: %d\nContent-Type: text/event-plain\n\n%s" % (len(inner), inner)


def encode_event_json(headers: Sequence[tuple[str, str]], body: bytes | str = b"") -> bytes:
    """An event as ``event json`` subscribers get it; the body travels as ``_body``.

    Values are not url-encoded in JSON.  FreeSWITCH adds ``Content-Length``
    (of the body) beside ``_body``.  No JSON transcript was recorded; the
    layout follows switch_event_serialize_json.
    """
    obj = dict(headers)
    data = _as_bytes(body)
    if data:
        obj["Content-Length"] = str(len(data))
        obj["_body"] = data.decode("utf-8", "replace")
    inner = json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return b"Content-Length: %d\nContent-Type: text/event-json\n\n%s" % (len(inner), inner)


def encode_auth_request() -> bytes:
    return b"Content-Type: auth/request\n\n"


def encode_disconnect_notice(
    uuid: str | None,
    channel_name: str | None,
    disposition: str = "linger",
    linger_time: int | None = -1,
) -> bytes:
    """``text/disconnect-notice`` in the shapes FreeSWITCH 1.10 sends.

    * ``linger``: sent at hangup when the client asked to linger; values are
      not url-encoded; ``Linger-Time`` is -1 for "forever" (None omits the
      header, as FreeSWITCH before 1.10 did); no body.
    * ``disconnect``: sent just before FreeSWITCH closes the socket, with the
      goodbye text as body; `channel_name` is not part of it.  With `uuid`
      None it is the inbound-socket form (only Content-Type and Content-Length).
    """
    if disposition == "linger":
        lines = [f"Controlled-Session-UUID: {uuid}", "Content-Disposition: linger", f"Channel-Name: {channel_name}"]
        if linger_time is not None:
            lines.append(f"Linger-Time: {linger_time}")
        head = "\n".join(["Content-Type: text/disconnect-notice", *lines, "Content-Length: 0"])
        return f"{head}\n\n".encode("utf-8")
    if disposition != "disconnect":
        raise ValueError(f"disposition must be 'linger' or 'disconnect', not {disposition!r}")
    session = f"Controlled-Session-UUID: {uuid}\nContent-Disposition: disconnect\n" if uuid else ""
    head = f"Content-Type: text/disconnect-notice\n{session}Content-Length: {len(GOODBYE)}\n\n"
    return head.encode("utf-8") + GOODBYE


def encode_rude_rejection(text: str = "Access Denied, go away.\n") -> bytes:
    """What FreeSWITCH sends to a client whose address its ACL refuses, before closing."""
    data = text.encode("utf-8")
    return b"Content-Type: text/rude-rejection\nContent-Length: %d\n\n%s" % (len(data), data)
