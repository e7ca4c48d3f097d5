"""What the figures cost: today's live tally on the dispatcher's path, and a report.

    .venv/bin/python bench/figures_cost.py [--calls 50000]

Rows are made as `fsrouter run` stores them (offered, then answered or
abandoned, then call_ended; a third of the outcomes carry an EWT promise),
from a seeded RNG, for `--calls` callers over one day in two queues.

- live: `Today.add` is called by the statistics recorder for every batch of
  ACD events, in the ACD dispatcher greenlet; the figure is its wall time
  per batch of one call's rows (2–3), p50 / p99 / max;
- reading: `Today.figures` as `GET /wallboard/data` asks it once a second;
- report: `fsrouter report --by hour --json` over a SQLite store holding the
  rows (reading them, tallying, printing), in-process.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

from click.testing import CliRunner

from fsrouter.cli import main
from fsrouter.runtime.today import Today
from fsrouter.store import open_store
from fsrouter.store.records import NewQueueEvent

DAY = 1_796_083_200.0  # 2026-12-01 00:00 UTC
RULES = """\
settings: {timezone: UTC}
lines: {"1": {flow: a}, "2": {flow: b}}
flows: {a: [{queue: billing}], b: [{queue: tech}]}
queues:
  billing: {max_wait: {after: 15m, then: {hangup: }}}
  tech: {max_wait: {after: 15m, then: {hangup: }}}
"""


def calls(count: int, seed: int = 1) -> list[list[NewQueueEvent]]:
    """Each call's rows, in time order of arrival."""
    rng, made = random.Random(seed), []
    for n in range(count):
        at, queue, entry = DAY + 8 * 3600 + n * 43_200 / count, rng.choice(["billing", "tech"]), f"c{n}"
        wait = rng.expovariate(1 / 40)
        promises = [{"at": at + 15, "seconds": 90.0, "minutes": 2, "bucket": "minutes"}] if rng.random() < 0.3 else []
        rows = [NewQueueEvent("offered", queue, entry, at, {"is_callback": False, "priority": 0})]
        if rng.random() < 0.8:
            rows.append(NewQueueEvent("answered", queue, entry, at + wait, {"wait": wait, "agent": "1001",
                                                                             "promises": promises}))
            rows.append(NewQueueEvent("call_ended", queue, entry, at + wait + 180, {"talked": 180.0}))
        else:
            rows.append(NewQueueEvent("abandoned", queue, entry, at + wait, {"wait": wait, "position": 2,
                                                                              "promises": promises}))
        made.append(rows)
    return made


def percentiles(samples: list[float]) -> str:
    cuts = statistics.quantiles(samples, n=100)
    return f"p50 {cuts[49]:.1f} µs, p99 {cuts[98]:.1f} µs, max {max(samples):.1f} µs"


def main_() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=50_000)
    args = parser.parse_args()
    made = calls(args.calls)
    rows = sum(len(c) for c in made)

    today, costs = Today(ZoneInfo("UTC"), {}), []
    for batch in made:
        start = time.perf_counter()
        today.add(batch)
        costs.append((time.perf_counter() - start) * 1e6)
    print(f"live: Today.add per call's batch ({args.calls:,} calls, {rows:,} rows): {percentiles(costs)}")

    reads = []
    for _ in range(200):
        start = time.perf_counter()
        today.figures(DAY + 20 * 3600)
        reads.append((time.perf_counter() - start) * 1e6)
    print(f"reading: Today.figures, 2 queues: {percentiles(reads)}")

    with tempfile.TemporaryDirectory() as work:
        folder = Path(work)
        (folder / "rules.yaml").write_text(RULES)
        (folder / "fsrouter.yaml").write_text("rules: rules.yaml\ndatabase: {url: sqlite:stats.db}\n")
        with open_store(f"sqlite:///{folder}/stats.db") as store:
            for start in range(0, len(made), 1000):
                store.record_queue_events([row for batch in made[start:start + 1000] for row in batch])
        start = time.perf_counter()
        result = CliRunner().invoke(main, ["report", "--from", "2026-12-01", "--to", "2026-12-01", "--by", "hour",
                                           "--json", "--config", str(folder / "fsrouter.yaml")])
        elapsed = time.perf_counter() - start
        assert result.exit_code == 0, result.output
    print(f"report: {rows:,} stored rows, by hour, JSON: {elapsed:.2f} s ({rows / elapsed:,.0f} rows/s)")


if __name__ == "__main__":
    main_()
