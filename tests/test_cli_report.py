"""`fsrouter report` over a simulated day: the figures it prints equal the
figures this test computes on its own from the ACD's raw events.

The day is made by driving the real ACD (seeded RNG: arrivals, patience,
agents answering or missing, talk times, EWT announcements, callbacks,
transfers); its events become statistics rows exactly as `fsrouter run`
stores them (`store.stats.to_row`).  `expected()` below is independent
code: it reads the ACD's event objects, not the stored rows, and shares
nothing with `fsrouter.figures`.
"""

from __future__ import annotations

import csv
import heapq
import io
import json
import random
from collections import defaultdict
from datetime import datetime
from itertools import count
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from fsrouter.acd import (
    Abandoned,
    AgentPolicy,
    AgentSpec,
    Answered,
    Bucket,
    InMemoryAcd,
    Queued,
    QueueSpec,
    Transferred,
    UnknownEntry,
    UnknownOffer,
)
from fsrouter.acd.events import CallbackBooked, CallbackFinished, CallEnded
from fsrouter.cli import main
from fsrouter.store import open_store
from fsrouter.store.stats import to_row

ATHENS = ZoneInfo("Europe/Athens")
TARGETS = {"billing": 30.0, "tech": 20.0}

RULES = """\
settings: {timezone: Europe/Athens}
lines:
  "1": {flow: billing}
  "2": {flow: tech}
flows:
  billing:
    - queue: billing
  tech:
    - queue: tech
queues:
  billing:
    service_level: 30s
    require: {billing: 1}
    max_wait: {after: 15m, then: {hangup: }}
  tech:
    require: {tech: 1}
    max_wait: {after: 15m, then: {hangup: }}
agents:
  "1": {name: A, dial: user/1, skills: {billing: 5}}
  "2": {name: B, dial: user/2, skills: {billing: 5}}
  "3": {name: C, dial: user/3, skills: {billing: 5, tech: 5}}
  "4": {name: D, dial: user/4, skills: {tech: 5}}
"""


def simulated_day(seed: int) -> list:
    """The ACD's events over a busy day in Athens, 06:00 to 01:30 the next day."""
    rng = random.Random(seed)
    policy = AgentPolicy(wrap_up=10.0, ring_timeout=20.0, no_answer_delay=30.0, busy_delay=30.0, reject_delay=10.0)
    skills = {"1": {"billing": 5}, "2": {"billing": 5}, "3": {"billing": 5, "tech": 5}, "4": {"tech": 5}}
    acd = InMemoryAcd(
        [QueueSpec(name, {name: 1}, max_wait=900.0, max_wait_destination="hangup") for name in TARGETS],
        [AgentSpec(agent, agent, f"user/{agent}", levels, policy) for agent, levels in skills.items()])
    start = datetime(2026, 12, 1, 6, 0, tzinfo=ATHENS).timestamp()
    end = datetime(2026, 12, 2, 1, 30, tzinfo=ATHENS).timestamp()
    events: list = []
    for agent in skills:
        events += acd.set_agent_state(agent, "available", start)
    plan, seq = [], count()

    def later(at, what, *data):
        heapq.heappush(plan, (at, next(seq), what, data))

    t, callers = start, count(1)
    while (t := t + rng.expovariate(1 / 45)) < end:
        caller, queue = f"c{next(callers)}", rng.choice(["billing", "billing", "tech"])
        later(t, "arrive", caller, queue)
        later(t + rng.choice([2, 4, 5, 5.5, 30, 120, 400, 2000]), "hang_up", caller)
        later(t + 30, "announce", caller)
        later(t + 90, "announce", caller)
        if rng.random() < 0.4:
            later(t + 60, "callback", caller, queue)
        if queue == "billing" and rng.random() < 0.05:
            later(t + 45, "transfer", caller)
    arrivals, booked = {}, count(1)
    now = start
    while plan:
        deadline = acd.next_deadline()
        if deadline is not None and deadline <= plan[0][0]:
            now = max(now, deadline)
            events += acd.tick(now)
        else:
            at, _, what, data = heapq.heappop(plan)
            now = max(now, at)
            try:
                events += act(acd, rng, later, now, what, data, arrivals, booked)
            except (UnknownEntry, UnknownOffer):
                pass  # the caller or the offer is gone already: nothing happens
        for offer in acd.dispatch(now):
            events.append(offer)
            if rng.random() < 0.1:
                later(now + rng.uniform(5, 20), "miss", offer.offer_id)
            else:
                later(now + rng.uniform(1, 8), "answer", offer.offer_id, offer.entry_id, offer.queue)
    return events


