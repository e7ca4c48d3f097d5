"""`fsrouter report ... --config <the running service's>` in-process, for
e2e tests: click's CliRunner on gevent's thread pool, so the simulated
switch goes on serving on this loop while the report reads the store."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import gevent
from click.testing import CliRunner

from fsrouter.cli import main


def report_today(fsrouter, *args: str) -> list[dict]:
    """`fsrouter report --from today --to today ARGS --json` (the e2e rules' days are UTC days)."""
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    result = gevent.get_hub().threadpool.apply(CliRunner().invoke, (
        main, ["report", "--from", today, "--to", today, *args, "--json", "--config", str(fsrouter.config)]))
    assert result.exit_code == 0, f"{result.output}\n{fsrouter.log_text()}"
    return json.loads(result.stdout)
