"""The inbound event socket fsrouter connects to (mod_event_socket's port 8021).

Each connection gets ``auth/request`` and must ``auth <password>``; a wrong
password is answered ``-ERR invalid``, then FreeSWITCH says goodbye (a
disconnect notice) and closes.  Authorised connections speak the same
command set as the outbound socket (`EslSession`) minus the per-channel
commands, and see every event the switch fires that they subscribed to.
"""

from __future__ import annotations

import gevent.server

from fsrouter.sim.session import EslSession
from fsrouter.sim.switch import Switch


class InboundListener:
    def __init__(self, switch: Switch, host: str = "127.0.0.1", port: int = 0, password: str = "ClueCon") -> None:
        self.switch = switch
        self.password = password
        self._server = gevent.server.StreamServer((host, port), self._handle)
        #: The connections accepted so far, oldest first (their `wire` records the traffic).
        self.sessions: list[EslSession] = []

    @property
    def address(self) -> tuple[str, int]:
        return self._server.address[:2]

    def start(self) -> InboundListener:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()
        for session in self.sessions:
            session.close(goodbye=False)

    def __enter__(self) -> InboundListener:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _handle(self, sock, address) -> None:
        session = EslSession(self.switch, sock, password=self.password)
        self.sessions.append(session)
        session.start()
        session.finished.wait()  # the server closes the socket when this returns
