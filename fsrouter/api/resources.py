"""Every resource of the admin API, mounted on one router for the service.

Each resource module has `add_routes(router, ...)` and is documented in
docs/api.md; this is the one place that lists them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fsrouter.api import status, wallboard
from fsrouter.api.routing import Router

if TYPE_CHECKING:
    from fsrouter.runtime.service import Service


def build_router(service: Service) -> Router:
    router = Router()
    status.add_routes(router, service.snapshot)
    wallboard.add_routes(router, service.queues, service.today, service.store)
    return router
