"""The resources of the admin API over a real queue runtime on a fake switch,
dispatched in-process (no socket): /queues, /calls, /rules, /metrics."""

from __future__ import annotations

import json

import gevent
import pytest
from fake_service import SOUNDS, Service, rules_copy

from fsrouter.acd import AgentState
from fsrouter.acd.events import CallbackBooked, CallbackFinished, Queued, Removed
from fsrouter.api import rules
from fsrouter.api.routing import ApiError, Response, Router
from fsrouter.flow import CallMachine
from fsrouter.flow.machine import ANNOUNCE_TIMER
from fsrouter.runtime.reload import PlanHolder


@pytest.fixture
def rules_file(tmp_path):
    return rules_copy(tmp_path)


@pytest.fixture
def service(rules_file):
    return Service(rules_file)


def test_queues_lists_every_queue_with_counts(service):
    service.join("call-a", "+306971111111")
    service.queues.set_agent_state("1002", AgentState.PAUSED, "lunch")
    listed = service.get("/queues")["queues"]
    assert [q["queue"] for q in listed] == ["support", "sales", "billing"]
    support = listed[0]
    assert support["waiting"] == 1 and "callers" not in support
    assert support["agents"] == {"available": 0, "on_call": 0, "wrap_up": 0, "paused": 1, "logged_out": 1}


def test_one_queue_shows_its_callers_by_position(service):
    service.join("call-a", "+306971111111")
    service.clock.now += 12
    service.join("call-b", "+306972222222")
    support = service.get("/queues/support")
    assert [(c["id"], c["caller"], c["position"], c["waited"]) for c in support["callers"]] == [
        ("call-a", "+306971111111", 1, 12.0), ("call-b", "+306972222222", 2, 0.0)]
    assert support["longest_wait"] == 12.0


def test_an_unknown_queue_is_a_404_naming_the_queues(service):
    with pytest.raises(ApiError) as missing:
        service.get("/queues/nope")
    assert missing.value.status == 404
    assert missing.value.message == "no queue 'nope' (queues: support, sales, billing)"


def test_calls_lists_live_calls_with_their_queue_and_agent(service):
    plan = service.plans.current
    machine = CallMachine(plan, {"uuid": "call-a", "destination_number": "5000", "caller_id_number": "+3069"},
                          now=0.0)
    with service.calls.handling("call-a", {"caller_id_number": "+3069", "destination_number": "5000"}, machine, 50.0):
        assert service.get("/calls") == {"calls": [{"uuid": "call-a", "caller": "+3069", "line": "5000",
                                                    "state": "new", "queue": None, "agent": None, "since": 50.0}]}
        service.join("call-a", "+3069")
        assert service.get("/calls")["calls"][0]["queue"] == "support"
        service.queues.set_agent_state("1001", AgentState.AVAILABLE)
        service.queues.step()  # offered, answered and bridged inline
        assert service.get("/calls")["calls"][0]["agent"] == "1001"
    assert service.get("/calls") == {"calls": []}


def test_rules_reload_applied_then_refused_with_positions(service, rules_file):
    before = service.get("/rules")
    assert len(before["digest"]) == 64 and before["last_reload"] is None
    rules_file.write_text(rules_file.read_text().replace("require: {support: 1}", "require: {support: 2}"))
    applied = service.router.dispatch("POST", "/rules/reload")
    assert applied.status == 200
    body = json.loads(applied.body)
    assert body["applied"] is True and body["digest"] != before["digest"]
    rules_file.write_text(rules_file.read_text() + "\nqueues: [\n")
    refused = service.router.dispatch("POST", "/rules/reload")
    assert refused.status == 422
    body = json.loads(refused.body)
    assert body["applied"] is False and body["error"].startswith("the rules were refused")
    assert body["problems"] and all(p["file"] == str(rules_file) and p["line"] > 0 for p in body["problems"])
    assert service.get("/rules")["digest"] != before["digest"]  # the applied one still runs
    assert service.get("/rules")["last_reload"]["applied"] is False


def scrape(service) -> dict[str, float]:
    answer = service.get("/metrics")
    assert isinstance(answer, Response) and answer.content_type.startswith("text/plain")
    samples = {}
    for line in answer.body.decode().splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    return samples


def test_metrics_read_live_figures_and_count_calls(service):
    service.queues.set_agent_state("1001", AgentState.AVAILABLE)
    service.join("call-b", "+306972222222")
    service.queues.step()  # 1001 is offered call-b, answers, and is bridged (inline)
    service.clock.now += 7
    service.join("call-c", "+306973333333", "billing")
    samples = scrape(service)
    assert samples['fsrouter_queue_callers_waiting{queue="billing"}'] == 1
    assert samples['fsrouter_queue_longest_wait_seconds{queue="support"}'] == 0  # call-b is with 1001
    assert samples['fsrouter_queue_agents{queue="support",state="on_call"}'] == 1
    assert samples['fsrouter_queue_agents{queue="support",state="logged_out"}'] == 1
    assert samples['fsrouter_calls_offered_total{queue="support"}'] == 1
    assert samples['fsrouter_calls_answered_total{queue="support"}'] == 1
    service.queues.hang_up("call-c")
    samples = scrape(service)
    assert samples['fsrouter_calls_abandoned_total{queue="billing"}'] == 1
    assert samples['fsrouter_rule_reloads_total{outcome="ok"}'] == 0
    assert samples['fsrouter_esl_reconnects_total'] == 0


