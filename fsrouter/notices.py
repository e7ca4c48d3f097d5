"""Supervisors' notices ("we know about the outage in Athens"): what they
are, which one a call hears, and when one ends.  Pure: no clock, no store.

A notice is a prompt switched on for a scope: one line (the number dialled),
one brand, one queue, or everyone.  A caller hears it at a `notice:` step of
the rules whose scope matches (rules/flows.py turns the step into the key
`line:{destination_number}`, `brand:{brand}`, `queue:NAME` or `global`; a
`Scope` here renders the same keys), so the call's lookup is one dict access
in a `NoticeBoard`.  At most one notice is on per scope: a new one replaces
it.  Whether it is heard is a function of (notices, key, now) only: expired
or cleared notices are silent, whoever still holds them.

The runtime keeps the board filled from the store (runtime/notices.py); the
API and the CLI read and check their input here (`parse_scope`, `expiry`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

from fsrouter.rules import plan as p
from fsrouter.rules.durations import DURATION_HINT, seconds
from fsrouter.rules.flows import NOTICE_SCOPES
from fsrouter.rules.shapes import NAME

SCOPE_HINT = "line:NUMBER, brand:NAME, queue:NAME or global"
UNTIL_HINT = "a time of day HH:MM (the rules' time zone), or YYYY-MM-DD HH:MM"
PROMPT_HINT = "a prompt id such as notices/outage_athens"

_LINE = re.compile(r"[0-9A-Za-z+*#._@-]{1,64}")
_PROMPT = re.compile(r"[A-Za-z0-9_-]+(?:/[A-Za-z0-9_-]+){0,7}")
_MAX_PROMPT = 200
_CLOCK = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")
_MAX_NAME = 100


class NoticeError(ValueError):
    """Input a notice cannot be made of; the message says why, in one line."""


@dataclass(frozen=True)
class Scope:
    """Who hears a notice: `kind` is line, brand, queue or global; `value`
    the number or name (None for global)."""

    kind: str
    value: str | None = None

    @property
    def key(self) -> str:
        """The key a `notice:` step of this scope renders for a matching call."""
        return self.kind if self.value is None else f"{self.kind}:{self.value}"

    def __str__(self) -> str:
        return self.key


@dataclass(frozen=True)
class Notice:
    """One notice as stored: `scope` is its key; `prompt` a prompt id, played
    in the caller's language; `expires_at` None until cleared."""

    id: int
    scope: str
    prompt: str
    created_at: float
    expires_at: float | None = None
    cleared_at: float | None = None

    def live(self, now: float) -> bool:
        return self.cleared_at is None and (self.expires_at is None or now < self.expires_at)


def parse_scope(text: str) -> Scope:
    """`line:+302101234567`, `brand:acme`, `queue:billing` or `global`."""
    kind, colon, value = text.partition(":")
    if kind not in NOTICE_SCOPES:
        raise NoticeError(f"bad notice scope {_shown(text)}: expected {SCOPE_HINT}")
    if kind == "global":
        if colon:
            raise NoticeError(f"bad notice scope {_shown(text)}: global takes no value")
        return Scope("global")
    pattern = _LINE if kind == "line" else NAME
    if not value or len(value) > _MAX_NAME or not pattern.fullmatch(value):
        what = "a dialled number" if kind == "line" else "a name (letters, digits, _ and -)"
        raise NoticeError(f"bad notice scope {_shown(text)}: {kind}: wants {what}")
    return Scope(kind, value)


def check_prompt_id(prompt: str) -> str:
    if len(prompt) > _MAX_PROMPT or not _PROMPT.fullmatch(prompt):
        raise NoticeError(f"bad prompt {_shown(prompt)}: expected {PROMPT_HINT}")
    return prompt


