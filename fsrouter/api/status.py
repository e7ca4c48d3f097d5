"""Admin HTTP API: a read-only status document for operators and tests.

Served by gevent's WSGI server on the main loop, the same loop that carries
every call, so a request must cost little and no client may hold the server:
each read or write waits at most `idle_timeout`, a connection lives at most
`connection_timeout` (a client trickling one byte at a time is cut off), and
at most `max_connections` are served at once (beyond that, new ones wait in
the listen backlog until a slot frees).  `/status` reports what an operator
checks first (is the plan loaded, how many calls, is FreeSWITCH's inbound
connection up) from counters the service keeps, in constant time: no walk
over the process's objects.
"""

from __future__ import annotations

import json
import logging
from typing import Callable

import gevent
import gevent.pool
from gevent.pywsgi import WSGIServer

log = logging.getLogger(__name__)


class _BoundedWSGIServer(WSGIServer):
    """gevent's WSGI server with a deadline on every connection."""

    def __init__(self, *args, idle_timeout: float, connection_timeout: float, **kwargs):
        super().__init__(*args, **kwargs)
        self.idle_timeout = idle_timeout
        self.connection_timeout = connection_timeout

    def handle(self, sock, address):
        # pywsgi has no timeout of its own: an idle keep-alive or a request
        # never finished would hold its greenlet and socket for ever.
        sock.settimeout(self.idle_timeout)
        try:
            with gevent.Timeout(self.connection_timeout, False):
                super().handle(sock, address)
        finally:
            sock.close()


class StatusAPI:
    """`GET /status` -> JSON built by `snapshot()`; anything else -> 404."""

    def __init__(self, host: str, port: int, snapshot: Callable[[], dict], *,
                 idle_timeout: float = 10.0, connection_timeout: float = 30.0, max_connections: int = 32):
        self._snapshot = snapshot
        self._server = _BoundedWSGIServer(
            (host, port), self._app, log=None, error_log=log, spawn=gevent.pool.Pool(max_connections),
            idle_timeout=idle_timeout, connection_timeout=connection_timeout)

    @property
    def address(self) -> tuple[str, int]:
        return self._server.address

    def start(self) -> None:
        self._server.start()

    def stop(self) -> None:
        self._server.stop(timeout=1)

    def _app(self, environ, start_response):
        if environ.get("PATH_INFO") != "/status" or environ.get("REQUEST_METHOD") != "GET":
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found\n"]
        body = json.dumps(self._snapshot(), indent=2, sort_keys=True).encode() + b"\n"
        start_response("200 OK", [("Content-Type", "application/json"),
                                  ("Content-Length", str(len(body)))])
        return [body]
