"""An unreachable PostgreSQL is reported within seconds, in one line: by the
store, by `fsrouter callbacks` and by `fsrouter run` (before, the CLI waited
out the pool's 30 s).

Two kinds of unreachable: a port nothing listens on (refused at once) and
a server that accepts the connection and never answers (only the connect
timeout ends the wait).  The time bounds are generous functional ones (the
default connect timeout is 5 s), not performance figures.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from fsrouter.cli import main
from fsrouter.sim.harness import free_port
from fsrouter.store import StoreUnavailable, open_store

REPO = Path(__file__).resolve().parents[2]
BOUND = 10.0


@pytest.fixture
def refused_url():
    return f"postgresql://fsrouter@127.0.0.1:{free_port()}/fsrouter"


@pytest.fixture
def silent_url():
    """A server that accepts TCP connections and never says a word."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield f"postgresql://fsrouter@127.0.0.1:{listener.getsockname()[1]}/fsrouter"


@pytest.mark.parametrize("url_fixture, reason", [("refused_url", "Connection refused"),
                                                 ("silent_url", "timeout expired")])
def test_the_store_reports_an_unreachable_server_within_seconds(request, url_fixture, reason):
    url = request.getfixturevalue(url_fixture)
    started = time.monotonic()
    with pytest.raises(StoreUnavailable, match=f"cannot connect to PostgreSQL: .*{reason}") as refused:
        open_store(url)
    assert time.monotonic() - started < BOUND
    assert "\n" not in str(refused.value)


def test_the_callbacks_command_fails_within_seconds_in_one_line(refused_url):
    started = time.monotonic()
    result = CliRunner().invoke(main, ["callbacks", "list", "--database", refused_url])
    assert time.monotonic() - started < BOUND
    assert result.exit_code == 1
    [line] = result.output.splitlines()
    assert line.startswith("Error: cannot connect to PostgreSQL:") and "Connection refused" in line


def test_the_service_fails_within_seconds_in_one_line(tmp_path, silent_url):
    config = tmp_path / "fsrouter.yaml"
    config.write_text(json.dumps({  # JSON is YAML
        "listen": {"host": "127.0.0.1", "port": free_port()},
        "rules": str(REPO / "tests" / "e2e" / "rules" / "callbacks.yaml"),
        "sounds": str(REPO / "sounds"),
        "freeswitch": {"inbound": {"host": "127.0.0.1", "port": free_port(), "password": "ClueCon"}},
        "database": {"url": silent_url},
        "simulator": {"mode": "never"},
    }))
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", "from fsrouter.cli import main; main()",
                           "run", "--config", str(config)],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert time.monotonic() - started < BOUND
    assert done.returncode == 1
    [line] = [line for line in done.stderr.splitlines() if line.strip()]
    assert "cannot connect to PostgreSQL" in line and "timeout expired" in line
    assert "Traceback" not in done.stdout + done.stderr
