"""Choosing the entry flow: lines, ordered routes (destination, caller id,
time of day, weekday, holidays in the rules' time zone) and the default."""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from fsrouter.rules import compile_source

RULES = r"""
settings:
  timezone: Europe/Athens
  holidays: {gr: [2026-03-25], uk: [2026-12-25]}
lines:
  "+302101234567": {brand: acme, language: el, flow: main, set: {region: gr}}
  "+441234567890": {brand: globex, language: en, flow: main}
  "5000": {brand: acme}
routes:
  - name: vip
    match: {caller_id: {prefix: "+30697"}}
    flow: vip
    set: {priority: "10", greeting: "vip/{brand}"}
  - name: greek-holiday
    match: {destination: "+302101234567", holiday: gr}
    flow: closed
  - name: after-hours
    match: {destination: {regex: "^\\+"}, not: {days: mon-fri, hours: "08:00-18:00"}}
    flow: closed
  - name: anonymous
    match: {any: [{caller_id: {in: ["", anonymous]}}, {vars: {caller_id_name: {regex: "(?i)^spam"}}}]}
    flow: closed
  - flow: main
flows:
  main: [{transfer: operator}]
  vip: [{transfer: vip-desk}]
  closed: [{hangup: NORMAL_CLEARING}]
"""
ATHENS = ZoneInfo("Europe/Athens")


@pytest.fixture(scope="module")
def plan():
    return compile_source(RULES)


def at(*args, tz=ATHENS) -> float:
    return datetime(*args, tzinfo=tz).timestamp()


def route(plan, destination, now, caller="+302109999999", name="Maria"):
    return plan.route(
        {"destination_number": destination, "caller_id_number": caller, "caller_id_name": name}, now
    )


WEDNESDAY_10 = at(2026, 6, 3, 10, 0)


def test_line_gives_flow_brand_language_and_variables(plan):
    decision = route(plan, "+302101234567", WEDNESDAY_10)
    assert (decision.flow, decision.line, decision.route) == ("main", "+302101234567", "line")
    assert dict(decision.exported) == {"brand": "acme", "language": "el", "region": "gr"}
    assert decision.variables["caller_id_name"] == "Maria"


@pytest.mark.parametrize(
    ("when", "flow"),
    [
        (at(2026, 6, 3, 7, 59), "closed"),
        (at(2026, 6, 3, 8, 0), "main"),
        (at(2026, 6, 3, 17, 59), "main"),
        (at(2026, 6, 3, 18, 0), "closed"),
        (at(2026, 6, 6, 11, 0), "closed"),  # Saturday
        (at(2026, 6, 3, 5, 30, tz=timezone.utc), "main"),  # 08:30 in Athens (summer, UTC+3)
        (at(2026, 1, 7, 5, 30, tz=timezone.utc), "closed"),  # 07:30 in Athens (winter, UTC+2)
    ],
)
def test_business_hours_in_the_rules_time_zone(plan, when, flow):
    assert route(plan, "+441234567890", when).flow == flow


def test_holiday_calendars(plan):
    national_day = at(2026, 3, 25, 11, 0)
    assert route(plan, "+302101234567", national_day).route == "greek-holiday"
    assert route(plan, "+441234567890", national_day).flow == "main"


def test_caller_id_prefix_and_templated_route_variables(plan):
    decision = route(plan, "+302101234567", WEDNESDAY_10, caller="+306970000000")
    assert (decision.flow, decision.route) == ("vip", "vip")
    assert decision.variables["priority"] == "10"
    assert decision.variables["greeting"] == "vip/acme"


def test_any_of_caller_id_or_name(plan):
    assert route(plan, "777", WEDNESDAY_10, caller="anonymous").flow == "closed"
    assert route(plan, "777", WEDNESDAY_10, name="SPAM likely").flow == "closed"


def test_default_route_for_unknown_numbers_and_lines_without_flow(plan):
    unknown = route(plan, "777", WEDNESDAY_10)
    assert (unknown.flow, unknown.route, unknown.line) == ("main", "default", None)
    assert unknown.variables["language"] == "en"
    assert route(plan, "5000", WEDNESDAY_10).flow == "main"


def test_without_a_default_route_unknown_numbers_are_refused():
    plan = compile_source('lines: {"1": {flow: main}}\nflows: {main: [{hangup: NORMAL_CLEARING}]}\n')
    decision = route(plan, "2", WEDNESDAY_10)
    assert (decision.flow, decision.route) == (None, None)
