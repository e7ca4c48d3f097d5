"""`/agents` over a real socket, and `fsrouter agents` in-process against it:
a runtime on a fake switch, its desk and a SQLite store behind the API."""

from __future__ import annotations

import json

import gevent
import pytest
from click.testing import CliRunner

from fsrouter.api import agents
from fsrouter.api.client import ApiClient, ClientError
from fsrouter.api.routing import Router
from fsrouter.api.server import AdminAPI
from fsrouter.cli import main
from fsrouter.rules import compile_source
from fsrouter.runtime.agent_desk import AgentDesk
from fsrouter.runtime.queue_runtime import QueueRuntime
from fsrouter.store import open_store

from runtime_fakes import RULES, Clock, FakeInbound  # tests/runtime, on the path (conftest.py)

TOKEN = "agents-token"


@pytest.fixture
def service(tmp_path):
    store = open_store(f"sqlite://{tmp_path}/api.db")
    runtime = QueueRuntime(compile_source(RULES), FakeInbound(), clock=Clock(), spawn=lambda f, *a: f(*a))
    desk = AgentDesk(runtime, store, spawn=lambda f, *a: f(*a))
    desk.restore()
    router = Router()
    agents.add_routes(router, desk)
    server = AdminAPI("127.0.0.1", 0, router, token=TOKEN)
    server.start()
    (tmp_path / "token").write_text(TOKEN)
    config = tmp_path / "fsrouter.yaml"
    config.write_text(f"rules: rules.yaml\napi: {{port: {server.address[1]}, token_file: token}}\n")
    yield "http://%s:%d" % server.address, str(config), store
    server.stop()
    store.close()


def call(url, method, path, body=None):
    client = ApiClient(url, TOKEN)
    return gevent.get_hub().threadpool.apply(client.call, (method, path, body))


def cli(config, *args):
    return gevent.get_hub().threadpool.apply(CliRunner().invoke, (main, ["agents", *args, "--config", config]))


def test_list_and_one_agent(service):
    url, _, _ = service
    listed = call(url, "GET", "/agents")["agents"]
    assert [(a["id"], a["name"], a["state"]) for a in listed] == [("1001", "Alice", "logged_out"),
                                                                   ("1002", "Bob", "logged_out")]
    assert call(url, "GET", "/agents/1001")["skills"] == {"support": 5}


def test_state_changes_answer_the_agent_after_and_are_stored(service):
    url, _, store = service
    assert call(url, "POST", "/agents/1001/login")["state"] == "available"
    paused = call(url, "POST", "/agents/1001/pause", {"reason": "lunch"})
    assert (paused["state"], paused["reason"]) == ("paused", "lunch")
    assert call(url, "POST", "/agents/1001/unpause")["state"] == "available"
    assert call(url, "POST", "/agents/1001/logout")["state"] == "logged_out"
    assert store.agent_states()["1001"].state == "logged_out"


def test_skills_by_put_and_post(service):
    url, _, _ = service
    assert call(url, "PUT", "/agents/1002/skills", {"billing": 7})["skills"] == {"billing": 7, "support": 5}
    assert call(url, "POST", "/agents/1002/skills", {"support": 0})["skills"] == {"billing": 7}


@pytest.mark.parametrize("method, path, body, status, words", [
    ("GET", "/agents/9999", None, 404, "no agent '9999'"),
    ("POST", "/agents/9999/login", None, 404, "no agent"),
    ("POST", "/agents/1001/pause", {"reason": "lunch"}, 409, "logged out: log in first"),
    ("POST", "/agents/1001/unpause", None, 409, "log in first"),
    ("POST", "/agents/1001/pause", {"reason": 5}, 400, "reason must be text"),
    ("PUT", "/agents/1001/skills", {"billing": 12}, 400, "integer 1-10"),
    ("PUT", "/agents/1001/skills", {}, 400, "no skills given"),
    ("POST", "/agents/1001/dance", None, 404, "no resource"),
])
def test_refusals(service, method, path, body, status, words):
    url, _, _ = service
    with pytest.raises(ClientError) as refused:
        call(url, method, path, body)
    assert refused.value.status == status and words in str(refused.value)


def test_the_cli_lists_and_changes_agents(service):
    _, config, _ = service
    result = cli(config, "login", "1001")
    assert result.exit_code == 0, result.output
    assert result.output == "1001 Alice: available\nskills: support=5\n"
    result = cli(config, "pause", "1001", "--reason", "training")
    assert result.output.splitlines()[0] == "1001 Alice: paused (training)"
    result = cli(config, "list")
    assert result.output.splitlines() == [
        "AGENT  NAME   STATE       REASON    CALLS  TALK  SKILLS",
        "1001   Alice  paused      training  0      0s    support=5",
        "1002   Bob    logged_out  -         0      0s    support=5",
    ]
    result = cli(config, "skills", "1002", "billing=7", "support=2", "--json")
    assert json.loads(result.output)["skills"] == {"billing": 7, "support": 2}
    assert cli(config, "unpause", "1001").output.startswith("1001 Alice: available")
    assert cli(config, "logout", "1001").output.startswith("1001 Alice: logged_out")
    assert json.loads(cli(config, "show", "1002", "--json").output)["id"] == "1002"


def test_the_cli_says_a_refusal_in_one_line_and_bad_usage_with_status_2(service):
    _, config, _ = service
    refused = cli(config, "unpause", "1001")
    assert refused.exit_code == 1
    assert refused.output == "Error: POST /agents/1001/unpause: 409 agent 1001 is logged out: log in first\n"
    bad = cli(config, "skills", "1001", "billing")
    assert bad.exit_code == 2 and "expected SKILL=LEVEL" in bad.output
