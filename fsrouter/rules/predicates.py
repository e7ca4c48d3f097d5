"""Tests used by routes (`match`) and `condition` steps, evaluated per call.

A test sees only a `Context`: the call's variables, the local time already
converted to the rules' time zone, and the holiday calendars.  It reads no
clock; the caller passes the time in.  New kinds of tests (queue state, for
instance) only need a new field on `Context` and a new class here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import Protocol

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_MATCHED = 128
"""Longest value a regex test looks at; a longer one does not match.  The
check refuses patterns that backtrack exponentially, and this bounds what
is left (polynomial) whatever a caller puts in their caller id."""


@dataclass(frozen=True)
class Moment:
    """A point in time as the rules see it: local date, weekday and minute."""

    date: date
    weekday: int
    minute: int

    @classmethod
    def at(cls, now: float, tz: tzinfo) -> Moment:
        local = datetime.fromtimestamp(now, tz)
        return cls(local.date(), local.weekday(), local.hour * 60 + local.minute)


@dataclass(frozen=True)
class Context:
    variables: Mapping[str, str]
    moment: Moment
    holidays: Mapping[str, frozenset[date]]


class Predicate(Protocol):
    def test(self, ctx: Context) -> bool: ...

    def describe(self) -> str: ...


@dataclass(frozen=True)
class Equals:
    var: str
    value: str

    def test(self, ctx: Context) -> bool:
        return ctx.variables.get(self.var, "") == self.value

    def describe(self) -> str:
        return f"{self.var} = {self.value}"


@dataclass(frozen=True)
class OneOf:
    var: str
    values: tuple[str, ...]

    def test(self, ctx: Context) -> bool:
        return ctx.variables.get(self.var, "") in self.values

    def describe(self) -> str:
        return f"{self.var} in ({', '.join(self.values)})"


@dataclass(frozen=True)
class Matches:
    """Regular expression search (anchor with ^ and $ for a whole match);
    values longer than `MAX_MATCHED` never match."""

    var: str
    pattern: re.Pattern[str]

    def test(self, ctx: Context) -> bool:
        value = ctx.variables.get(self.var, "")
        return len(value) <= MAX_MATCHED and self.pattern.search(value) is not None

    def describe(self) -> str:
        return f"{self.var} ~ /{self.pattern.pattern}/"


@dataclass(frozen=True)
class StartsWith:
    var: str
    prefix: str

    def test(self, ctx: Context) -> bool:
        return ctx.variables.get(self.var, "").startswith(self.prefix)

    def describe(self) -> str:
        return f"{self.var} starts with {self.prefix}"


@dataclass(frozen=True)
class Hours:
    """Local time of day within one of the half-open ranges [start, end) in minutes."""

    ranges: tuple[tuple[int, int], ...]

    def test(self, ctx: Context) -> bool:
        return any(start <= ctx.moment.minute < end for start, end in self.ranges)

    def describe(self) -> str:
        return "hours " + ",".join(f"{_hhmm(s)}-{_hhmm(e)}" for s, e in self.ranges)


@dataclass(frozen=True)
class Days:
    weekdays: frozenset[int]

    def test(self, ctx: Context) -> bool:
        return ctx.moment.weekday in self.weekdays

    def describe(self) -> str:
        return "days " + ",".join(DAY_NAMES[d] for d in sorted(self.weekdays))


@dataclass(frozen=True)
class Holiday:
    """Today (local date) is in one of the named calendars."""

    calendars: tuple[str, ...]

    def test(self, ctx: Context) -> bool:
        today = ctx.moment.date
        return any(today in ctx.holidays[name] for name in self.calendars)

    def describe(self) -> str:
        return "holiday " + ",".join(self.calendars)


@dataclass(frozen=True)
class All:
    tests: tuple[Predicate, ...]

    def test(self, ctx: Context) -> bool:
        return all(t.test(ctx) for t in self.tests)

    def describe(self) -> str:
        return " and ".join(_grouped(t) for t in self.tests)


@dataclass(frozen=True)
class AnyOf:
    tests: tuple[Predicate, ...]

    def test(self, ctx: Context) -> bool:
        return any(t.test(ctx) for t in self.tests)

    def describe(self) -> str:
        return " or ".join(_grouped(t) for t in self.tests)


@dataclass(frozen=True)
class Not:
    inner: Predicate

    def test(self, ctx: Context) -> bool:
        return not self.inner.test(ctx)

    def describe(self) -> str:
        return f"not {_grouped(self.inner)}"


def _grouped(p: Predicate) -> str:
    text = p.describe()
    return f"({text})" if isinstance(p, (All, AnyOf)) and len(p.tests) > 1 else text


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"
