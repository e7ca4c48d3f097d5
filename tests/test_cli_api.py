"""The options every command talking to a running service shares: where the
API and its token come from, and errors as one line with exit status 1."""

from __future__ import annotations

import click
import gevent
import pytest
from click.testing import CliRunner

from fsrouter.api.client import ApiClient
from fsrouter.api.routing import ApiError, Router
from fsrouter.api.server import AdminAPI
from fsrouter.cli_api import api_command, duration, echo_json, echo_table
from fsrouter.config import load_config

TOKEN = "t0ken"


@click.command()
@click.argument("path")
@api_command
def ask(client, path, as_json):
    answer = client.get(path)
    if as_json:
        echo_json(answer)
    else:
        echo_table(("NAME", "VALUE"), sorted(answer.items()))


def refuse(request):
    raise ApiError(409, "queue billing is closed")


@pytest.fixture
def api():
    router = Router()
    router.add("GET", "/thing", lambda request: {"name": "héllo", "none": None})
    router.add("GET", "/refuse", refuse)
    router.add("GET", "/hostile", lambda request: {"caller": "+30\nagent 1001  available\x1b[2J"})
    server = AdminAPI("127.0.0.1", 0, router, token=TOKEN)
    server.start()
    yield "http://%s:%d" % server.address
    server.stop()


@pytest.fixture
def config(tmp_path, api):
    """A service configuration naming the API's port and its token file."""
    (tmp_path / "token").write_text(TOKEN + "\n")
    port = api.rsplit(":", 1)[1]
    path = tmp_path / "fsrouter.yaml"
    path.write_text(f"rules: rules.yaml\napi: {{port: {port}, token_file: token}}\n")
    return str(path)


def invoke(*args, env=None):
    """The CLI's blocking client runs on a thread: the server answers on this one's loop."""
    return gevent.get_hub().threadpool.apply(CliRunner().invoke, (ask, list(args)), {"env": env})


def test_the_configuration_gives_the_address_and_the_token(config):
    result = invoke("/thing", "--config", config)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ["NAME  VALUE", "name  héllo", "none  -"]
    json_result = invoke("/thing", "--config", config, "--json")
    assert '"name": "héllo"' in json_result.output


def test_api_without_a_configuration_takes_the_token_from_the_environment(api, tmp_path):
    missing = str(tmp_path / "none.yaml")
    refused = invoke("/thing", "--config", missing, "--api", api)
    assert refused.exit_code == 1
    assert refused.output == "Error: GET /thing: 401 a valid bearer token is required\n"
    result = invoke("/thing", "--config", missing, "--api", api + "/", env={"FSROUTER_API_TOKEN": TOKEN})
    assert result.exit_code == 0, result.output


def test_a_callers_control_characters_are_shown_escaped_in_a_table(config):
    result = invoke("/hostile", "--config", config)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ["NAME    VALUE", "caller  +30\\nagent 1001  available\\x1b[2J"]


def test_a_refusal_is_one_line_and_exit_1(config):
    result = invoke("/refuse", "--config", config)
    assert (result.exit_code, result.output) == (1, "Error: GET /refuse: 409 queue billing is closed\n")


def test_an_unreachable_service_is_one_line_and_exit_1(config):
    result = invoke("/thing", "--config", config, "--api", "http://127.0.0.1:9")
    assert result.exit_code == 1
    assert result.output.startswith("Error: cannot reach the fsrouter API at http://127.0.0.1:9: ")
    assert result.output.count("\n") == 1


def test_no_configuration_and_no_api_is_a_usage_error(tmp_path):
    result = invoke("/thing", "--config", str(tmp_path / "none.yaml"))
    assert result.exit_code == 2
    assert "no service configuration at" in result.output


def test_a_configuration_without_its_token_file_is_one_line(config, tmp_path):
    (tmp_path / "token").unlink()
    result = invoke("/thing", "--config", config)
    assert result.exit_code == 1
    assert result.output.startswith("Error: cannot read the API token file ")


@pytest.mark.parametrize("seconds, text", [(None, "-"), (0.4, "0s"), (42, "42s"), (185, "3m05s"),
                                           (3720, "1h02m"), (-3, "0s")])
def test_duration(seconds, text):
    assert duration(seconds) == text


@pytest.mark.parametrize("host, url", [("127.0.0.1", "http://127.0.0.1:8090"), ("0.0.0.0", "http://127.0.0.1:8090"),
                                       ("::", "http://127.0.0.1:8090"), ("::1", "http://[::1]:8090"),
                                       ("localhost", "http://localhost:8090")])
def test_the_url_from_the_configured_host(tmp_path, host, url):
    path = tmp_path / "fsrouter.yaml"
    path.write_text(f'api: {{host: "{host}", port: 8090}}\n')
    assert ApiClient.from_config(load_config(path)).url == url
