"""The wallboard: `GET /wallboard`, a page for the big screen, and
`GET /wallboard/data`, the figures it shows.

The page holds no data, so it is served without the token (a browser
opening a URL sends no `Authorization` header); it reads the token from the
URL's fragment (`/wallboard#token=...`, which browsers never send to the
server nor put in a Referer) and asks for the data with it as a bearer
header, once a second.  Polling, not server-sent events: `EventSource`
cannot send a header, so the token would have to travel in the query string
(into logs and proxies), and a 1 s poll of a small JSON object costs the
service next to nothing.  The page is plain HTML and JavaScript with no
library and no build step: a table refreshed in place needs neither, and
nothing from a CDN can break or spy on an operations screen.

The data joins, per ACD queue, the live figures everyone shares
(`runtime.queue_figures`, as `GET /queues` answers them: callers waiting
and ringing, longest wait, agents by state, EWT), today's figures (`runtime.today`, defined in `fsrouter.figures`) and
the callbacks still owed (pending or being dialled, read from the store at
most once a second however many boards poll).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from importlib.resources import files
from typing import TYPE_CHECKING

from fsrouter.api.routing import Response, Router
from fsrouter.runtime.queue_figures import QueueFigures, all_queues
from fsrouter.runtime.today import Today
from fsrouter.store.errors import StoreError
from fsrouter.store.records import OWED

if TYPE_CHECKING:
    from fsrouter.runtime.queue_runtime import QueueRuntime

log = logging.getLogger(__name__)

#: Today's figures the board shows (the rest of `Figures` is for reports).
TODAY = ("offered", "answered", "abandoned", "abandoned_short", "service_level", "target", "ewt_kept")



def page() -> bytes:
    return files("fsrouter.api").joinpath("wallboard.html").read_bytes()


class PendingCallbacks:
    """Callbacks owed per queue, read from the store at most every `ttl` seconds."""

    def __init__(self, store, clock: Callable[[], float], ttl: float = 1.0) -> None:
        self.store = store
        self.clock = clock
        self.ttl = ttl
        self._read_at: float | None = None
        self._counts: Mapping[str, int] | None = None

    def counts(self) -> Mapping[str, int] | None:
        """Callbacks pending or being dialled, by queue; None while the store cannot say."""
        now = self.clock()
        if self._read_at is None or now - self._read_at >= self.ttl:
            self._read_at = now
            try:
                self._counts = Counter(r.queue for status in OWED for r in self.store.list_callbacks(status))
            except StoreError as exc:
                if self._counts is not None:  # said once per outage, not every poll
                    log.warning("wallboard: callbacks pending unknown (%s)", exc)
                self._counts = None
        return self._counts


def board(live: Sequence[QueueFigures], today: Today, pending: Mapping[str, int] | None, now: float) -> dict:
    """The wallboard's data: one entry per queue, in the rules' order."""
    figures = today.figures(now)
    queues = []
    for queue in live:
        day = figures.get(queue.queue) or today.nothing_yet(queue.queue)
        queues.append({
            **queue.to_json(details=False),
            "callbacks_pending": None if pending is None else pending.get(queue.queue, 0),
            "today": {name: getattr(day, name) for name in TODAY},
        })
    return {"at": now, "day": today.day_of(now), "queues": queues}


def add_routes(router: Router, runtime: QueueRuntime, today: Today, store) -> None:
    """The page, public, and its data, behind the token, for the service's
    queue `runtime`, its `today` and its callbacks' `store`."""
    pending = PendingCallbacks(store, runtime.now)
    router.add("GET", "/wallboard", lambda request: Response(page(), content_type="text/html; charset=utf-8"),
               public=True)
    router.add("GET", "/wallboard/data",
               lambda request: board(all_queues(runtime), today, pending.counts(), runtime.now()))
