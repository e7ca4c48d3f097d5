"""Today's live figures: the rules' day, a new one at midnight, late rows left out."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from fsrouter.rules.compiler import compile_source
from fsrouter.runtime.today import Today
from fsrouter.store.records import NewQueueEvent

ATHENS = ZoneInfo("Europe/Athens")


def at(day: int, hour: int, minute: int = 0) -> float:
    return datetime(2026, 12, day, hour, minute, tzinfo=ATHENS).timestamp()


def answered(when: float, wait: float = 10.0, queue: str = "billing") -> NewQueueEvent:
    return NewQueueEvent("answered", queue, f"c{when}", when, {"wait": wait})


def test_the_day_is_the_rules_day_and_midnight_starts_a_new_one():
    today = Today(ATHENS, {"billing": 5.0})
    today.add([answered(at(1, 23, 30)), answered(at(1, 23, 50), wait=4.0)])
    figures = today.figures(at(1, 23, 59))["billing"]
    assert (figures.answered, figures.service_level, figures.target) == (2, 0.5, 5.0)
    assert today.figures(at(2, 0, 0)) == {}  # 22:00 UTC is midnight in Athens
    today.add([answered(at(1, 23, 59)), answered(at(2, 0, 1))])  # the first written late
    assert today.figures(at(2, 0, 2))["billing"].answered == 1


def test_a_queue_variant_is_its_own_line_with_its_rules_queues_target():
    today = Today(ATHENS, {"billing": 45.0})
    today.add([answered(at(1, 9), queue="billing[language=de]")])
    assert list(today.figures(at(1, 10))) == ["billing[language=de]"]
    assert today.target("billing[language=de]") == 45.0 and today.target("sales") == 20.0


def test_start_of_day_and_a_reload_come_from_the_plan():
    plan = compile_source("""\
settings: {timezone: America/New_York}
lines: {"1": {flow: main}}
flows: {main: [{queue: q}]}
queues:
  q: {service_level: 1m, max_wait: {after: 10m, then: {hangup: }}}
""")
    today = Today(ATHENS, {})
    today.retarget(plan)
    assert today.target("q") == 60.0
    assert today.start_of_day(at(2, 6)) == datetime(2026, 12, 1, tzinfo=ZoneInfo("America/New_York")).timestamp()
    assert Today.for_plan(plan).target("q") == 60.0


def test_a_25_hour_day_ends_at_its_own_midnight():
    today = Today(ATHENS, {})
    clocks_back = datetime(2026, 10, 25, 0, 30, tzinfo=ATHENS).timestamp()  # 04:00 becomes 03:00 that day
    late = datetime(2026, 10, 25, 23, 50, tzinfo=ATHENS).timestamp()
    assert late - clocks_back == 24 * 3600 + 20 * 60
    today.add([answered(clocks_back), answered(late)])
    assert today.figures(late)["billing"].answered == 2
    after_midnight = datetime(2026, 10, 26, 0, 5, tzinfo=ATHENS).timestamp()
    today.add([answered(after_midnight)])
    assert today.figures(after_midnight)["billing"].answered == 1
