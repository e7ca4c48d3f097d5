"""`GET /queues` (every queue's counts) and `GET /queues/{name}` (one queue
with its callers by position and its agents), from the live figures of
`runtime/queue_figures.py`: the wallboard and /metrics read the same."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fsrouter.acd.errors import UnknownQueue
from fsrouter.api.routing import ApiError, Request, Router
from fsrouter.runtime.queue_figures import all_queues, one_queue

if TYPE_CHECKING:
    from fsrouter.runtime.queue_runtime import QueueRuntime


def add_routes(router: Router, runtime: QueueRuntime) -> None:
    router.add("GET", "/queues", lambda request: {
        "queues": [figures.to_json(details=False) for figures in all_queues(runtime)]})

    def one(request: Request) -> dict:
        name = request.params["name"]
        try:
            return one_queue(runtime, name).to_json()
        except UnknownQueue:
            raise ApiError(404, f"no queue {name!r} (queues: {', '.join(runtime.acd.queue_names())})") from None

    router.add("GET", "/queues/{name}", one)
