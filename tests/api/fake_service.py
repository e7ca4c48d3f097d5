"""What the API's resources read of a service, over a real queue runtime on
a fake switch (tests/runtime/runtime_fakes.py) and a real plan holder."""

from __future__ import annotations

from pathlib import Path

from bad_rules import E2E_RULES
from runtime_fakes import RULES, Clock, FakeInbound

from fsrouter.api.metrics import ServiceMetrics
from fsrouter.api.resources import build_router
from fsrouter.rules.compiler import compile_source
from fsrouter.runtime.agent_desk import AgentDesk
from fsrouter.runtime.live_calls import LiveCalls
from fsrouter.runtime.notices import NoticeDesk
from fsrouter.runtime.queue_runtime import QueueRuntime
from fsrouter.runtime.reload import PlanHolder
from fsrouter.runtime.today import Today
from fsrouter.store import open_store

SOUNDS = E2E_RULES.parents[3] / "sounds"


def rules_copy(folder: Path) -> Path:
    """The end-to-end rules, copied where a test may edit them."""
    path = folder / "rules.yaml"
    path.write_text(E2E_RULES.read_text())
    return path


class Service:
    """Queues from runtime_fakes.RULES; the plan holder reads `rules_file`."""

    def __init__(self, rules_file):
        self.clock = Clock()
        self.metrics = ServiceMetrics()
        inbound = FakeInbound("+OK agent-leg\n")
        plan = compile_source(RULES)
        self.today = Today.for_plan(plan)  # the wallboard's
        self.queues = QueueRuntime(plan, inbound, clock=self.clock, instance="fsr-1",
                                   spawn=lambda f, *a: f(*a), on_events=self.metrics.record)
        inbound.on_event = self.queues.on_event
        self.plans = PlanHolder(str(rules_file), str(SOUNDS), prepare_in=lambda function, *args: function(*args))
        self.calls = LiveCalls()
        # Agent states, callbacks and notices (tests/api/supervisor_api.py).
        self.store = open_store("sqlite:///:memory:")
        self.agents = AgentDesk(self.queues, self.store, spawn=lambda f, *a: f(*a))
        self.metrics.read_live(self.queues, self.plans)
        self.reload = self.plans.request_reload
        self.notices = NoticeDesk(self.store, lambda: self.plans.current, str(SOUNDS))
        self.router = build_router(self)  # type: ignore[arg-type]

    def snapshot(self) -> dict:
        return {"active_calls": len(self.calls)}

    def get(self, path):
        return self.router.dispatch("GET", path)

    def join(self, uuid, number, queue="support"):
        assert self.queues.join(uuid, queue, {"caller_id_number": number}, lambda message: None)


