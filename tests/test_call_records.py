"""One record per call from stored rows (`fsrouter.call_records`), over synthetic rows."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from fsrouter.call_records import CALL_TAIL, CallRecord, call_records, read_call_records
from fsrouter.figures import day_bounds
from fsrouter.store import SurveyScore
from fsrouter.store.records import NewQueueEvent

ATHENS = ZoneInfo("Europe/Athens")
START, END = day_bounds(date(2026, 12, 7), date(2026, 12, 7), ATHENS)
T = START + 10 * 3600  # 10:00 in Athens


def row(kind, entry, at, queue="billing", **fields):
    return NewQueueEvent(kind, queue, entry, at, fields)


def score(call, question, value, at=T + 500):
    return SurveyScore(0, call, "billing", "1001", question, value, at)


def records(rows, scores=(), queue=None):
    return call_records(rows, scores, ATHENS, START, END, queue)


def test_an_answered_recorded_surveyed_call():
    rows = [
        row("offered", "a", T, priority=0, is_callback=False),
        row("answered", "a", T + 12, wait=12.0, agent="1001"),
        row("recorded", "a", T + 12, path="/rec/a.wav"),
        row("call_ended", "a", T + 100, agent="1001", talked=88.0),
    ]
    [record] = records(rows, [score("a", 1, 4), score("a", 2, 1), score("other", 1, 5)])
    assert record == CallRecord(entry_id="a", joined="2026-12-07 10:00:00", queue="billing", callback=False,
                                outcome="answered", queues=["billing"], agents=["1001"], wait=12.0, talked=88.0,
                                recordings=["/rec/a.wav"], survey={1: 4, 2: 1})
    assert record.summary() == "answered by 1001"
    assert record.as_dict()["survey"] == {"1": 4, "2": 1}
    assert "caller" not in " ".join(record.as_dict())  # no row holds the caller's number: none is made up


def test_a_call_transferred_twice_counts_its_agents_talk_and_queues():
    rows = [
        row("offered", "b", T, priority=0, is_callback=False),
        row("answered", "b", T + 5, wait=5.0, agent="1001"),
        row("transferred", "b", T + 30, wait=30.0, to_queue="tech[language=de]", agent="1001", transfers=1),
        row("call_ended", "b", T + 30, agent="1001", talked=25.0),
        row("offered", "b", T + 30, "tech[language=de]", priority=0, is_callback=False),
        row("answered", "b", T + 40, "tech[language=de]", wait=40.0, agent="2001"),
        row("transferred", "b", T + 60, "tech[language=de]", wait=60.0, to_queue="billing", agent="2001",
            transfers=2),
        row("offered", "b", T + 60, priority=0, is_callback=False),
        row("answered", "b", T + 70, wait=70.0, agent="1002"),
        row("call_ended", "b", T + 90, agent="1002", talked=20.0),
    ]
    [record] = records(rows)
    assert (record.outcome, record.agents, record.transfers, record.wait, record.talked) == (
        "answered", ["1001", "2001", "1002"], 2, 5.0, 45.0)
    assert record.queues == ["billing", "tech", "billing"]
    assert record.summary() == "answered by 1001, 2001, 1002; transferred 2 times"
    assert records(rows, queue="tech") == [record]  # it passed through tech
    assert records(rows, queue="sales") == []


def test_calls_that_did_not_reach_an_agent():
    rows = [
        row("offered", "ab", T, priority=0, is_callback=False),
        row("abandoned", "ab", T + 3, wait=3.0, position=1),
        row("offered", "ex", T + 1, priority=0, is_callback=False),
        row("exited", "ex", T + 9, wait=8.0, key="0"),
        row("offered", "to", T + 2, priority=0, is_callback=False),
        row("timed_out", "to", T + 902, wait=900.0, destination="voicemail"),
        row("offered", "cb", T + 3, priority=0, is_callback=False),
        row("removed", "cb", T + 60, wait=57.0, reason="callback"),
        row("offered", "on", T + 4, priority=0, is_callback=False),
    ]
    summaries = [(r.entry_id, r.outcome, r.wait, r.summary()) for r in records(rows)]
    assert summaries == [
        ("ab", "abandoned", 3.0, "abandoned"),
        ("ex", "exited", 8.0, "exited by key 0"),
        ("to", "timed_out", 900.0, "timed out to voicemail"),
        ("cb", "removed", 57.0, "left: callback"),
        ("on", "waiting", None, "waiting"),
    ]


def test_a_callback_entry_is_marked():
    rows = [
        row("callback_booked", "callback:7", T, is_callback=True),
        row("offered", "callback:7", T + 100, priority=0, is_callback=True),
        row("answered", "callback:7", T + 130, wait=30.0, agent="1001", is_callback=True),
        row("callback_completed", "callback:7", T + 131, attempts=1, is_callback=True),
    ]
    [record] = records(rows)
    assert (record.callback, record.outcome, record.agents) == (True, "callback_completed", ["1001"])


def test_a_call_is_in_the_range_it_joined_in_and_reported_whole():
    before, late = START - 30, END - 10
    rows = [
        row("offered", "yesterday", before, priority=0, is_callback=False),
        row("answered", "yesterday", START + 5, wait=35.0, agent="1001"),
        row("offered", "late", late, priority=0, is_callback=False),
        row("answered", "late", END + 20, wait=30.0, agent="1002"),
        row("offered", "tomorrow", END + 1, priority=0, is_callback=False),
        row("answered", "orphan", T, wait=1.0, agent="1003"),  # its offered row is not stored
    ]
    [record] = records(rows)
    assert (record.entry_id, record.joined, record.agents) == ("late", "2026-12-07 23:59:50", ["1002"])


def test_read_call_records_asks_the_store_from_the_ranges_start_to_a_day_past_its_end():
    asked = []

    class Store:
        def queue_events(self, since=None, until=None):
            asked.append(("events", since, until))
            return [row("offered", "a", T, priority=0, is_callback=False)]

        def survey_scores(self, since=None, until=None):
            asked.append(("scores", since, until))
            return [score("a", 1, 5)]

    [record] = read_call_records(Store(), date(2026, 12, 7), date(2026, 12, 7), ATHENS)
    assert record.survey == {1: 5} and record.joined == datetime.fromtimestamp(T, ATHENS).strftime("%Y-%m-%d %H:%M:%S")
    tail = START + 86_400 + CALL_TAIL  # the one day asked for, and a day after it
    assert asked == [("events", START, tail), ("scores", START, tail)]
