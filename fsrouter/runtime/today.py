"""Today's figures per queue, kept live for the wallboard.

Fed the same statistics rows the store is given (`StatsRecorder.on_rows`),
added up by the one definition in `fsrouter.figures`; seeded at start from
the rows the store already holds for today, so a restart does not zero the
day.  "Today" is the day in the rules' time zone: the first row or reading
after midnight starts a new day, and a row of a day already over (written
late) is left out.  No IO here: the service does the seeding.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, tzinfo

from fsrouter.figures import DEFAULT_TARGET, Figures, Row, Tallies, Tally, day_bounds, rules_queue


def targets_of(plan) -> dict[str, float]:
    """Each rules queue's service-level target (`service_level:`), from a rules plan."""
    return {name: queue.service_level for name, queue in plan.queues.items()}


class Today:
    @classmethod
    def for_plan(cls, plan) -> Today:
        return cls(plan.settings.tz, targets_of(plan))

    def __init__(self, tz: tzinfo, targets: Mapping[str, float]) -> None:
        """`targets`: each rules queue's service-level target, in seconds."""
        self.tz = tz
        self._tallies = Tallies(lambda at: self._day, targets, variants=True)
        # The day being tallied, as its label and [start, end) in seconds:
        # a row is placed by two comparisons, not a time-zone conversion.
        self._day, self._start, self._end = "", float("-inf"), float("-inf")

    def day_of(self, at: float) -> str:
        return datetime.fromtimestamp(at, self.tz).strftime("%Y-%m-%d")

    def start_of_day(self, now: float) -> float:
        """Midnight starting the day of `now`: where seeding reads from."""
        day = datetime.fromtimestamp(now, self.tz).date()
        return day_bounds(day, day, self.tz)[0]

    def retarget(self, plan) -> None:
        """A rules reload: the new time zone and targets count from the next
        queue (or day) tallied."""
        self.tz = plan.settings.tz
        self._tallies.targets = targets_of(plan)

    def target(self, queue: str) -> float:
        """The service-level target of (the rules queue of) ACD queue `queue`."""
        return self._tallies.targets.get(rules_queue(queue), DEFAULT_TARGET)

    def nothing_yet(self, queue: str) -> Figures:
        """The figures of a queue with no row today (counts 0, ratios None)."""
        return Tally(self.target(queue)).figures()

    def add(self, rows: Iterable[Row]) -> None:
        rows = list(rows)
        if rows:
            self._roll(max(row.at for row in rows))
            self._tallies.add(row for row in rows if row.at >= self._start)

    def figures(self, now: float) -> dict[str, Figures]:
        """Today's figures of every queue that had a row today."""
        self._roll(now)
        return {queue: figures for (queue, _), figures in self._tallies.figures().items()}

    def _roll(self, at: float) -> None:
        """Start the day of `at` if it is later than the one tallied."""
        if at >= self._end:
            day = datetime.fromtimestamp(at, self.tz).date()
            self._day = day.isoformat()
            self._start, self._end = day_bounds(day, day, self.tz)
            self._tallies.by_key.clear()
