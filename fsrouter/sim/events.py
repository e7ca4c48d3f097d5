"""Events inside the simulated switch, and who gets which.

FreeSWITCH fires every event once, switch-wide; each event-socket listener
then decides whether it wants it (its ``event``/``myevents`` list, custom
subclasses, ``filter`` headers, and for ``myevents`` the controlled channel's
UUID).  The simulator does the same: channels and API jobs fire `SimEvent`s
on one `EventBus`, and every ESL session holds a `Subscription` that applies
mod_event_socket's rules.  `EventFactory` stamps the core headers
(``Core-UUID`` ... ``Event-Sequence``) in FreeSWITCH's order, with one
switch-wide, increasing sequence number.
"""

from __future__ import annotations

import functools
import itertools
import re
import time
import uuid as uuidlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from fsrouter.sim.clock import SimClock

Headers = Sequence[tuple[str, str]]

#: Event type names FreeSWITCH 1.10 knows (switch_event.c EVENT_NAMES);
#: ``event`` and ``nixevent`` silently ignore any other word.
EVENT_NAMES = frozenset("""
    CUSTOM CLONE CHANNEL_CREATE CHANNEL_DESTROY CHANNEL_STATE CHANNEL_CALLSTATE
    CHANNEL_ANSWER CHANNEL_HANGUP CHANNEL_HANGUP_COMPLETE CHANNEL_EXECUTE
    CHANNEL_EXECUTE_COMPLETE CHANNEL_HOLD CHANNEL_UNHOLD CHANNEL_BRIDGE
    CHANNEL_UNBRIDGE CHANNEL_PROGRESS CHANNEL_PROGRESS_MEDIA CHANNEL_OUTGOING
    CHANNEL_PARK CHANNEL_UNPARK CHANNEL_APPLICATION CHANNEL_ORIGINATE CHANNEL_UUID
    API LOG INBOUND_CHAN OUTBOUND_CHAN STARTUP SHUTDOWN PUBLISH UNPUBLISH TALK
    NOTALK SESSION_CRASH MODULE_LOAD MODULE_UNLOAD DTMF MESSAGE PRESENCE_IN
    NOTIFY_IN PRESENCE_OUT PRESENCE_PROBE MESSAGE_WAITING MESSAGE_QUERY ROSTER
    CODEC BACKGROUND_JOB DETECTED_SPEECH DETECTED_TONE PRIVATE_COMMAND HEARTBEAT
    TRAP ADD_SCHEDULE DEL_SCHEDULE EXE_SCHEDULE RE_SCHEDULE RELOADXML NOTIFY
    PHONE_FEATURE PHONE_FEATURE_SUBSCRIBE SEND_MESSAGE RECV_MESSAGE REQUEST_PARAMS
    CHANNEL_DATA GENERAL COMMAND SESSION_HEARTBEAT CLIENT_DISCONNECTED
    SERVER_DISCONNECTED SEND_INFO RECV_INFO RECV_RTCP_MESSAGE SEND_RTCP_MESSAGE
    CALL_SECURE NAT RECORD_START RECORD_STOP PLAYBACK_START PLAYBACK_STOP
    CALL_UPDATE FAILURE SOCKET_DATA MEDIA_BUG_START MEDIA_BUG_STOP
    CONFERENCE_DATA_QUERY CONFERENCE_DATA CALL_SETUP_REQ CALL_SETUP_RESULT
    CALL_DETAIL DEVICE_STATE TEXT SHUTDOWN_REQUESTED ALL
""".split())

#: What ``myevents`` subscribes to (mod_event_socket.c parse_command).
MYEVENTS = frozenset("""
    CHANNEL_ANSWER CHANNEL_APPLICATION CHANNEL_BRIDGE CHANNEL_CREATE CHANNEL_DATA
    CHANNEL_DESTROY CHANNEL_EXECUTE CHANNEL_EXECUTE_COMPLETE CHANNEL_HANGUP
    CHANNEL_HANGUP_COMPLETE CHANNEL_ORIGINATE CHANNEL_UUID CHANNEL_OUTGOING
    CHANNEL_PARK CHANNEL_PROGRESS CHANNEL_PROGRESS_MEDIA CHANNEL_STATE
    CHANNEL_UNBRIDGE CHANNEL_UNPARK DETECTED_SPEECH DTMF NOTALK TALK
""".split())

