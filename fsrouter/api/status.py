"""Admin HTTP API: a read-only status document for operators and tests.

Served by gevent's WSGI server on the main loop.  `/status` reports what an
operator checks first (is the plan loaded, how many calls, is FreeSWITCH's
inbound connection up) and the live greenlet count, which is how tests prove
that finished calls leave nothing behind.
"""

from __future__ import annotations

import gc
import json
import logging
from typing import Callable

import greenlet
from gevent.pywsgi import WSGIServer

log = logging.getLogger(__name__)


def count_greenlets() -> int:
    """Live greenlets, the hub and the main one included."""
    return sum(1 for obj in gc.get_objects() if isinstance(obj, greenlet.greenlet) and not obj.dead)


class StatusAPI:
    """`GET /status` -> JSON built by `snapshot()`; anything else -> 404."""

    def __init__(self, host: str, port: int, snapshot: Callable[[], dict]):
        self._snapshot = snapshot
        self._server = WSGIServer((host, port), self._app, log=None, error_log=log)

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
