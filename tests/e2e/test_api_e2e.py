"""The admin API and the CLI of a running `fsrouter run`, over real sockets:
the token it wrote is needed; waiting callers show in /queues and /calls;
/metrics counts what happened; a rules reload through the API is applied,
or refused with the positions of what is wrong."""

from __future__ import annotations

import json

import gevent
import pytest
from click.testing import CliRunner

from fsrouter.api.client import ApiClient, ClientError
from fsrouter.cli import main
from fsrouter.sim import CallerScript


def blocking(function, *args, **kwargs):
    """A blocking call (the CLI's) on a thread: the simulator on this loop goes on."""
    return gevent.get_hub().threadpool.apply(function, args, kwargs)


def cli(fsrouter, *args):
    return blocking(CliRunner().invoke, main, [*args, "--config", str(fsrouter.config)])


def test_the_api_wants_the_token_the_service_wrote(fsrouter):
    token = fsrouter.token_file.read_text().strip()
    url = f"http://127.0.0.1:{fsrouter.api_port}"
    with pytest.raises(ClientError) as refused:
        blocking(ApiClient(url).get, "/status")
    assert refused.value.status == 401
    status = blocking(ApiClient(url, token).get, "/status")
    assert status["freeswitch_inbound_connected"] is True
    assert fsrouter.api("GET", "/status")["calls_started"] == 0


def test_waiting_callers_show_in_queues_and_calls_and_their_hangups_in_metrics(fsrouter):
    # Nobody able to take sales is registered: callers wait, hearing their
    # position, until they give up after 60 sim s (3 s here).
    callers = []
    for number in ("+306971111111", "+306972222222"):
        callers.append(fsrouter.switch.place_call(CallerScript(destination="5002", caller_id_number=number,
                                                               patience=60)))
        fsrouter.wait_until(lambda: fsrouter.api("GET", "/queues/sales")["waiting"] == len(callers), 5,
                            "caller not queued")
    sales = fsrouter.api("GET", "/queues/sales")
    assert [(c["id"], c["caller"], c["position"]) for c in sales["callers"]] == [
        (callers[0].uuid, "+306971111111", 1), (callers[1].uuid, "+306972222222", 2)]
    assert sum(sales["agents"].values()) == 1 and sales["serving_agents"] == 0  # 1003, whose phone is not registered
    live = fsrouter.api("GET", "/calls")["calls"]
    assert [(c["uuid"], c["caller"], c["line"], c["state"], c["queue"]) for c in live] == [
        (callers[0].uuid, "+306971111111", "5002", "queued", "sales"),
        (callers[1].uuid, "+306972222222", "5002", "queued", "sales")]

    shown = cli(fsrouter, "queues", "sales")
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    assert lines[0].startswith("sales: 2 waiting, 0 ringing, longest ")
    table = lines[lines.index("") + 1:]
    assert table[0].split() == ["POS", "CALL", "CALLER", "WAITED", "EWT", "STATE"]
    assert table[1].split()[:3] == ["1", callers[0].uuid, "+306971111111"]
    listed = cli(fsrouter, "calls", "--json")
    assert [c["uuid"] for c in json.loads(listed.output)["calls"]] == [c.uuid for c in callers]
    board = cli(fsrouter, "queues")
    assert [line.split()[:2] for line in board.output.splitlines() if line.startswith("sales ")] == [["sales", "2"]]

    for call in callers:
        assert call.wait(10), fsrouter.log_text()
    fsrouter.wait_until(lambda: fsrouter.api("GET", "/calls")["calls"] == [], 5, "calls still listed")
    metrics = fsrouter.api("GET", "/metrics")
    assert 'fsrouter_calls_offered_total{queue="sales"} 2.0' in metrics
    assert 'fsrouter_calls_abandoned_total{queue="sales"} 2.0' in metrics
    assert 'fsrouter_queue_callers_waiting{queue="sales"} 0.0' in metrics
    assert "fsrouter_announcement_lateness_seconds_count" in metrics
    assert 'fsrouter_announcement_lateness_seconds_count 0.0' not in metrics  # positions were announced


def test_a_rules_reload_through_the_api_is_applied_or_refused_with_positions(fsrouter):
    before = fsrouter.api("GET", "/rules")
    fsrouter.rules.write_text(fsrouter.rules.read_text().replace("require: {sales: 1}", "require: {sales: 2}"))
    applied = cli(fsrouter, "rules", "reload")
    assert applied.exit_code == 0, applied.output
    assert applied.output.startswith("rules reloaded: ")
    after = fsrouter.api("GET", "/rules")
    assert after["digest"] != before["digest"] and after["loaded_at"] > before["loaded_at"]
    assert "rules reloaded from" in fsrouter.log_text()  # the SIGHUP path, logged as such

    fsrouter.rules.write_text(fsrouter.rules.read_text().replace("strategy: most_skilled", "strategy: most_skiled"))
    refused = cli(fsrouter, "rules", "reload")
    assert refused.exit_code == 1
    *problems, last = refused.output.splitlines()
    assert last == "Error: POST /rules/reload: 422 the rules were refused; the running plan stays in force"
    assert problems and all(p.startswith(f"{fsrouter.rules}:") and ": error: " in p for p in problems), problems
    with pytest.raises(ClientError) as caught:
        fsrouter.api("POST", "/rules/reload")
    assert caught.value.status == 422
    assert caught.value.detail["problems"][0]["line"] > 0
    assert fsrouter.api("GET", "/rules")["digest"] == after["digest"]  # the applied rules still run
    shown = cli(fsrouter, "rules", "show")
    assert "last reload refused at" in shown.output and "most_skiled" in shown.output
