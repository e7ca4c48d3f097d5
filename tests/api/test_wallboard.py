"""The wallboard's data: live figures joined with today's and the callbacks owed."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest
from fake_service import Service, rules_copy

from fsrouter.acd.ewt import Estimate
from fsrouter.api.wallboard import PendingCallbacks, board, page
from fsrouter.runtime.queue_figures import AGENT_GROUPS, QueueFigures
from fsrouter.runtime.today import Today
from fsrouter.store import StoreUnavailable, open_store
from fsrouter.store.records import NewQueueEvent

NOW = 1_796_100_000.0


def live(name: str, waiting: int = 0, ewt: Estimate | None = None) -> QueueFigures:
    agents = dict.fromkeys(AGENT_GROUPS, 0) | {"on_call": 1}
    return QueueFigures(name, waiting, 0, 12.34, 1, agents, ewt, (), ())


class Clock:
    now = NOW

    def __call__(self):
        return self.now


@pytest.fixture
def store(tmp_path):
    with open_store(f"sqlite:///{tmp_path}/fsrouter.db") as opened:
        yield opened


def test_the_board_joins_live_today_and_pending_per_queue():
    today = Today(ZoneInfo("UTC"), {"billing": 30.0})
    today.add([NewQueueEvent("offered", "billing", "c1", NOW - 60, {"is_callback": False}),
               NewQueueEvent("abandoned", "billing", "c1", NOW - 58, {"wait": 2.0})])
    data = board([live("billing", 2, Estimate.from_seconds(150, 20)), live("sales")], today, {"billing": 3}, NOW)
    billing, sales = data["queues"]
    assert (billing["queue"], billing["waiting"], billing["longest_wait"], billing["agents"]["on_call"]) == \
        ("billing", 2, 12.3, 1)
    assert (billing["ewt_phrase"], billing["callbacks_pending"], sales["callbacks_pending"]) == ("3 minutes", 3, 0)
    assert billing["today"] == {"offered": 1, "answered": 0, "abandoned": 1, "abandoned_short": 1,
                                "service_level": None, "target": 30.0, "ewt_kept": None}
    assert sales["today"] == {"offered": 0, "answered": 0, "abandoned": 0, "abandoned_short": 0,
                              "service_level": None, "target": 20.0, "ewt_kept": None}
    assert board([live("sales")], today, None, NOW)["queues"][0]["callbacks_pending"] is None


def test_callbacks_owed_are_read_at_most_once_a_second(store):
    clock = Clock()
    pending = PendingCallbacks(store, clock)
    book = lambda queue: store.book_callback(queue, "+302101111111", "+302100000000", NOW, 0, {},  # noqa: E731
                                             booked_at=NOW)
    first, _ = book("billing"), book("tech")
    store.claim(first.id, "host:1", 60, NOW)  # being dialled: still owed
    assert pending.counts() == {"billing": 1, "tech": 1}
    store.cancel(book("billing").id, NOW)  # cancelled: not owed
    book("billing")
    assert pending.counts() == {"billing": 1, "tech": 1}  # the same second: not read again
    clock.now += 1
    assert pending.counts() == {"billing": 2, "tech": 1}


def test_a_store_that_cannot_say_gives_no_count_said_once(caplog):
    class Flaky:
        up = True

        def list_callbacks(self, status):
            if not self.up:
                raise StoreUnavailable("database is down")
            return []

    clock, store = Clock(), Flaky()
    pending = PendingCallbacks(store, clock)
    assert pending.counts() == {}
    store.up = False
    for _ in range(2):
        clock.now += 1
        assert pending.counts() is None
    assert caplog.text.count("callbacks pending unknown (database is down)") == 1


def test_the_page_is_plain_html_that_reads_the_token_from_the_fragment():
    html = page().decode()
    assert html.startswith("<!doctype html>") and "<script src" not in html
    assert 'new URLSearchParams(location.hash.slice(1)).get("token")' in html
    assert '"Authorization": "Bearer " + given' in html and "innerHTML" not in html


def test_the_routes_the_page_public_its_data_behind_the_token(tmp_path):
    service = Service(rules_copy(tmp_path))
    service.join("call-a", "+306971111111")
    service.clock.now += 7
    board_queues = service.get("/wallboard/data")["queues"]
    assert [{k: q[k] for k in q if k not in ("today", "callbacks_pending")} for q in board_queues] == \
        service.get("/queues")["queues"]
    assert (board_queues[0]["waiting"], board_queues[0]["longest_wait"], board_queues[0]["callbacks_pending"]) == \
        (1, 7.0, 0)
    page_route, _ = service.router.match("GET", "/wallboard")
    data_route, _ = service.router.match("GET", "/wallboard/data")
    assert (page_route.public, data_route.public) == (True, False)
    assert page_route.handler(None).content_type == "text/html; charset=utf-8"
