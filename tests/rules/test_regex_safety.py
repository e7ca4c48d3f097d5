"""Route regexes that could backtrack catastrophically are refused by the
check, and at run time no regex looks at a value longer than MAX_MATCHED."""

from __future__ import annotations

import pytest

from fsrouter.rules import analyse_source, compile_source
from fsrouter.rules.predicates import MAX_MATCHED
from fsrouter.rules.regex_safety import MAX_PATTERN, backtracking_risk

ORDINARY = [
    r"^\+30\d{9}$", r"^(21|22)\d+$", r"^\+?\d+$", r"^.*foo.*$", r"^(\+|00)30", r"^\d{3}-\d+-\d+$",
    r"^(\d{3}-)+\d+$", r"^[^@]+@example\.com$", r"^(?:\+30|0030)?2\d{9}$", r"^\+?[0-9]{7,15}$",
    r"^(gold|platinum)$", r"^(?!\+30)", r"(?i)^spam", r"^\+3069[0-9]{8}$", r"\w+\s*",
    r"^\d{3,4}-?\d{2,5}$", r"^\+?(30)?\d{10}$",
]
CATASTROPHIC = [
    r"^(\d+)+$", r"(a|a)+$", r"(\d|\d\d)+$", r"(a?b)*$", r"(ab|a.)+$", r"^(\w+\s?)+$",
    r"(x+x+)+y", r"^([а-я]+)*$", r"(.*a){12}", r"(?:\d+-?)+$", r"\d*\d*\d*$", r".*.*.*x",
    r"(\d+)(\d+)(\d+)x", r"^(\+?\d)+$",
    # Bounded repeats of variable length split text as many ways: 9 s on a
    # 128-digit caller id, and `\d?` forty times did not end in 120 s.
    r"\d{0,30}\d{0,30}\d{0,30}\d{0,30}\d{0,30}x", r"\d?" * 40 + "x",
]


@pytest.mark.parametrize("pattern", ORDINARY)
def test_ordinary_patterns_pass(pattern):
    assert backtracking_risk(pattern) is None


@pytest.mark.parametrize("pattern", CATASTROPHIC)
def test_patterns_that_can_backtrack_are_named(pattern):
    assert backtracking_risk(pattern)


RULES = """\
lines: {"1000": {flow: main}}
routes:
  - match: {caller_id: {regex: "%s"}}
    flow: main
flows:
  main: [{hangup: NORMAL_CLEARING}]
"""


def errors(pattern: str) -> list[str]:
    return [str(p) for p in analyse_source(RULES % pattern.replace("\\", "\\\\"), "r.yaml").problems]


def test_the_check_refuses_a_catastrophic_route_regex_with_its_position():
    assert errors(r"^(\d+)+$") == [
        'r.yaml:3:32: error: regular expression "^(\\d+)+$" could take exponential time: a repeated part'
        " has a variable length, so it can split the text in many ways (expected a pattern without repeats"
        ' inside repeats or overlapping repeats, e.g. "^\\+30\\d+$")'
    ]


def test_the_check_refuses_an_overlong_pattern_before_compiling_it():
    assert errors("a" * (MAX_PATTERN + 1)) == [
        f"r.yaml:3:32: error: regular expression too long: {MAX_PATTERN + 1} characters"
        f" (expected a Python regular expression of at most {MAX_PATTERN} characters)"
    ]


def test_the_most_deeply_grouped_pattern_allowed_compiles_inside_deep_conditions():
    """The regex parser recurses per group: the length bound keeps it far from the limit."""
    pattern = "(" * (MAX_PATTERN // 2) + ")" * (MAX_PATTERN // 2)
    deep = "{not: " * 30 + '{caller_id: {regex: "%s"}}' % pattern + "}" * 30
    rules = RULES.replace('{caller_id: {regex: "%s"}}', deep)
    assert [str(p) for p in analyse_source(rules, "r.yaml").problems] == []


def test_an_ordinary_route_regex_compiles():
    assert errors(r"^\+30\d{9}$") == []


def route(pattern: str, caller: str) -> str | None:
    plan = compile_source(RULES % pattern.replace("\\", "\\\\"), "r.yaml")
    return plan.route({"caller_id_number": caller, "destination_number": "9"}, 0.0).route


def test_values_longer_than_the_bound_are_not_matched():
    assert route(r"^\d+$", "1" * MAX_MATCHED) is not None
    assert route(r"^\d+$", "1" * (MAX_MATCHED + 1)) is None