def act(acd, rng, later, now, what, data, arrivals, booked) -> list:
    """One happening of the simulated day: the ACD's events it caused."""
    if what == "arrive":
        caller, queue = data
        arrivals[caller] = now
        return acd.enqueue(caller, queue, now)
    if what == "hang_up":
        return acd.abandon(data[0], now)
    if what == "announce":
        acd.announce_wait(data[0], now)
        return []
    if what == "transfer":
        return acd.transfer(data[0], "tech", now)
    if what == "callback":
        caller, queue = data
        events = acd.remove(caller, now, "callback")
        entry = f"callback:{next(booked)}"
        later(now + 120, "dial_back", entry, queue, arrivals[caller])
        return events + [CallbackBooked(entry_id=entry, queue=queue, at=now)]
    if what == "dial_back":
        entry, queue, arrival = data
        return acd.enqueue(entry, queue, now, arrival=arrival, is_callback=True)
    if what == "miss":
        return acd.missed(data[0], "no_answer", now)
    if what == "answer":
        offer_id, entry, queue = data
        events = acd.answered(offer_id, now)
        later(now + rng.lognormvariate(5, 0.6), "end", offer_id)
        if entry.startswith("callback:"):
            events.append(CallbackFinished(entry_id=entry, queue=queue, at=now,
                                           completed=rng.random() < 0.8, attempts=1))
        return events
    if what == "end":
        return acd.call_ended(data[0], now)
    raise AssertionError(what)


def expected(events: list) -> dict[tuple[str, str], dict]:
    """The day's figures per (queue, day in Athens), from the raw events."""
    sums: dict = defaultdict(lambda: {"offered": set(), "answered": [], "abandoned": [], "talked": [],
                                      "transfers": 0, "booked": 0, "completed": 0, "failed": 0,
                                      "errors": [], "kept": 0, "broken": 0})
    for e in events:
        if not hasattr(e, "queue") and not hasattr(e, "from_queue"):
            continue
        day = datetime.fromtimestamp(e.at, ATHENS).strftime("%Y-%m-%d")
        s = sums[(getattr(e, "from_queue", None) or e.queue, day)]
        callback = e.entry_id.startswith("callback:") if hasattr(e, "entry_id") else False
        if isinstance(e, Queued) and not e.is_callback:
            s["offered"].add(e.entry_id)
        elif isinstance(e, Answered) and not callback:
            s["answered"].append(e.waited)
        elif isinstance(e, Abandoned) and not callback:
            s["abandoned"].append(e.waited)
        elif isinstance(e, CallEnded):
            s["talked"].append(e.talked)
        elif isinstance(e, Transferred):
            s["transfers"] += 1
        elif isinstance(e, CallbackBooked):
            s["booked"] += 1
        elif isinstance(e, CallbackFinished):
            s["completed" if e.completed else "failed"] += 1
        for promise in getattr(e, "promises", ()):
            waited = e.at - promise.at
            if isinstance(e, Answered):
                s["errors"].append(waited - promise.estimate.seconds)
            if promise.estimate.bucket is not Bucket.MORE_THAN:
                if waited > 60 * promise.estimate.minutes:
                    s["broken"] += 1
                elif isinstance(e, Answered):
                    s["kept"] += 1
    figures = {}
    answers = defaultdict(lambda: {1: [], 2: []})
    for call_uuid, queue, _, scored, at in surveys(events):
        for question, score in scored:
            answers[(queue, datetime.fromtimestamp(at, ATHENS).strftime("%Y-%m-%d"))][question].append(score)
    for (queue, day), s in sums.items():
        answered, abandoned, target = s["answered"], s["abandoned"], TARGETS[queue]
        short = [w for w in abandoned if w <= 5]
        judged = len(answered) + len(abandoned) - len(short)
        mean = lambda values: sum(values) / len(values) if values else None  # noqa: E731
        figures[(queue, day)] = {
            "offered": len(s["offered"]), "answered": len(answered), "abandoned": len(abandoned),
            "abandoned_short": len(short), "target": target,
            "service_level": sum(w <= target for w in answered) / judged if judged else None,
            "asa": mean(answered), "aht": mean(s["talked"]),
            "callbacks_booked": s["booked"], "callbacks_completed": s["completed"],
            "callbacks_failed": s["failed"],
            "transfers_per_call": s["transfers"] / len(s["offered"]) if s["offered"] else None,
            "ewt_error": mean(s["errors"]),
            "ewt_kept": s["kept"] / (s["kept"] + s["broken"]) if s["kept"] + s["broken"] else None,
            "surveyed": len(answers[(queue, day)][1]),
            "survey_q1": rounded(mean(answers[(queue, day)][1])),  # survey averages have two decimals
            "survey_q2": rounded(mean(answers[(queue, day)][2])),
        }
    return figures


def rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def surveys(events: list) -> list[tuple[str, str, str, list[tuple[int, int]], float]]:
    """Post-call survey answers for some of the day's calls (seeded): one in
    three answered calls scores question 1, half of those question 2 too,
    ten seconds after the agent hung up."""
    rng = random.Random(7)
    made = []
    for e in events:
        if isinstance(e, CallEnded) and not e.entry_id.startswith("callback:") and rng.random() < 1 / 3:
            scored = [(1, rng.randint(1, 5))] + ([(2, rng.randint(1, 2))] if rng.random() < 0.5 else [])
            made.append((e.entry_id, e.queue, e.agent_id, scored, e.at + 10))
    return made


@pytest.fixture(scope="module")
def day():
    return simulated_day(seed=20261201)


@pytest.fixture
def config(tmp_path, day):
    (tmp_path / "rules.yaml").write_text(RULES)
    (tmp_path / "fsrouter.yaml").write_text("rules: rules.yaml\ndatabase: {url: sqlite:stats.db}\n")
    with open_store(f"sqlite:///{tmp_path}/stats.db") as store:
        store.record_queue_events([row for row in map(to_row, day) if row is not None])
        for call_uuid, queue, agent, scored, at in surveys(day):
            store.record_survey(call_uuid, queue, agent, scored, at)
    return str(tmp_path / "fsrouter.yaml")


