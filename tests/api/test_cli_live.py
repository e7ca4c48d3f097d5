"""`fsrouter queues`, `calls` and `rules` in-process (CliRunner) against the
API served over a real socket by a service with a real queue runtime."""

from __future__ import annotations

import json

import gevent
import pytest
from click.testing import CliRunner
from fake_service import Service, rules_copy

from fsrouter.acd import AgentState
from fsrouter.api.server import AdminAPI
from fsrouter.cli import main

TOKEN = "cli-token"


@pytest.fixture
def rules_file(tmp_path):
    return rules_copy(tmp_path)


@pytest.fixture
def service(rules_file, tmp_path):
    running = Service(rules_file)
    api = AdminAPI("127.0.0.1", 0, running.router, token=TOKEN)
    api.start()
    (tmp_path / "token").write_text(TOKEN)
    running.config = tmp_path / "fsrouter.yaml"
    running.config.write_text(f"api: {{port: {api.address[1]}, token_file: token}}\n")
    yield running
    api.stop()


def cli(service, *args):
    """On a thread: the API answers on this one's loop."""
    return gevent.get_hub().threadpool.apply(CliRunner().invoke, (main, [*args, "--config", str(service.config)]))


def test_queues_table_and_one_queue_with_callers_and_agents(service):
    service.join("call-a", "+306971111111")
    service.clock.now += 65
    service.join("call-b", "+306972222222")
    service.queues.set_agent_state("1002", AgentState.PAUSED, "lunch")
    board = cli(service, "queues")
    assert board.exit_code == 0, board.output
    assert [line.split() for line in board.output.splitlines()] == [
        ["QUEUE", "WAITING", "RINGING", "LONGEST", "EWT", "AVAILABLE", "ON_CALL", "WRAP_UP", "PAUSED", "LOGGED_OUT"],
        ["support", "2", "0", "1m05s", "-", "0", "0", "0", "1", "1"],
        ["sales", "0", "0", "0s", "-", "0", "0", "0", "0", "0"],
        ["billing", "0", "0", "0s", "-", "0", "0", "0", "1", "1"]]
    one = cli(service, "queues", "support").output.splitlines()
    assert one[:2] == ["support: 2 waiting, 0 ringing, longest 1m05s, EWT -",
                       "agents: 0 available, 0 on call, 0 wrap up, 1 paused, 1 logged out"]
    assert [line.split() for line in one[3:6]] == [
        ["POS", "CALL", "CALLER", "WAITED", "EWT", "STATE"],
        ["1", "call-a", "+306971111111", "1m05s", "-", "waiting"],
        ["2", "call-b", "+306972222222", "0s", "-", "waiting"]]
    assert [line.split() for line in one[7:]] == [
        ["AGENT", "NAME", "STATE", "REASON"], ["1001", "Alice", "logged_out", "-"], ["1002", "Bob", "paused", "lunch"]]


def test_an_unknown_queue_is_one_line_and_exit_1(service):
    result = cli(service, "queues", "no such")
    assert result.exit_code == 1
    assert result.output == ("Error: GET /queues/no%20such: 404 no queue 'no such' "
                             "(queues: support, sales, billing)\n")


def test_calls_none_then_json(service):
    assert cli(service, "calls").output == "no calls\n"
    assert json.loads(cli(service, "calls", "--json").output) == {"calls": []}


def test_rules_reload_applied_and_refused(service, rules_file):
    rules_file.write_text(rules_file.read_text().replace("require: {support: 1}", "require: {support: 3}"))
    applied = cli(service, "rules", "reload")
    assert applied.exit_code == 0 and applied.output.startswith(f"rules reloaded: {service.plans.digest[:16]}")
    rules_file.write_text("queues: [\n")
    refused = cli(service, "rules", "reload")
    assert refused.exit_code == 1
    *problems, error = refused.output.splitlines()
    assert problems and all(p.startswith(f"{rules_file}:") for p in problems)
    assert error.startswith("Error: POST /rules/reload: 422 the rules were refused")
    shown = cli(service, "rules", "show").output.splitlines()
    assert shown[0].startswith(f"rules {service.plans.digest[:16]}, loaded ")
    assert shown[1].startswith("last reload refused at ") and shown[2:] == [f"  {p}" for p in problems]
