"""What the rules compiler hands the ACD: agent and queue specs, and the enums.

Specs are frozen values: a compiled plan is shared by everything that runs,
and a reload replaces whole specs instead of editing them.  Runtime facts (an
agent's state, who is waiting) live in the ACD, never here.  Each spec checks
itself when built, so a bad one fails at compile time with a message naming
the agent or queue and the field, not later in the middle of a call.

Times are float seconds, skill levels integers 1–10.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

from fsrouter.acd.errors import SpecError

MIN_LEVEL = 1
MAX_LEVEL = 10


class AgentState(StrEnum):
    LOGGED_OUT = "logged_out"
    AVAILABLE = "available"
    RESERVED = "reserved"
    RINGING = "ringing"
    ON_CALL = "on_call"
    WRAP_UP = "wrap_up"
    PAUSED = "paused"


class Strategy(StrEnum):
    """Which of the agents able to take a call gets it (see `strategies.py`)."""

    LONGEST_IDLE = "longest_idle"
    MOST_SKILLED = "most_skilled"
    FEWEST_CALLS = "fewest_calls"
    LEAST_TALK_TIME = "least_talk_time"
    ROUND_ROBIN = "round_robin"


class MissReason(StrEnum):
    """Why an offered agent did not take the call."""

    NO_ANSWER = "no_answer"
    BUSY = "busy"
    REJECTED = "rejected"
    FAILED = "failed"
    LOST = "lost"
    """The connection to FreeSWITCH was lost while the agent was being offered
    the call: not the agent's doing."""

    @property
    def is_agents_doing(self) -> bool:
        """Whether the miss is held against the agent (delay, misses in a row,
        back of the line); a lost connection is not."""
        return self is not MissReason.LOST


def _levels(owner: str, levels: Mapping[str, int]) -> Mapping[str, int]:
    """Check skill levels and freeze them (a read-only view of a private copy)."""
    for skill, level in levels.items():
        if not isinstance(skill, str) or not skill:
            raise SpecError(f"{owner}: skill names must be non-empty strings, got {skill!r}")
        if isinstance(level, bool) or not isinstance(level, int) or not MIN_LEVEL <= level <= MAX_LEVEL:
            raise SpecError(
                f"{owner}: level of skill {skill!r} must be an integer "
                f"{MIN_LEVEL}-{MAX_LEVEL}, got {level!r}"
            )
    return MappingProxyType(dict(levels))


def _non_negative(owner: str, **values: float) -> None:
    for name, value in values.items():
        if value < 0:
            raise SpecError(f"{owner}: {name} must not be negative, got {value!r}")


@dataclass(frozen=True)
class AgentPolicy:
    """Timings that protect callers from absent agents and agents from overload.

    After a miss the agent is not offered anything for the delay that goes
    with the reason (as mod_callcenter's *_delay_time); after `max_misses`
    consecutive misses the agent is paused (0 disables auto-pause).  A miss
    that is not the agent's doing (`MissReason.LOST`) has no delay and is not
    counted.
    `ring_timeout` is what the IO layer gives the originate; the core also
    expires an unreported offer a few seconds after it, so an agent can never
    be stuck reserved by a lost report.
    """

    wrap_up: float = 10.0
    ring_timeout: float = 20.0
    no_answer_delay: float = 30.0
    busy_delay: float = 60.0
    reject_delay: float = 30.0
    failed_delay: float = 60.0
    max_misses: int = 3

    def __post_init__(self) -> None:
        _non_negative(
            "agent policy",
            wrap_up=self.wrap_up,
            no_answer_delay=self.no_answer_delay,
            busy_delay=self.busy_delay,
            reject_delay=self.reject_delay,
            failed_delay=self.failed_delay,
            max_misses=self.max_misses,
        )
        if self.ring_timeout <= 0:
            raise SpecError(f"agent policy: ring_timeout must be positive, got {self.ring_timeout!r}")

    def delay_after(self, reason: MissReason) -> float:
        return {
            MissReason.NO_ANSWER: self.no_answer_delay,
            MissReason.BUSY: self.busy_delay,
            MissReason.REJECTED: self.reject_delay,
            MissReason.FAILED: self.failed_delay,
            MissReason.LOST: 0.0,
        }[reason]


@dataclass(frozen=True)
class AgentSpec:
    """An agent as declared: who, how to ring them, what they know."""

    id: str
    name: str
    dial: str
    skills: Mapping[str, int]
    policy: AgentPolicy = AgentPolicy()

    def __post_init__(self) -> None:
        if not self.id:
            raise SpecError("agent: id must not be empty")
        if not self.dial:
            raise SpecError(f"agent {self.id!r}: dial string must not be empty")
        object.__setattr__(self, "skills", _levels(f"agent {self.id!r}", self.skills))


