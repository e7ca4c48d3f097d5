"""The few FreeSWITCH commands the queue runtime's parts send, each bounded.

The offer driver, the switch synchronisation and the `CallbackDialer` all
originate, bridge, ask after and hang up legs on the inbound connection; each
answer (or the lack of one) is turned into a plain value here, once, so that
none of them handles ESL errors of its own and every `api` waits at most
`command_timeout`.
"""

from __future__ import annotations

import logging

from fsrouter import fsvalues
from fsrouter.esl.errors import ESLConnectionClosed, ESLError, ESLTimeout
from fsrouter.runtime.legs import ESL_FAILURE, Legs

log = logging.getLogger(__name__)


class SwitchCommands:
    """Commands on `inbound` (`api(cmd, timeout)`, `bgapi(cmd, timeout)`)
    about the legs `legs` watches."""

    def __init__(self, inbound, legs: Legs, command_timeout: float) -> None:
        self.inbound = inbound
        self.legs = legs
        self.command_timeout = command_timeout

    @property
    def connected(self) -> bool:
        return self.inbound.connected

    def api(self, command: str) -> str:
        """The answer to an `api` command; raises `ESLError` as the connection does."""
        return self.inbound.api(command, timeout=self.command_timeout)

    def bgapi_result(self, command: str, timeout: float, leg_uuid: str) -> str:
        """Run an originate; its result text, or `-ERR ...` when ESL failed
        (then the leg, which may exist, is hung up rather than left ringing)."""
        try:
            event = self.inbound.bgapi(command, timeout=timeout)
        except ESLError as exc:
            log.warning("originate %s failed: %s", leg_uuid, exc)
            self.kill(leg_uuid)
            return ESL_FAILURE
        body = event.body.decode("utf-8", "replace") if isinstance(event.body, bytes) else str(event.body)
        return body.strip() or "-ERR EMPTY_RESULT"

    def bridge(self, a_uuid: str, b_uuid: str) -> bool | None:
        """Whether `uuid_bridge` bridged the two legs; None when no answer
        came (the connection was lost or it timed out): it may have."""
        try:
            self.api(fsvalues.api_command("uuid_bridge", a_uuid, b_uuid))
        except (ESLConnectionClosed, ESLTimeout) as exc:
            log.warning("bridge of %s to %s: no answer (%s)", a_uuid, b_uuid, exc)
            return None
        except ESLError as exc:
            log.warning("bridge of %s to %s failed: %s", a_uuid, b_uuid, exc)
            return False
        return True

    def drop_leg(self, uuid: str) -> None:
        """Stop watching the leg and hang it up."""
        self.legs.forget(uuid)
        self.kill(uuid)

    def channel_exists(self, uuid: str) -> bool:
        """Whether FreeSWITCH still has the channel (True when it cannot be asked)."""
        try:
            command = fsvalues.api_command("uuid_exists", uuid)
            return self.api(command).strip() != "false"
        except ESLError:
            return True

    def kill(self, uuid: str) -> None:
        try:
            self.api(fsvalues.api_command("uuid_kill", uuid, "ORIGINATOR_CANCEL"))
        except ESLError:
            pass  # no such channel (not created yet, or gone): nothing to hang up
