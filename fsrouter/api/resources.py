"""Every resource of the admin API, mounted on one router for the service.

Each resource module has `add_routes(router, ...)`, taking only the parts
of the service it reads, and is documented in docs/api.md; this is the one
place that lists them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fsrouter.api import agents, callbacks, calls, metrics, notices, queues, reports, rules, status, wallboard
from fsrouter.api.routing import Router

if TYPE_CHECKING:
    from fsrouter.runtime.service import Service


def build_router(service: Service) -> Router:
    router = Router()
    status.add_routes(router, service.snapshot)
    agents.add_routes(router, service.agents)
    queues.add_routes(router, service.queues)
    calls.add_routes(router, service.calls, service.queues)
    rules.add_routes(router, service.plans, service.reload)
    metrics.add_routes(router, service.metrics)
    notices.add_routes(router, service.notices)
    callbacks.add_routes(router, service.store)
    wallboard.add_routes(router, service.queues, service.today, service.store)
    reports.add_routes(router, service.store, lambda: service.today.tz)
    return router
