"""The figures' edges, one row at a time (the whole day is in test_cli_report.py)."""

from __future__ import annotations

import pytest

from fsrouter.figures import Tallies, Tally, judge_promise, rules_queue
from fsrouter.store.records import NewQueueEvent


def row(kind, entry="c1", at=100.0, queue="billing", **fields):
    return NewQueueEvent(kind, queue, entry, at, fields)


def test_nothing_to_divide_is_none_not_zero():
    f = Tally().figures()
    assert (f.service_level, f.asa, f.aht, f.transfers_per_call, f.ewt_error, f.ewt_kept) == (None,) * 6


def test_the_target_and_the_five_seconds_are_inclusive():
    tally = Tally(target=20)
    for entry, kind, wait in [("a", "answered", 20.0), ("b", "answered", 20.5), ("c", "abandoned", 5.0),
                              ("d", "abandoned", 5.01)]:
        tally.add(row(kind, entry, wait=wait))
    f = tally.figures()
    assert (f.answered, f.abandoned, f.abandoned_short) == (2, 2, 1)
    assert f.service_level == pytest.approx(1 / 3)  # a within 20 s, over a, b and d


def test_callback_entries_are_callbacks_not_calls():
    tally = Tally()
    tally.add(row("offered", "callback:1", is_callback=True))
    tally.add(row("answered", "callback:1", wait=300.0, is_callback=True))
    tally.add(row("callback_completed", "callback:1", is_callback=True, attempts=1))
    tally.add(row("call_ended", "callback:1", talked=60.0, is_callback=True))
    f = tally.figures()
    assert (f.offered, f.answered, f.asa, f.callbacks_completed, f.aht) == (0, 0, None, 1, 60.0)


def test_a_caller_put_back_in_line_is_offered_once():
    tally = Tally()
    for _ in range(2):
        tally.add(row("offered", "c1", is_callback=False))
    assert tally.figures().offered == 1


@pytest.mark.parametrize("waited, answered, more_than, verdict", [
    (100.0, True, False, (10.0, True)),    # "2 minutes", answered in 100 s
    (130.0, True, False, (40.0, False)),   # answered, but after the 2 minutes
    (130.0, False, False, (None, False)),  # still waiting after 2 minutes, then gave up
    (100.0, False, False, (None, None)),   # left before the bound: proves nothing
    (900.0, True, True, (810.0, None)),    # "more than": no bound to keep
])
def test_a_promise_is_kept_broken_or_proves_nothing(waited, answered, more_than, verdict):
    assert judge_promise(waited, 90.0, 2, more_than, answered) == verdict


def test_rows_stored_before_the_bucket_was_are_judged_by_their_minutes():
    tally = Tally()
    old = [{"at": 0.0, "seconds": 1500.0, "minutes": 20}, {"at": 0.0, "seconds": 90.0, "minutes": 2}]
    tally.add(row("abandoned", at=1300.0, wait=1300.0, promises=old))
    assert (tally.ewt_kept, tally.ewt_broken) == (0, 1)  # "more than 20 minutes" is not judged


def test_a_queue_variant_counts_for_its_rules_queue_with_its_target():
    assert rules_queue("billing[language=de]") == "billing"
    tallies = Tallies(lambda at: "day", {"billing": 45.0})
    tallies.add([row("answered", queue="billing[language=de]", wait=40.0), row("answered", "c2", wait=40.0)])
    [(key, figures)] = tallies.figures().items()
    assert (key, figures.answered, figures.service_level, figures.target) == (("billing", "day"), 2, 1.0, 45.0)


def test_a_caller_leaving_by_an_exit_key_has_their_promise_judged():
    """Told "2 minutes", still waiting at 130 s, then keyed an exit key: a
    broken promise, as for a caller who hung up (the `exited` row carries
    the promises like every row that ends a wait)."""
    tally = Tally()
    promise = [{"at": 0.0, "seconds": 90.0, "minutes": 2}]
    tally.add(row("exited", at=130.0, wait=130.0, key="0", promises=promise))
    assert (tally.ewt_kept, tally.ewt_broken) == (0, 1)
