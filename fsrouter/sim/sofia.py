"""mod_sofia's registration events, as FreeSWITCH 1.10 fires them (sofia_reg.c).

A phone registering, unregistering (a REGISTER with ``Expires: 0``) or
going silent until its registration expires makes mod_sofia fire a
``CUSTOM`` event with subclass ``sofia::register``, ``sofia::unregister``
or ``sofia::expire``.  The headers differ between them -- the first two
name the user ``from-user``/``from-host``, ``sofia::expire`` ``user``/``host``
-- so clients that track presence must read both, and the simulator sends
them exactly so.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

from fsrouter.sim.events import EventFactory, SimEvent

PROFILE = "internal"
USER_AGENT = "fsrouter-sim phone"
REGISTER_EXPIRES = 3600
#: The profile's sip-expires-late-margin default (sofia.c), added to the expiry it stores.
EXPIRES_LATE_MARGIN = 60

#: Where each subclass is fired (Event-Calling-File/-Function); line numbers were not recorded.
CALLERS = {
    "sofia::register": ("sofia_reg.c", "sofia_reg_handle_register_token", 0),
    "sofia::unregister": ("sofia_reg.c", "sofia_reg_handle_register_token", 0),
    "sofia::expire": ("sofia_reg.c", "sofia_reg_del_callback", 0),
}


class Registration:
    """One phone's SIP registration on the ``internal`` profile, and the events it fires."""

    def __init__(self, endpoint: str, domain: str, host: str, port: int) -> None:
        user, _, realm = endpoint.rpartition("/")[2].partition("@")
        self.user = user
        self.profile = PROFILE
        #: Unix time the registrations table says it runs out (set by `register`).
        self.expires_at = 0
        self.domain = realm or domain
        self.network = (host, port)
        self.contact = f'"{user}" <sip:{user}@{host}:{port}>'
        #: Stable per phone, as a phone keeps its Call-ID across re-REGISTERs.
        self.call_id = f"{zlib.crc32(endpoint.encode()):08x}-sim@{host}"

    def register(self, events: EventFactory) -> SimEvent:
        host, port = self.network
        self.expires_at = int(events.clock.wall()) + REGISTER_EXPIRES + EXPIRES_LATE_MARGIN
        return self._event(events, "sofia::register", [
            ("profile-name", PROFILE), ("from-user", self.user), ("from-host", self.domain),
            ("presence-hosts", self.domain), ("contact", self.contact), ("call-id", self.call_id),
            ("rpid", "unknown"), ("status", "Registered(UDP)"), ("expires", str(REGISTER_EXPIRES)),
            ("to-user", self.user), ("to-host", self.domain), ("network-ip", host),
            ("network-port", str(port)), ("username", self.user), ("realm", self.domain),
            ("user-agent", USER_AGENT)])

    def unregister(self, events: EventFactory) -> SimEvent:
        return self._event(events, "sofia::unregister", [
            ("profile-name", PROFILE), ("username", self.user), ("from-user", self.user),
            ("from-host", self.domain), ("contact", self.contact), ("call-id", self.call_id),
            ("rpid", "unknown"), ("realm", self.domain), ("expires", "0")])

    def expire(self, events: EventFactory) -> SimEvent:
        """The registrations table row that expired: ``expires`` is the epoch time it ran out."""
        return self._event(events, "sofia::expire", [
            ("profile-name", PROFILE), ("call-id", self.call_id), ("user", self.user),
            ("host", self.domain), ("contact", self.contact), ("expires", str(int(events.clock.wall()))),
            ("user-agent", USER_AGENT)])

    @staticmethod
    def _event(events: EventFactory, subclass: str, headers: Sequence[tuple[str, str]]) -> SimEvent:
        return events.create("CUSTOM", [("Event-Subclass", subclass), *headers], caller=CALLERS[subclass])