def test_the_counters_of_every_queue_start_at_zero(service):
    samples = scrape(service)
    for queue in ("support", "billing"):
        for kind in ("offered", "answered", "abandoned"):
            assert samples[f'fsrouter_calls_{kind}_total{{queue="{queue}"}}'] == 0
        for outcome in ("booked", "completed", "failed"):
            assert samples[f'fsrouter_callbacks_total{{outcome="{outcome}",queue="{queue}"}}'] == 0


def test_callbacks_counted_by_queue_and_outcome(service):
    service.queues.handle([CallbackBooked(entry_id="callback:1", queue="support", at=1000.0),
                           CallbackBooked(entry_id="callback:2", queue="support", at=1000.0),
                           CallbackFinished(entry_id="callback:1", queue="support", at=1001.0, completed=True,
                                            attempts=1),
                           CallbackFinished(entry_id="callback:2", queue="support", at=1001.0, completed=False,
                                            attempts=3)])
    samples = scrape(service)
    assert samples['fsrouter_callbacks_total{outcome="booked",queue="support"}'] == 2
    assert samples['fsrouter_callbacks_total{outcome="completed",queue="support"}'] == 1
    assert samples['fsrouter_callbacks_total{outcome="failed",queue="support"}'] == 1


def test_a_caller_put_back_in_line_is_offered_once_per_queue_as_in_the_reports(service):
    def queued(queue):
        return Queued(entry_id="call-a", queue=queue, at=1000.0, arrival=990.0, priority=0, is_callback=False)
    # joins, leaves to book a callback, the booking fails: back in line (then moved by a reload)
    service.queues.handle([queued("support"),
                           Removed(entry_id="call-a", queue="support", at=1000.0, waited=10.0, reason="callback"),
                           queued("support"), queued("billing")])
    samples = scrape(service)
    assert samples['fsrouter_calls_offered_total{queue="support"}'] == 1
    assert samples['fsrouter_calls_offered_total{queue="billing"}'] == 1


def test_announcement_lateness_counts_only_announcements(service):
    service.metrics.timer_fired_late(ANNOUNCE_TIMER, 0.03)
    service.metrics.timer_fired_late("queue_max_wait", 9.0)
    samples = scrape(service)
    assert samples["fsrouter_announcement_lateness_seconds_count"] == 1
    assert samples['fsrouter_announcement_lateness_seconds_bucket{le="0.025"}'] == 0
    assert samples['fsrouter_announcement_lateness_seconds_bucket{le="0.05"}'] == 1


def test_each_service_has_its_own_registry(service, rules_file):
    other = Service(rules_file)
    service.join("call-a", "+306971111111")
    assert scrape(service)['fsrouter_calls_offered_total{queue="support"}'] == 1
    assert scrape(other)['fsrouter_calls_offered_total{queue="support"}'] == 0


def test_a_reload_still_compiling_is_a_202_and_rules_tell_the_outcome_later(rules_file):
    def slowly(function, *args):
        gevent.sleep(0.3)
        return function(*args)

    plans = PlanHolder(str(rules_file), str(SOUNDS), prepare_in=slowly)
    router = Router()
    rules.add_routes(router, plans, plans.request_reload, wait=0.05)
    answer = router.dispatch("POST", "/rules/reload")
    assert answer.status == 202 and json.loads(answer.body)["applied"] is None
    plans.wait_reloaded(5)
    assert router.dispatch("GET", "/rules")["last_reload"]["applied"] is True


@pytest.mark.parametrize("body, status, message", [
    ({}, 400, "queue is required"),
    ({"queue": "support", "color": "red"}, 400, "unknown fields: color"),
    ({"queue": "support", "attended": "yes"}, 400, "attended must be a boolean"),
    ({"queue": "support", "note": 7}, 400, "note must be a string"),
    ({"queue": "support"}, 409, "is not talking to an agent"),
])
def test_a_transfer_refused_says_why(service, body, status, message):
    service.join("c1", "+302101234567")
    with pytest.raises(ApiError) as refused:
        service.router.dispatch("POST", "/calls/c1/transfer", json.dumps(body).encode())
    assert refused.value.status == status and message in refused.value.message


def test_only_the_wallboard_page_is_served_without_the_token(service):
    public = [(route.method, route.pattern.pattern) for route in service.router.routes if route.public]
    assert public == [("GET", r"/wallboard\Z")]
    assert len(service.router.routes) > 10  # every resource registered, behind the token