#: Where FreeSWITCH 1.10.12 fires each event (Event-Calling-File/-Function/
#: -Line-Number), as recorded in the transcripts.
CALLERS: dict[str, tuple[str, str, int]] = {
    "API": ("switch_loadable_module.c", "switch_api_execute", 2954),
    "BACKGROUND_JOB": ("mod_event_socket.c", "api_exec", 1572),
    "CHANNEL_ANSWER": ("switch_channel.c", "switch_channel_perform_mark_answered", 3846),
    "CHANNEL_CALLSTATE": ("switch_channel.c", "switch_channel_perform_set_callstate", 301),
    "CHANNEL_CREATE": ("switch_core_state_machine.c", "switch_core_session_run", 626),
    "CHANNEL_DATA": ("mod_event_socket.c", "parse_command", 2021),
    "CHANNEL_DESTROY": ("switch_core_session.c", "switch_core_session_perform_destroy", 1584),
    "CHANNEL_EXECUTE": ("switch_core_session.c", "switch_core_session_exec", 2944),
    "CHANNEL_EXECUTE_COMPLETE": ("switch_core_session.c", "switch_core_session_exec", 2967),
    "CHANNEL_HANGUP": ("switch_channel.c", "switch_channel_perform_hangup", 3445),
    "CHANNEL_HANGUP_COMPLETE": ("switch_core_state_machine.c", "switch_core_session_reporting_state", 943),
    "CHANNEL_PARK": ("switch_ivr.c", "switch_ivr_park", 1002),
    "CHANNEL_PROGRESS": ("switch_channel.c", "switch_channel_perform_mark_ring_ready_value", 3505),
    "CHANNEL_PROGRESS_MEDIA": ("switch_channel.c", "switch_channel_perform_mark_pre_answered", 3560),
    "CHANNEL_STATE": ("switch_channel.c", "switch_channel_perform_set_running_state", 2408),
    "CHANNEL_UNPARK": ("switch_ivr.c", "switch_ivr_park", 1213),
    "DTMF": ("switch_channel.c", "switch_channel_dequeue_dtmf", 677),
    "PLAYBACK_START": ("switch_ivr_play_say.c", "switch_ivr_play_file", 1646),
    "PLAYBACK_STOP": ("switch_ivr_play_say.c", "switch_ivr_play_file", 2020),
}


@dataclass(frozen=True)
class SwitchIdentity:
    """Who the simulated FreeSWITCH says it is in every event."""

    hostname: str = "fsrouter-sim"
    ipv4: str = "192.0.2.2"
    ipv6: str = "fd00::2"
    core_uuid: str = field(default_factory=lambda: str(uuidlib.uuid4()))


@dataclass(frozen=True)
class SimEvent:
    """A fired event: every header in wire order (values not yet url-encoded) and its body."""

    name: str
    headers: tuple[tuple[str, str], ...]
    body: bytes = b""

    def get(self, name: str) -> str | None:
        """First header called `name`, case-insensitively (as switch_event_get_header)."""
        return self._by_name.get(name.lower())

    @functools.cached_property
    def _by_name(self) -> dict[str, str]:
        # Every listener looks at every event: index it once, not once per listener.
        index: dict[str, str] = {}
        for key, value in self.headers:
            index.setdefault(key.lower(), value)
        return index


class EventFactory:
    """Stamps FreeSWITCH's core headers on new events, with the switch-wide sequence."""

    def __init__(self, identity: SwitchIdentity, clock: SimClock, first_sequence: int = 1) -> None:
        self.identity = identity
        self.clock = clock
        self._sequence = itertools.count(first_sequence)

    def create(self, name: str, headers: Iterable[tuple[str, str | None]], body: bytes = b"", *,
               caller: tuple[str, str, int] | None = None) -> SimEvent:
        """A complete event; headers whose value is None are left out, as FreeSWITCH does.

        `caller` (file, function, line) overrides `CALLERS` -- CUSTOM events
        come from a different place for each subclass.
        """
        calling_file, function, line = caller or CALLERS.get(
            name, ("switch_event.c", "switch_event_fire_detailed", 0))
        wall = self.clock.wall()
        ident = self.identity
        core = [
            ("Event-Name", name),
            ("Core-UUID", ident.core_uuid),
            ("FreeSWITCH-Hostname", ident.hostname),
            ("FreeSWITCH-Switchname", ident.hostname),
            ("FreeSWITCH-IPv4", ident.ipv4),
            ("FreeSWITCH-IPv6", ident.ipv6),
            ("Event-Date-Local", time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(wall))),
            ("Event-Date-GMT", time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(wall))),
            ("Event-Date-Timestamp", str(int(wall * 1_000_000))),
            ("Event-Calling-File", calling_file),
            ("Event-Calling-Function", function),
            ("Event-Calling-Line-Number", str(line)),
            ("Event-Sequence", str(next(self._sequence))),
        ]
        return SimEvent(name, tuple(core) + tuple((k, v) for k, v in headers if v is not None), body)


class EventBus:
    """Fires events to every current subscriber (ESL sessions), in firing order."""

    def __init__(self) -> None:
        self._listeners: list[Callable[[SimEvent], None]] = []

    def subscribe(self, listener: Callable[[SimEvent], None]) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: Callable[[SimEvent], None]) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def fire(self, event: SimEvent) -> None:
        for listener in list(self._listeners):
            listener(event)


