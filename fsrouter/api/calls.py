"""`GET /calls`: the calls the service is handling now (`runtime/live_calls.py`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fsrouter.api.routing import Router

if TYPE_CHECKING:
    from fsrouter.runtime.live_calls import LiveCalls
    from fsrouter.runtime.queue_runtime import QueueRuntime


def add_routes(router: Router, calls: LiveCalls, runtime: QueueRuntime) -> None:
    router.add("GET", "/calls", lambda request: {"calls": calls.listing(runtime)})