def expiry(now: float, tz: tzinfo, *, until: str | None = None, lasting: str | None = None) -> float | None:
    """When a notice set at `now` ends: None (until cleared), `lasting` a
    duration from now (`2h`, `90m`), or `until` a wall-clock time in `tz`
    (the rules' time zone): `HH:MM` is the next such moment, today's if it
    is still ahead, else tomorrow's; `YYYY-MM-DD HH:MM` must be ahead."""
    if until is not None and lasting is not None:
        raise NoticeError("give an end time or a duration, not both")
    if lasting is not None:
        # A bare number is seconds, as in the rules (where YAML makes it a number).
        duration = seconds(int(lasting) if lasting.isascii() and lasting.isdigit() and len(lasting) < 12 else lasting)
        if duration is None:
            raise NoticeError(f"bad duration {_shown(lasting)}: expected {DURATION_HINT}")
        return now + duration
    if until is None:
        return None
    text = until.strip()
    local_now = datetime.fromtimestamp(now, tz)
    clock = _CLOCK.fullmatch(text)
    if clock:
        end = _at(local_now.date(), int(clock[1]), int(clock[2]), tz)
        if end.timestamp() <= now:
            end = _at(local_now.date() + timedelta(days=1), int(clock[1]), int(clock[2]), tz)
        return end.timestamp()
    day, _, clock_text = text.replace("T", " ").partition(" ")
    clock = _CLOCK.fullmatch(clock_text.strip())
    try:
        end = _at(date.fromisoformat(day), int(clock[1]), int(clock[2]), tz) if clock else None
    except ValueError:
        end = None
    if end is None:
        raise NoticeError(f"bad end time {_shown(until)}: expected {UNTIL_HINT}")
    if end.timestamp() <= now:
        raise NoticeError(f"end time {_shown(until)} has passed ({local_now:%Y-%m-%d %H:%M} now, {tz})")
    return end.timestamp()


def _at(day: date, hour: int, minute: int, tz: tzinfo) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz)


def heard(notices: Mapping[str, Notice], key: str, now: float) -> str | None:
    """The prompt a call reaching a `notice:` step that renders `key` hears
    at `now`, or None: the one notice of that scope, if it is live."""
    notice = notices.get(key)
    return notice.prompt if notice is not None and notice.live(now) else None


class NoticeBoard:
    """The notices in force, one per scope key: a call's lookup is one dict access."""

    def __init__(self) -> None:
        self._by_scope: dict[str, Notice] = {}
        self._cleared: dict[str, int] = {}
        """Per scope, the highest id cleared: news of it switched on is late."""

    def put(self, notice: Notice) -> Notice | None:
        """Switch `notice` on; returns the one of its scope it replaces, if
        any.  The store's ids say the order, whatever order the news of two
        changes arrives in: a notice never replaces a newer one (a higher
        id), nor comes back after its clearing."""
        current = self._by_scope.get(notice.scope)
        if (current is not None and current.id > notice.id) or self._cleared.get(notice.scope, 0) >= notice.id:
            return None
        self._by_scope[notice.scope] = notice
        return current

    def remove(self, notice: Notice) -> None:
        self._cleared[notice.scope] = max(self._cleared.get(notice.scope, 0), notice.id)
        if self._by_scope.get(notice.scope, notice).id == notice.id:
            self._by_scope.pop(notice.scope, None)

    def prompt_for(self, key: str, now: float) -> str | None:
        """What `CallMachine` asks at a `notice:` step (see `heard`)."""
        return heard(self._by_scope, key, now)

    def live(self, now: float) -> list[Notice]:
        """The notices callers would hear at `now`, oldest first; expired ones are dropped."""
        for notice in [n for n in self._by_scope.values() if not n.live(now)]:
            self.remove(notice)
        return sorted(self._by_scope.values(), key=lambda n: n.id)


def check_scope_in_plan(scope: Scope, plan: p.Plan) -> list[str]:
    """Against the running rules: an unknown queue is refused (NoticeError);
    returns warnings for a notice nobody would hear (no `notice:` step of
    its scope) or a line or brand the rules do not name."""
    if scope.kind == "queue" and scope.value not in plan.queues:
        raise NoticeError(f'no queue "{scope.value}" in the rules (queues: {", ".join(sorted(plan.queues))})')
    # What the steps listen for: "line" and "brand" (their keys take the call's
    # number or brand), "queue:NAME" and "global" (fixed keys).
    steps = {node.step.key.source for node in plan.nodes.values() if isinstance(node.step, p.Notice)}
    heard_by = {source.partition(":")[0] if "{" in source else source for source in steps}
    warnings = []
    if (scope.kind if scope.kind in ("line", "brand") else scope.key) not in heard_by:
        warnings.append(f"no notice: step of the rules plays {scope.kind} notices"
                        f"{' for queue ' + scope.value if scope.kind == 'queue' else ''}: nobody will hear it")
    if scope.kind == "line" and scope.value not in plan.lines:
        warnings.append(f"the rules have no line {scope.value} (heard only if a route takes calls to it)")
    if scope.kind == "brand" and scope.value not in plan.known.get("brand", ()):
        warnings.append(f'the rules give no call brand "{scope.value}"')
    return warnings


def _shown(text: str) -> str:
    """Operator input quoted for a one-line message: control characters escaped, length capped."""
    return repr(text[:80] + ("…" if len(text) > 80 else ""))