@dataclass(frozen=True)
class RelaxStep:
    """From `after` seconds of waiting on, accept more agents.

    `require` lowers levels of skills the queue requires, `drop` stops
    requiring skills, `add_queue` also accepts any agent who qualifies for
    that queue's own (unrelaxed) requirement: Asterisk penalty rules and
    TaskRouter workflow steps in one shape.  Steps are cumulative and may only
    relax, so a caller never loses an agent by waiting longer.
    """

    after: float
    require: Mapping[str, int] = field(default_factory=dict)
    drop: frozenset[str] = frozenset()
    add_queue: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "require", _levels("relax step", self.require))
        object.__setattr__(self, "drop", frozenset(self.drop))
        if self.after <= 0:
            raise SpecError(f"relax step: after must be positive, got {self.after!r}")
        if not (self.require or self.drop or self.add_queue):
            raise SpecError(f"relax step after {self.after}s relaxes nothing")


@dataclass(frozen=True)
class EwtPolicy:
    """How the estimated wait is computed and worded (see `ewt.py`).

    The estimate uses the `quantile` of the last `window` handle times and is
    withheld until `min_samples` are known; past `cap_minutes` it is worded
    "more than N minutes".
    """

    window: int = 50
    quantile: float = 0.8
    min_samples: int = 5
    cap_minutes: int = 20

    def __post_init__(self) -> None:
        if not 0 < self.quantile <= 1:
            raise SpecError(f"ewt: quantile must be in (0, 1], got {self.quantile!r}")
        if not 1 <= self.min_samples <= self.window:
            raise SpecError(f"ewt: need 1 <= min_samples <= window, got {self.min_samples}, {self.window}")
        if self.cap_minutes < 1:
            raise SpecError(f"ewt: cap_minutes must be at least 1, got {self.cap_minutes!r}")


@dataclass(frozen=True)
class QueueSpec:
    """A queue as declared.

    Priority is a time credit: priority P orders the entry as if it had
    arrived `credit_seconds(P)` earlier, so "VIP" means "counts as having
    waited 5 more minutes", which a supervisor can reason about, and a VIP
    never starves a caller who has waited far longer.

    `max_wait` is counted from joining this queue; reaching it sends the entry
    to `max_wait_destination` (an opaque reference the flow resolves).
    `join_empty=False` refuses entries while no agent who could ever take them
    is serving; `leave_when_empty=True` sends waiting entries away when the
    last such agent stops serving.  Both go to `empty_destination`, or to the
    max-wait destination when none is given.  `exit_key` is only carried for
    the flow.
    """

    name: str
    require: Mapping[str, int]
    max_wait: float
    max_wait_destination: str
    strategy: Strategy = Strategy.LONGEST_IDLE
    relax: tuple[RelaxStep, ...] = ()
    credit_per_priority: float = 60.0
    join_empty: bool = True
    leave_when_empty: bool = False
    empty_destination: str | None = None
    exit_key: str | None = None
    ewt: EwtPolicy = EwtPolicy()

    def __post_init__(self) -> None:
        owner = f"queue {self.name!r}"
        if not self.name:
            raise SpecError("queue: name must not be empty")
        object.__setattr__(self, "require", _levels(owner, self.require))
        object.__setattr__(self, "relax", tuple(self.relax))
        object.__setattr__(self, "strategy", Strategy(self.strategy))
        if self.max_wait <= 0:
            raise SpecError(f"{owner}: max_wait must be positive, got {self.max_wait!r}")
        if not self.max_wait_destination:
            raise SpecError(f"{owner}: max_wait_destination must not be empty")
        _non_negative(owner, credit_per_priority=self.credit_per_priority)
        _check_relaxes(owner, self.require, self.relax, self.name)

    @property
    def leave_destination(self) -> str:
        """Where entries go when the queue is (or becomes) empty of agents."""
        return self.empty_destination or self.max_wait_destination

    def credit_seconds(self, priority: int) -> float:
        return priority * self.credit_per_priority


def _check_relaxes(owner: str, require: Mapping[str, int], steps: Iterable[RelaxStep], name: str) -> None:
    """Refuse steps that are out of order or would tighten the requirement."""
    current = dict(require)
    previous = 0.0
    for number, step in enumerate(steps, 1):
        where = f"{owner}: relax step {number} (after {step.after}s)"
        if step.after <= previous:
            raise SpecError(f"{where}: steps must come in increasing 'after' order")
        previous = step.after
        for skill, level in step.require.items():
            if skill not in current:
                raise SpecError(f"{where}: {skill!r} is not required at this point, so it cannot be relaxed")
            if level > current[skill]:
                raise SpecError(f"{where}: raises {skill!r} from {current[skill]} to {level}; steps may only relax")
            current[skill] = level
        for skill in step.drop:
            if skill not in current:
                raise SpecError(f"{where}: drops {skill!r}, which is not required at this point")
            if skill in step.require:
                raise SpecError(f"{where}: both lowers and drops {skill!r}")
            del current[skill]
        if step.add_queue == name:
            raise SpecError(f"{where}: add_queue names the queue itself")
