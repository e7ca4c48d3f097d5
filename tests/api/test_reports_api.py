"""`GET /reports/calls`: the records `fsrouter report --calls` prints, from
the store, days in the rules' time zone; bad days are 400, a store that
does not answer 503."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from fsrouter.api import reports
from fsrouter.api.routing import ApiError, Router
from fsrouter.store import StoreError, open_store
from fsrouter.store.records import NewQueueEvent

ATHENS = ZoneInfo("Europe/Athens")
#: 00:30 on 7 December in Athens, still the 6th in UTC.
T = datetime(2026, 12, 7, 0, 30, tzinfo=ATHENS).timestamp()


@pytest.fixture
def store(tmp_path):
    with open_store(f"sqlite:///{tmp_path}/fsrouter.db") as store:
        store.record_queue_events([
            NewQueueEvent("offered", "billing", "a", T, {"priority": 0, "is_callback": False}),
            NewQueueEvent("answered", "billing", "a", T + 4, {"wait": 4.0, "agent": "1001"}),
            NewQueueEvent("recorded", "billing", "a", T + 4, {"path": "/rec/a.wav"}),
            NewQueueEvent("call_ended", "billing", "a", T + 64, {"agent": "1001", "talked": 60.0}),
            NewQueueEvent("offered", "tech", "b", T + 10, {"priority": 0, "is_callback": False}),
            NewQueueEvent("abandoned", "tech", "b", T + 13, {"wait": 3.0, "position": 1}),
        ])
        store.record_survey("a", "billing", "1001", [(1, 5)], T + 80)
        yield store


def get(store, query: str):
    router = Router()
    reports.add_routes(router, store, lambda: ATHENS)
    return router.dispatch("GET", "/reports/calls", query=query)


def test_the_calls_of_a_day_in_the_rules_zone(store):
    calls = get(store, "from=2026-12-07&to=2026-12-07")["calls"]
    assert [(c["entry_id"], c["joined"], c["outcome"]) for c in calls] == [
        ("a", "2026-12-07 00:30:00", "answered"), ("b", "2026-12-07 00:30:10", "abandoned")]
    assert (calls[0]["recordings"], calls[0]["survey"], calls[0]["talked"]) == (["/rec/a.wav"], {"1": 5}, 60.0)
    assert get(store, "from=2026-12-06&to=2026-12-06") == {"calls": []}  # the UTC day, not Athens's
    assert [c["entry_id"] for c in get(store, "from=2026-12-07&to=2026-12-07&queue=tech")["calls"]] == ["b"]


@pytest.mark.parametrize("query, message", [
    ("to=2026-12-07", "from=YYYY-MM-DD is required"),
    ("from=2026-12-07", "to=YYYY-MM-DD is required"),
    ("from=07/12/2026&to=2026-12-07", "from must be a day as YYYY-MM-DD, got '07/12/2026'"),
    ("from=2026-W49-1&to=2026-12-07", "from must be a day as YYYY-MM-DD, got '2026-W49-1'"),
    ("from=2026-12-08&to=2026-12-07", "to is before from"),
])
def test_bad_days_are_400(store, query, message):
    with pytest.raises(ApiError) as refused:
        get(store, query)
    assert (refused.value.status, refused.value.message) == (400, message)


def test_a_store_that_does_not_answer_is_503():
    class Down:
        def queue_events(self, since=None, until=None):
            raise StoreError("database is locked")

    with pytest.raises(ApiError) as refused:
        get(Down(), "from=2026-12-07&to=2026-12-07")
    assert refused.value.status == 503 and "database is locked" in refused.value.message
