"""``bind_meta_app`` and the ``event`` application, as FreeSWITCH 1.10 runs them.

``bind_meta_app KEY LISTEN RESPOND APP[::ARGS]`` (mod_dptools
`dtmf_bind_function`, switch_ivr_bind_dtmf_meta_session in
switch_ivr_async.c) hooks the leg's received digits: the meta key (``*``,
or the first character of ``bind_meta_key``) starts a sequence and is
swallowed; the next digit, if bound, is swallowed too and its application
queued on the leg with event-lock (`meta_on_dtmf` -> switch_ivr_broadcast:
a private ``execute`` event, run where the leg reads its commands, also
inside a bridge: audio_bridge_thread in switch_ivr_bridge.c runs the leg's
next private event, the bridge staying up); an unbound digit after the meta key is swallowed and
ignored; a second meta key ends the sequence and passes through; a digit
more than 5 seconds after the meta key ends the sequence and passes
through.  The hook runs before the digit is queued
(switch_channel_queue_dtmf -> switch_core_session_recv_dtmf), so a
swallowed digit never reaches the DTMF queue nor fires a ``DTMF`` event.

Simulated: LISTEN ``a`` (the leg's own received digits) with RESPOND
``s`` or ``a`` (run on this leg), which is what fsrouter binds on agent
legs; other flags are recorded as errors, not guessed at.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fsrouter.sim.channel import Channel

META_TIMEOUT = 5.0
"""Seconds after the meta key within which the bound key counts (meta_on_dtmf)."""
BIND_SYNTAX = "<key> [a|b|ab] [a|b|o|s|i|1] <app>"


@dataclass
class MetaBindings:
    """One leg's meta keys: bound digit -> (application, argument)."""

    meta: str = "*"
    apps: dict[str, tuple[str, str]] = field(default_factory=dict)
    _on_since: float | None = None

    def received(self, channel: Channel, digit: str) -> bool:
        """The recv hook: False when `digit` is swallowed."""
        now = channel.clock.now()
        if self._on_since is not None and now - self._on_since > META_TIMEOUT:
            self._on_since = None  # "Meta digit timeout": the digit goes on as any other
            return True
        if digit == self.meta:
            if self._on_since is not None:
                self._on_since = None
                return True
            self._on_since = now
            return False
        if self._on_since is None:
            return True
        self._on_since = None
        bound = self.apps.get(digit)
        if bound is not None:
            channel.queue_app(*bound)
        return False


def bind_meta_app(channel: Channel, data: str) -> None:
    argv = data.split(" ", 3)
    if len(argv) != 4 or not argv[0] or argv[0] not in "0123456789":
        channel.call.errors.append(f"bind_meta_app: Usage: {BIND_SYNTAX} ({data!r})")
        return
    key, listen, respond, app = argv
    if listen != "a" or respond not in ("a", "s"):
        channel.call.errors.append(f"bind_meta_app {listen} {respond}: not simulated (only a s / a a)")
        return
    if channel.meta is None:
        meta = channel.variables.get("bind_meta_key", "*")[:1]
        channel.meta = MetaBindings(meta if meta and meta in "0123456789*#ABCD" else "*")
    name, _, arg = app.partition("::")
    channel.meta.apps[key] = (name, arg)


def event(channel: Channel, data: str) -> None:
    """mod_dptools `event_function`: a CHANNEL_APPLICATION event (or the type
    `Event-Name` names) with the ``name=value`` pairs of `data` (split on
    commas) and the channel's data."""
    name, headers = "CHANNEL_APPLICATION", []
    for item in (part.strip() for part in data.split(",")):
        header, sep, value = item.partition("=")
        if not sep:
            continue
        header, value = header.strip(), value.strip()
        if header.lower() == "event-name":
            name = value
        else:
            headers.append((header, value))
    channel.fire(name, post=headers)
