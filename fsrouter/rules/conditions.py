"""Compile test mappings (route `match`, `condition` steps) into predicates.

A test mapping holds one or more tests that must all hold:

    destination: "+302101234567"        # or {regex: ...} / {prefix: ...} / {in: [...]}
    caller_id: {prefix: "+3069"}
    vars: {topic: billing, vip: {in: [gold, platinum]}}
    hours: "08:00-18:00"                # or a list of ranges, local time
    days: mon-fri                       # or [sat, sun]
    holiday: true                       # true/false, or a calendar name / list
    all: [...]   any: [...]   not: {...}
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from .predicates import (
    DAY_NAMES,
    All,
    AnyOf,
    Days,
    Equals,
    Holiday,
    Hours,
    Matches,
    Not,
    OneOf,
    Predicate,
    StartsWith,
)
from .regex_safety import MAX_PATTERN, backtracking_risk
from .shapes import Shapes
from .tree import Map, Node, Scalar

TEST_KEYS = ("destination", "caller_id", "vars", "hours", "days", "holiday", "all", "any", "not")
_MATCHERS = ("equals", "in", "regex", "prefix")
_MATCHER_HINT = 'text, or one of {equals: x}, {in: [x, y]}, {regex: "^x"}, {prefix: x}'
_RANGE = re.compile(r"(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})")
_HOURS_HINT = 'HH:MM-HH:MM with the start before the end, e.g. "08:00-18:00"; split ranges over midnight'
_DAYS_HINT = "day names mon..sun or a range like mon-fri"
_REGEX_HINT = f"a Python regular expression of at most {MAX_PATTERN} characters"
_SAFE_REGEX_HINT = r'a pattern without repeats inside repeats or overlapping repeats, e.g. "^\+30\d+$"'


class TestCompiler:
    def __init__(self, shapes: Shapes, calendars: Mapping[str, object]) -> None:
        self.shapes = shapes
        self.calendars = tuple(calendars)

    def mapping(self, node: Node, what: str = "test") -> Predicate | None:
        fields = self.shapes.fields(node, what, TEST_KEYS)
        return None if fields is None else self.fields(fields, node, what)

    def fields(self, fields: Mapping[str, Node], where: Node, what: str) -> Predicate | None:
        """AND of the tests given as the entries of one mapping."""
        if not fields:
            self.shapes.report.error(where.pos, f"{what} has no test", "one of: " + ", ".join(TEST_KEYS))
            return None
        parts = [getattr(self, "_" + key)(value) for key, value in fields.items()]
        if any(p is None for p in parts):
            return None
        return parts[0] if len(parts) == 1 else All(tuple(parts))

    def _destination(self, node: Node) -> Predicate | None:
        return self.matcher(node, "destination_number", "destination")

    def _caller_id(self, node: Node) -> Predicate | None:
        return self.matcher(node, "caller_id_number", "caller_id")

    def _vars(self, node: Node) -> Predicate | None:
        m = self.shapes.mapping(node, "vars", "a mapping of variable name to value or matcher")
        if m is None:
            return None
        if not m.entries:
            self.shapes.bad(node, "vars", "at least one variable")
            return None
        parts = [self.matcher(value, key.text, key.text) for key, value in m.entries]
        if any(p is None for p in parts):
            return None
        return parts[0] if len(parts) == 1 else All(tuple(parts))

    def matcher(self, node: Node, var: str, what: str) -> Predicate | None:
        if isinstance(node, Scalar):
            value = self.shapes.text(node, what, _MATCHER_HINT)
            return None if value is None else Equals(var, value)
        fields = self.shapes.fields(node, what, _MATCHERS)
        if fields is None:
            return None
        if len(fields) != 1:
            self.shapes.bad(node, what, "exactly one of: " + ", ".join(_MATCHERS))
            return None
        (kind, value), = fields.items()
        if kind == "in":
            items = self.shapes.sequence(value, f"{what} in", "a list of values")
            texts = [self.shapes.text(i, f"{what} in") for i in items or ()]
            return None if items is None or None in texts else OneOf(var, tuple(texts))
        text = self.shapes.text(value, f"{what} {kind}")
        if text is None:
            return None
        if kind == "equals":
            return Equals(var, text)
        if kind == "prefix":
            return StartsWith(var, text)
        return self.regex(value, var, text)

    def regex(self, node: Node, var: str, text: str) -> Predicate | None:
        """A regex test, refusing patterns that could take exponential time."""
        error = self.shapes.report.error
        if len(text) > MAX_PATTERN:
            error(node.pos, f"regular expression too long: {len(text):,} characters", _REGEX_HINT)
            return None
        try:
            pattern = re.compile(text)
        except (re.error, RecursionError, OverflowError) as exc:
            error(node.pos, f'invalid regular expression "{text}": {exc}', _REGEX_HINT)
            return None
        risk = backtracking_risk(text)
        if risk:
            error(node.pos, f'regular expression "{text}" could take exponential time: {risk}', _SAFE_REGEX_HINT)
            return None
        return Matches(var, pattern)

    def _hours(self, node: Node) -> Predicate | None:
        ranges = []
        for item in self.shapes.items(node):
            text = self.shapes.text(item, "hours", _HOURS_HINT)
            span = _time_range(text) if text is not None else None
            if span is None:
                if text is not None:
                    self.shapes.report.error(item.pos, f'bad time range "{text}"', _HOURS_HINT)
                return None
            ranges.append(span)
        return Hours(tuple(ranges))

    def _days(self, node: Node) -> Predicate | None:
        days: set[int] = set()
        for item in self.shapes.items(node):
            text = self.shapes.text(item, "days", _DAYS_HINT)
            if text is None:
                return None
            for part in text.split(","):
                found = _day_range(part.strip().lower())
                if found is None:
                    self.shapes.report.error(item.pos, f'bad day or day range "{part.strip()}"', _DAYS_HINT)
                    return None
                days.update(found)
        return Days(frozenset(days))

    def _holiday(self, node: Node) -> Predicate | None:
        if not self.calendars:
            self.shapes.report.error(
                node.pos, "holiday test without holidays", "a holidays list under settings"
            )
            return None
        if isinstance(node, Scalar) and isinstance(node.value, bool):
            test = Holiday(self.calendars)
            return test if node.value else Not(test)
        hint = "true, false, or calendar names: " + ", ".join(self.calendars)
        names = []
        for item in self.shapes.items(node):
            name = self.shapes.text(item, "holiday", hint)
            if name is not None and name not in self.calendars:
                self.shapes.report.error(item.pos, f'unknown holiday calendar "{name}"', hint)
                name = None
            names.append(name)
        return None if None in names else Holiday(tuple(names))

    def _all(self, node: Node) -> Predicate | None:
        parts = self._several(node, "all")
        return None if parts is None else All(parts)

    def _any(self, node: Node) -> Predicate | None:
        parts = self._several(node, "any")
        return None if parts is None else AnyOf(parts)

    def _not(self, node: Node) -> Predicate | None:
        inner = self.mapping(node, "not")
        return None if inner is None else Not(inner)

    def _several(self, node: Node, what: str) -> tuple[Predicate, ...] | None:
        items = self.shapes.sequence(node, what, "a list of tests")
        if not items:
            if items is not None:
                self.shapes.bad(node, what, "a list of tests")
            return None
        parts = [self.mapping(item, what) for item in items]
        return None if any(p is None for p in parts) else tuple(parts)


def _time_range(text: str) -> tuple[int, int] | None:
    m = _RANGE.fullmatch(text.strip())
    if not m:
        return None
    h1, m1, h2, m2 = map(int, m.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if m1 > 59 or m2 > 59 or start >= 24 * 60 or end > 24 * 60 or start >= end:
        return None
    return start, end


def _day_range(text: str) -> range | None:
    first, _, last = text.partition("-")
    if first not in DAY_NAMES or (last and last not in DAY_NAMES):
        return None
    start, end = DAY_NAMES.index(first), DAY_NAMES.index(last or first)
    return range(start, end + 1) if start <= end else None