class Subscription:
    """One listener's event selection, with mod_event_socket's semantics.

    `subscribe` / `unsubscribe` take the words after ``event`` / ``nixevent``
    and return how many event names they recognised (FreeSWITCH answers
    ``-ERR no keywords supplied`` when that is 0).  After ``CUSTOM`` every
    word is a subclass name.  A leading ``plain``/``json``/``xml`` sets the
    format instead.
    """

    def __init__(self) -> None:
        self.enabled = False
        self.format = "plain"
        self.names: set[str] = set()
        self.subclasses: set[str] = set()
        self.filters: list[tuple[str, str]] = []
        #: Set by ``myevents``: only events whose Unique-ID is this.
        self.uuid: str | None = None

    def subscribe(self, words: Sequence[str]) -> int:
        recognised = 0
        custom = False
        for position, word in enumerate(words):
            if position == 0 and word.lower() in ("plain", "json", "xml"):
                self.format = word.lower()
                continue
            if custom:
                self.subclasses.add(word)
                continue
            name = _event_name(word)
            if name is None:
                continue
            recognised += 1
            self.names.add(name)
            custom = name == "CUSTOM"
        if recognised:
            self.enabled = True
        return recognised

    def unsubscribe(self, words: Sequence[str]) -> int:
        recognised = 0
        custom = False
        for word in words:
            if custom:
                self.subclasses.discard(word)
                continue
            name = _event_name(word)
            if name is None:
                continue
            recognised += 1
            if name == "CUSTOM":
                custom = True
            elif name == "ALL":
                self.names.clear()
            else:
                if "ALL" in self.names:
                    self.names = set(EVENT_NAMES) - {"ALL"}
                self.names.discard(name)
        if recognised:
            self.enabled = True
        return recognised

    def myevents(self, uuid: str) -> None:
        self.names |= MYEVENTS
        self.uuid = uuid
        self.enabled = True

    def clear(self) -> None:
        self.enabled = False
        self.names.clear()
        self.subclasses.clear()

    def add_filter(self, header: str, value: str) -> None:
        self.filters.append((header, value))

    def delete_filter(self, header: str, value: str | None) -> None:
        if header.lower() == "all":
            self.filters.clear()
        else:
            self.filters = [(h, v) for h, v in self.filters
                            if not (h.lower() == header.lower() and (value is None or v == value))]

    def wants(self, event: SimEvent) -> bool:
        if not self.enabled:
            return False
        if "ALL" in self.names:
            send = True
        elif event.name in self.names:
            subclass = event.get("Event-Subclass")
            send = event.name != "CUSTOM" or subclass is None or subclass in self.subclasses
        else:
            send = False
        if send and self.filters:
            send = self._passes_filters(event)
        if send and self.uuid is not None:
            send = event.get("Unique-ID") == self.uuid
        return send

    def _passes_filters(self, event: SimEvent) -> bool:
        """mod_event_socket.c event_handler: once any filter is set an event
        passes only if one admits it ('+' or no prefix) and none rejects it
        ('-').  The prefix characters are skipped to get the value compared;
        the comparison is a regex only when the filter's value as given
        starts with '/' (``*hp->value == '/'``: so ``-/x/`` is compared
        literally), case-insensitive equality otherwise."""
        send = False
        for header, spec in self.filters:
            value = event.get(header)
            if value is None:
                continue
            positive, wanted = _filter_sign(spec)
            if (send and positive) or not wanted:
                continue
            matched = _regex_match(wanted, value) if spec.startswith("/") else value.lower() == wanted.lower()
            if matched:
                if not positive:
                    return False
                send = True
        return send


def _filter_sign(spec: str) -> tuple[bool, str]:
    """A filter value's leading '+', '-' and spaces (the last sign wins) and what follows them."""
    positive = True
    for at, char in enumerate(spec):
        if char == "+":
            positive = True
        elif char == "-":
            positive = False
        elif char != " ":
            return positive, spec[at:]
    return positive, ""


def _regex_match(expression: str, value: str) -> bool:
    """switch_regex_perform (switch_regex.c) on ``/pattern/flags``: 'i'
    ignores case, 's' lets '.' match newlines; without the closing '/' it
    logs an error and matches nothing."""
    body = expression[1:]
    pattern, slash, flags = body.rpartition("/")
    if not slash:
        return False
    options = (re.IGNORECASE if "i" in flags else 0) | (re.DOTALL if "s" in flags else 0)
    try:
        return re.search(pattern, value, options) is not None
    except re.error:
        return False


def _event_name(word: str) -> str | None:
    name = word.upper()
    if name.startswith("SWITCH_EVENT_"):
        name = name[len("SWITCH_EVENT_"):]
    return name if name in EVENT_NAMES else None
