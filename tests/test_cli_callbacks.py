"""`fsrouter callbacks list|cancel|retry`, in-process against a SQLite file
(`--database`); through the API in tests/api/test_callbacks_cli.py."""

from __future__ import annotations

import json
import time

import pytest
from click.testing import CliRunner

from fsrouter.cli import main
from fsrouter.sim.harness import free_port
from fsrouter.store import open_store


@pytest.fixture
def database(tmp_path):
    """A store with: 1 pending (due), 2 dialing (tech), 3 failed, 4 pending
    later; booked relative to now, as the table shows times relative to now."""
    url = f"sqlite://{tmp_path}/var/fsrouter.db"
    now = time.time()
    with open_store(url) as store:
        book = lambda queue, number, arrival, **kw: store.book_callback(  # noqa: E731
            queue, number, "+302100000000", arrival, 0, {}, booked_at=arrival + 5, **kw
        )
        book("billing", "+302101111111", now - 300)
        book("tech", "+302102222222", now - 4000)
        book("billing", "+302103333333", now - 200)
        book("billing", "+302104444444", now - 100, not_before=now + 3600)
        store.claim(2, "host:42", 60, now)
        store.claim(3, "host:42", 60, now)
        store.record_attempt(3, "host:42", "busy", now, give_up=True)
    return url


def run(*args):
    result = CliRunner().invoke(main, ["callbacks", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    return result


def test_list_prints_an_aligned_table_in_line_order(database):
    result = run("list", "--database", database)
    assert result.exit_code == 0
    header, *lines = result.stdout.splitlines()
    assert header.split("  ")[0] == "ID" and "NEXT ATTEMPT" in header
    assert [line.split()[:3] for line in lines] == [
        ["2", "dialing", "tech"],
        ["1", "pending", "billing"],
        ["3", "failed", "billing"],
        ["4", "pending", "billing"],
    ]
    columns = [header.index(name) for name in ("STATUS", "QUEUE", "NUMBER", "WAITED")]
    for line in lines:  # every value starts under its heading
        assert all(line[c - 2 : c] == "  " and line[c] != " " for c in columns)
    assert "dialling (host:42)" in lines[0] and "1h06m" in lines[0]
    assert "due now" in lines[1] and "5m00s" in lines[1]
    assert "1 (busy)" in lines[2] and lines[2].rstrip().endswith("-")


def test_list_filters_and_json(database):
    result = run("list", "--database", database, "--status", "pending", "--queue", "billing", "--json")
    assert result.exit_code == 0
    listed = json.loads(result.stdout)
    assert [(c["id"], c["status"], c["number"]) for c in listed] == [
        (1, "pending", "+302101111111"),
        (4, "pending", "+302104444444"),
    ]
    assert listed[1]["next_attempt_at"] > time.time() + 3000


def test_list_nothing(database):
    result = run("list", "--database", database, "--queue", "sales")
    assert (result.exit_code, result.stdout) == (0, "no callbacks\n")
    assert json.loads(run("list", "--database", database, "--queue", "sales", "--json").stdout) == []


def test_cancel_then_retry(database):
    cancelled = run("cancel", "1", "--database", database)
    assert cancelled.exit_code == 0
    assert cancelled.stdout == "callback 1 to +302101111111 (billing): cancelled\n"
    retried = run("retry", "1", "--database", database, "--json")
    assert retried.exit_code == 0
    record = json.loads(retried.stdout)
    assert record["status"] == "pending" and record["next_attempt_at"] == record["updated_at"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["cancel", "3"], "callback 3 is failed; only pending or dialing can be cancelled"),
        (["retry", "2"], "callback 2 is being dialled by 'host:42'"),
        (["retry", "99"], "no callback with id 99"),
    ],
)
def test_refusals_are_one_line_errors_with_exit_1(database, args, message):
    result = run(*args, "--database", database)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith(f"Error: {message}")
    assert len(result.stderr.splitlines()) == 1


@pytest.mark.parametrize(
    "args",
    [
        ["cancel", "one"],
        ["list", "--status", "ringing"],
        ["list", "--database", "mysql://db/fsrouter"],
        ["list", "--config", "/nonexistent/fsrouter.yaml"],
        ["retry"],
    ],
)
def test_usage_errors_exit_2(database, args):
    if "--config" not in args and "--database" not in args:
        args = [*args, "--database", database]
    result = run(*args)
    assert result.exit_code == 2
    assert "Error:" in result.stderr


def test_a_missing_database_file_is_not_created(tmp_path):
    result = run("list", "--database", f"sqlite://{tmp_path}/typo.db")
    assert result.exit_code == 1
    assert "no database at" in result.stderr
    assert not (tmp_path / "typo.db").exists()


def test_without_database_the_running_service_is_asked_and_a_stopped_one_is_one_line(tmp_path, database):
    config = tmp_path / "fsrouter.yaml"
    config.write_text(f"api: {{port: {free_port()}}}\n")  # nothing listens there
    result = run("list", "--config", str(config))
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: cannot reach the fsrouter API at http://127.0.0.1:")
    assert "--database URL works on the store directly" in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_a_bad_configuration_is_reported_at_its_line(tmp_path):
    config = tmp_path / "fsrouter.yaml"
    config.write_text("database:\n  url: sqlite://host/x.db\n")
    result = run("list", "--config", str(config))
    assert result.exit_code == 1
    assert "fsrouter.yaml:2:" in result.stderr and "database.url" in result.stderr
