"""`GET /status`: what an operator checks first (is the plan loaded, how
many calls, is FreeSWITCH's inbound connection up), built by the service
from counters it keeps, in constant time: no walk over the process's objects."""

from __future__ import annotations

from typing import Callable

from fsrouter.api.routing import Router


def add_routes(router: Router, snapshot: Callable[[], dict]) -> None:
    router.add("GET", "/status", lambda request: snapshot())