def report(*args):
    result = CliRunner().invoke(main, ["report", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    return result


def test_the_simulated_day_is_a_busy_one(day):
    figures = expected(day)
    first = [f for (_, d), f in figures.items() if d == "2026-12-01"]
    assert sum(f["offered"] for f in first) > 1000
    for name in ("answered", "abandoned", "abandoned_short", "callbacks_booked", "callbacks_completed",
                 "callbacks_failed"):
        assert sum(f[name] for f in first) >= 5, name
    assert all(f["ewt_kept"] is not None and f["transfers_per_call"] is not None for f in first)
    assert {d for _, d in figures} == {"2026-12-01", "2026-12-02"}  # past midnight in Athens


def test_report_figures_by_day_equal_those_computed_from_the_raw_events(config, day):
    result = report("--from", "2026-12-01", "--to", "2026-12-02", "--by", "day", "--json", "--config", config)
    assert result.exit_code == 0, result.output
    printed = {(r.pop("queue"), r.pop("period")): r for r in json.loads(result.stdout)}
    want = expected(day)
    assert printed.keys() == want.keys()
    for key, figures in want.items():
        assert printed[key] == pytest.approx(figures), key


def test_one_day_and_one_queue_leave_the_rest_out(config, day):
    result = report("--from", "2026-12-02", "--to", "2026-12-02", "--queue", "tech", "--json", "--config", config)
    [only] = json.loads(result.stdout)
    assert (only.pop("queue"), only.pop("period")) == ("tech", "2026-12-02..2026-12-02")
    assert only == pytest.approx(expected(day)[("tech", "2026-12-02")])


def test_by_hour_the_hours_add_up_to_the_day(config):
    hours = json.loads(report("--from", "2026-12-01", "--to", "2026-12-01", "--by", "hour", "--json",
                              "--queue", "billing", "--config", config).stdout)
    [whole] = json.loads(report("--from", "2026-12-01", "--to", "2026-12-01", "--json", "--queue", "billing",
                                "--config", config).stdout)
    assert [h["period"] for h in hours][:2] == ["2026-12-01 06:00", "2026-12-01 07:00"]
    for name in ("offered", "answered", "abandoned", "abandoned_short", "callbacks_booked"):
        assert sum(h[name] for h in hours) == whole[name], name


def test_the_table_and_the_csv_say_the_same_as_the_json(config):
    args = ("--from", "2026-12-01", "--to", "2026-12-02", "--by", "day", "--config", config)
    records = json.loads(report(*args, "--json").stdout)
    table = report(*args).stdout.splitlines()
    assert table[0].split()[:5] == ["QUEUE", "PERIOD", "OFFERED", "ANSWERED", "ABANDONED"]
    assert [line.split()[:3] for line in table[1:]] == [
        [r["queue"], r["period"], str(r["offered"])] for r in records]
    assert f"{records[0]['service_level']:.1%} (30s)" in table[1]
    rows = list(csv.DictReader(io.StringIO(report(*args, "--csv").stdout)))
    assert [(row["queue"], row["period"], int(row["answered"]), float(row["asa"])) for row in rows] == [
        (r["queue"], r["period"], r["answered"], pytest.approx(r["asa"])) for r in records]


@pytest.mark.parametrize("args, message", [
    (("--from", "2026-12-02", "--to", "2026-12-01"), "--to is before --from"),
    (("--from", "2026-12-01", "--to", "2026-12-01", "--csv", "--json"), "give --csv or --json, not both"),
    (("--from", "01/12/2026", "--to", "2026-12-01"), "'01/12/2026' does not match the format '%Y-%m-%d'"),
])
def test_bad_arguments_are_usage_errors(config, args, message):
    result = report(*args, "--config", config)
    assert result.exit_code == 2 and message in result.output


def test_an_empty_range_and_a_missing_database_say_so(config, tmp_path):
    assert report("--from", "2025-01-01", "--to", "2025-01-02", "--config", config).stdout == \
        "no statistics in that range\n"
    result = report("--from", "2025-01-01", "--to", "2025-01-02", "--database", f"sqlite:///{tmp_path}/none.db",
                    "--config", str(tmp_path / "missing.yaml"))
    assert result.exit_code == 1 and "no database at" in result.output


def test_the_day_has_survey_answers_to_report(day):
    figures = expected(day)
    assert sum(f["surveyed"] for f in figures.values()) > 100
    assert all(f["survey_q2"] is not None for (_, d), f in figures.items() if d == "2026-12-01")


def test_calls_lists_each_call_that_joined_with_how_it_ended(config, day):
    records = json.loads(report("--from", "2026-12-01", "--to", "2026-12-01", "--calls", "--json",
                                "--config", config).stdout)
    start, end = (datetime(2026, 12, d, tzinfo=ATHENS).timestamp() for d in (1, 2))
    joined = {e.entry_id: e for e in day if isinstance(e, Queued) and start <= e.at < end}
    assert sorted(r["entry_id"] for r in records) == sorted(joined)
    answered = defaultdict(list)
    for e in day:
        if isinstance(e, Answered):
            answered[e.entry_id].append(e.agent_id)
    scores = {uuid: dict(scored) for uuid, _, _, scored, _ in surveys(day)}
    for record in records:
        queued = joined[record["entry_id"]]
        assert record["queue"] == queued.queue and record["callback"] == queued.is_callback
        assert datetime.strptime(record["joined"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=ATHENS).timestamp() == \
            int(queued.at)
        assert record["agents"] == answered[record["entry_id"]]
        assert (record["outcome"] == "answered") == bool(answered[record["entry_id"]]) or record["callback"]
        assert record["survey"] == {str(q): s for q, s in scores.get(record["entry_id"], {}).items()}
    assert {r["outcome"] for r in records} >= {"answered", "abandoned", "callback_completed"}


def test_calls_as_a_table_and_csv(config):
    args = ("--from", "2026-12-01", "--to", "2026-12-01", "--calls", "--queue", "tech", "--config", config)
    records = json.loads(report(*args, "--json").stdout)
    assert records and all("tech" in r["queues"] for r in records)  # joined there or transferred there
    assert any(r["queue"] == "billing" and r["transfers"] for r in records)
    table = report(*args).stdout.splitlines()
    assert table[0].split() == ["JOINED", "CALL", "QUEUE", "OUTCOME", "WAIT", "TALK", "RECORDING", "SURVEY"]
    assert len(table) == len(records) + 1
    answered = next(r for r in records if r["outcome"] == "answered" and r["survey"])
    [line] = [line for line in table if line.split()[2] == answered["entry_id"]]  # after the date and time
    assert f"answered by {answered['agents'][0]}" in line and f"Q1={answered['survey']['1']}" in line
    rows = list(csv.DictReader(io.StringIO(report(*args, "--csv").stdout)))
    assert [(row["entry_id"], row["outcome"], row["survey_q1"]) for row in rows] == [
        (r["entry_id"], r["outcome"], str(r["survey"].get("1", ""))) for r in records]


def test_surveys_per_agent(config, day):
    figures = json.loads(report("--from", "2026-12-01", "--to", "2026-12-02", "--surveys", "--json",
                                "--config", config).stdout)
    per_agent = defaultdict(list)
    for _, queue, agent, scored, _ in surveys(day):
        per_agent[(queue, agent)].append(dict(scored)[1])
    assert {(f["queue"], f["agent_id"]): (f["answers"], f["average"]) for f in figures if f["question"] == 1} == {
        key: (len(values), round(sum(values) / len(values), 2)) for key, values in per_agent.items()}


@pytest.mark.parametrize("args, message", [
    (("--calls", "--surveys"), "give --calls or --surveys, not both"),
    (("--calls", "--by", "day"), "--by goes with the figures"),
])
def test_calls_and_surveys_refuse_what_does_not_go_with_them(config, args, message):
    result = report("--from", "2026-12-01", "--to", "2026-12-01", *args, "--config", config)
    assert result.exit_code == 2 and message in result.output


def test_survey_answers_alone_show_beside_no_calls(tmp_path):
    """Answers given in an hour with no call events (the call was the hour
    before, outside --by hour's line) still show, beside zero calls."""
    url = f"sqlite:///{tmp_path}/alone.db"
    with open_store(url) as store:
        store.record_survey("call-1", "billing", "1001", [(1, 3), (2, 2)], datetime(2026, 12, 1, 9, 5, tzinfo=ZoneInfo("UTC")).timestamp())
    args = ("--from", "2026-12-01", "--to", "2026-12-01", "--database", url, "--config", str(tmp_path / "none.yaml"))
    [line] = json.loads(report(*args, "--json").stdout)
    assert (line["queue"], line["offered"], line["surveyed"], line["survey_q1"], line["survey_q2"]) == (
        "billing", 0, 1, 3.0, 2.0)
    assert list(csv.reader(io.StringIO(report(*args, "--surveys", "--csv").stdout))) == [
        ["queue", "agent_id", "question", "answers", "average"],
        ["billing", "1001", "1", "1", "3.0"], ["billing", "1001", "2", "1", "2.0"]]
