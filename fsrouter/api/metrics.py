"""`GET /metrics`: the service's figures for Prometheus (prometheus_client).

Each `Service` has a registry of its own (never the process-wide default, so
two services in one test process, or a library importing fsrouter, never
mix or collide).  Two kinds of figure:

- read at scrape time, from what the service already holds, so they cannot
  drift: per queue, callers waiting and longest wait, agents by group and
  the EWT a caller joining now would be told (`runtime.queue_figures`, the
  API's own computation); ESL (re)connections and rule reloads by outcome,
  from the counts the switch sync and the plan holder keep;
- fed as they happen: calls offered, answered and abandoned and callbacks
  booked, completed and failed per queue from the ACD's events (`record`,
  beside the statistics recorder), and how late each queue announcement's
  timer fired (`timer_fired_late`, from every call runner).

Callback entries (dialled back, not calls arriving) are counted by the
callback counters, not as calls offered/answered/abandoned.

The counters follow `fsrouter.figures` (the reports and the wallboard's
"today"): offered counts each caller once per queue they joined, however
many times they were put back in line there (a failed callback booking, a
bridge failing after answer, a reload moving them), as figures.py's set of
entries does; answered and abandoned count events, as figures.py does.
Unlike the reports they start from zero when the service starts.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from fsrouter.acd.events import Abandoned, Answered, CallbackBooked, CallbackFinished, Queued
from fsrouter.api.routing import Response, Router
from fsrouter.flow.machine import ANNOUNCE_TIMER
from fsrouter.runtime.queue_figures import all_queues
from fsrouter.store.stats import CALLBACK_ENTRY_PREFIX

if TYPE_CHECKING:
    from fsrouter.runtime.queue_runtime import QueueRuntime
    from fsrouter.runtime.reload import PlanHolder

#: Announcements are due every few tens of seconds: lateness that matters
#: starts at tens of milliseconds (a hub stalled by something).
LATENESS_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

#: How many (queue, caller) pairs already counted as offered are remembered:
#: far more than ever wait at once, so a caller put back in line is still
#: known, and the memory stays bounded however long the service runs.
OFFERED_MEMORY = 100_000


class ServiceMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._calls = {
            kind: Counter(f"fsrouter_calls_{kind}", f"Calls {kind} per queue (callback entries not counted).",
                          ["queue"], registry=self.registry)
            for kind in ("offered", "answered", "abandoned")}
        self._callbacks = Counter("fsrouter_callbacks", "Callbacks booked, completed (the customer answered) "
                                  "and failed (given up), per queue.", ["queue", "outcome"], registry=self.registry)
        self._lateness = Histogram(
            "fsrouter_announcement_lateness_seconds",
            "How long after it was due each queue announcement's timer fired.",
            buckets=LATENESS_BUCKETS, registry=self.registry)
        self._offered: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._runtime: QueueRuntime | None = None

    def read_live(self, runtime: QueueRuntime, plans: PlanHolder) -> None:
        """Read the live figures of `runtime` and `plans` at every scrape."""
        self._runtime = runtime
        self.registry.register(_Live(runtime, plans))

    def _known_queues(self) -> None:
        """Every queue of the rules in force has its counters, at 0 until a
        call counts: `rate()` and `increase()` see a queue's first call, and
        a dashboard lists a queue nobody has called yet."""
        if self._runtime is None:
            return
        for queue in self._runtime.acd.queue_names():
            for counter in self._calls.values():
                counter.labels(queue)
            for outcome in ("booked", "completed", "failed"):
                self._callbacks.labels(queue, outcome)

    def record(self, events: Iterable[object]) -> None:
        """ACD events (called by the queue runtime's `on_events`; never blocks)."""
        for event in events:
            kind = _KINDS.get(type(event))
            if kind is not None and not event.entry_id.startswith(CALLBACK_ENTRY_PREFIX):  # type: ignore[attr-defined]
                if kind == "offered" and not self._first_time(event):
                    continue
                self._calls[kind].labels(event.queue).inc()  # type: ignore[attr-defined]
            elif isinstance(event, CallbackBooked):
                self._callbacks.labels(event.queue, "booked").inc()
            elif isinstance(event, CallbackFinished):
                self._callbacks.labels(event.queue, "completed" if event.completed else "failed").inc()

    def _first_time(self, event: Queued) -> bool:
        """Whether `event` is the caller's first joining of its queue."""
        key = (event.queue, event.entry_id)
        if key in self._offered:
            return False
        self._offered[key] = None
        if len(self._offered) > OFFERED_MEMORY:
            self._offered.popitem(last=False)
        return True

    def timer_fired_late(self, name: str, seconds: float) -> None:
        """A call runner's timer fired `seconds` after its deadline."""
        if name == ANNOUNCE_TIMER:
            self._lateness.observe(max(0.0, seconds))

    def exposition(self) -> Response:
        self._known_queues()
        return Response(generate_latest(self.registry), content_type=CONTENT_TYPE_LATEST)


_KINDS = {Queued: "offered", Answered: "answered", Abandoned: "abandoned"}


class _Live(Collector):
    """The figures read at scrape time."""

    def __init__(self, runtime: QueueRuntime, plans: PlanHolder) -> None:
        self._runtime = runtime
        self._plans = plans

    def collect(self) -> Iterator[Metric]:
        waiting = GaugeMetricFamily("fsrouter_queue_callers_waiting",
                                    "Callers waiting for an agent (not those being offered).", labels=["queue"])
        longest = GaugeMetricFamily("fsrouter_queue_longest_wait_seconds",
                                    "The longest wait of a caller in the queue now.", labels=["queue"])
        agents = GaugeMetricFamily("fsrouter_queue_agents",
                                   "Agents the queue admits, by state group.", labels=["queue", "state"])
        ewt = GaugeMetricFamily("fsrouter_queue_ewt_seconds",
                                "The wait a caller joining now would be told (absent: nothing sound to say).",
                                labels=["queue"])
        for figures in all_queues(self._runtime):
            waiting.add_metric([figures.queue], figures.waiting)
            longest.add_metric([figures.queue], figures.longest_wait)
            for group, count in figures.agents.items():
                agents.add_metric([figures.queue, group], count)
            if figures.ewt is not None:
                ewt.add_metric([figures.queue], figures.ewt.seconds)
        yield from (waiting, longest, agents, ewt)
        yield _counts("fsrouter_rule_reloads", "Rules reloads by outcome (SIGHUP or the API).",
                      self._plans.reloads)
        reconnects = CounterMetricFamily("fsrouter_esl_reconnects",
                                         "Times the inbound ESL connection came up again after the first.")
        reconnects.add_metric([], max(0, self._runtime.sync.connections - 1))
        yield reconnects


def _counts(name: str, documentation: str, counts: dict[str, int]) -> CounterMetricFamily:
    family = CounterMetricFamily(name, documentation, labels=["outcome"])
    for outcome, count in counts.items():
        family.add_metric([outcome], count)
    return family


def add_routes(router: Router, metrics: ServiceMetrics) -> None:
    router.add("GET", "/metrics", lambda request: metrics.exposition())
