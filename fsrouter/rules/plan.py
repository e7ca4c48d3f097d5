"""The compiled plan: immutable routing data shared by every call.

Rules compile once into a `Plan`; each call keeps only its own state and
variables, so a reload swaps the plan for new calls while calls in progress
finish on theirs.  Everything here is frozen (dataclasses, tuples,
`MappingProxyType`) and does no IO; the time comes in as an argument.

Flows are compiled into a graph of `Node`s.  Each node holds a step (what
to do on entry) and `edges`, the transition table: outcome -> next node id.
The call machine moves only along these edges and `fsrouter graph` draws
exactly these edges, so the picture is the behaviour.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, tzinfo
from types import MappingProxyType
from typing import ClassVar

from ..callback_numbers import NumberPolicy
from ..figures import DEFAULT_TARGET
from .predicates import Context, Moment, Predicate
from .problems import Position, Problem
from .templates import Template

# Outcomes: the edge labels.  Menu keys ("1", "*", ...) are outcomes too.
DONE = "done"  # a play (or notice) finished, or failed and was skipped
NEXT = "next"  # an instant step (set, goto, notice with nothing to say) is done
THEN = "then"
ELSE = "else"
INVALID = "invalid"  # a wrong key, retries left: play on_invalid.prompt, ask again
TOO_MANY_INVALID = "too_many_invalid"
TIMEOUT = "timeout"  # nothing keyed, retries left
TOO_MANY_TIMEOUTS = "too_many_timeouts"


CALLER_LANGUAGE = "caller_language"
"""The call variable holding the language the dialplan says the caller speaks."""


def frozen_map(items: Mapping) -> Mapping:
    return MappingProxyType(dict(items))


@dataclass(frozen=True)
class Play:
    sounds: tuple[Template, ...]
    terminal: ClassVar[bool] = False
    instant: ClassVar[bool] = False

    def describe(self) -> str:
        return "play " + ", ".join(map(str, self.sounds))


@dataclass(frozen=True)
class Menu:
    """Ask for DTMF once per visit; key outcomes are the edges that are DTMF keys."""

    prompt: Template
    invalid_retries: int
    timeout_retries: int
    timeout_ms: int
    max_digits: int
    terminators: str
    terminal: ClassVar[bool] = False
    instant: ClassVar[bool] = False

    def describe(self) -> str:
        return f"menu {self.prompt}"


@dataclass(frozen=True)
class SetVars:
    values: Mapping[str, Template]
    terminal: ClassVar[bool] = False
    instant: ClassVar[bool] = True

    def describe(self) -> str:
        return "set " + ", ".join(f"{k}={v}" for k, v in self.values.items())


@dataclass(frozen=True)
class Goto:
    target: str
    terminal: ClassVar[bool] = False
    instant: ClassVar[bool] = True

    def describe(self) -> str:
        return f"goto {self.target}"


@dataclass(frozen=True)
class Condition:
    test: Predicate
    terminal: ClassVar[bool] = False
    instant: ClassVar[bool] = True

    def describe(self) -> str:
        return f"if {self.test.describe()}"


@dataclass(frozen=True)
class Notice:
    """Play the supervisor's notice for `key` (e.g. "line:+302101234567"), if any."""

    key: Template
    terminal: ClassVar[bool] = False
    instant: ClassVar[bool] = True

    def describe(self) -> str:
        return f"notice {self.key}"


@dataclass(frozen=True)
class Transfer:
    extension: str
    context: str
    dialplan: str
    terminal: ClassVar[bool] = True
    instant: ClassVar[bool] = False

    def describe(self) -> str:
        return f"transfer {self.extension} {self.dialplan} {self.context}"


@dataclass(frozen=True)
class Hangup:
    cause: str
    terminal: ClassVar[bool] = True
    instant: ClassVar[bool] = False

    def describe(self) -> str:
        return f"hangup {self.cause}"


@dataclass(frozen=True)
class Enqueue:
    """Hand the call to the ACD for queue `queue`; the flow ends here."""

    queue: str
    terminal: ClassVar[bool] = True
    instant: ClassVar[bool] = False

    def describe(self) -> str:
        return f"queue {self.queue}"


@dataclass(frozen=True)
class AgentDesk:
    """An agent's feature code: log the calling agent in or out, or pause or
    unpause them (`rules.agent_step`), then say what happened.

    `ask` is the prompt asking for the agent id (None: identified by caller
    id), `pin` the one asking for the PIN (None: none asked); `reason` is
    the pause reason."""

    action: str
    reason: str = ""
    ask: Template | None = None
    pin: Template | None = None
    terminal: ClassVar[bool] = False
    instant: ClassVar[bool] = False

    def describe(self) -> str:
        return f"agent {self.action}"


Step = Play | Menu | SetVars | Goto | Condition | Notice | Transfer | Hangup | Enqueue | AgentDesk


@dataclass(frozen=True)
class Node:
    """One state of a flow.  `edges[outcome]` is the next node id.

    `flow` is the flow the step was written in (or "queue:NAME" for a
    queue's destinations).  An edge is None only in a plan the checker has
    rejected (a dead end); a plan returned by the compiler has none.
    """

    id: str
    flow: str
    step: Step
    edges: Mapping[str, str | None]
    pos: Position


@dataclass(frozen=True)
class Settings:
    timezone: str
    tz: tzinfo
    language: str
    holidays: Mapping[str, frozenset[date]]
    #: Agents' `login:` when they do not say: "manual" (start logged out) or "auto".
    agent_login: str = "manual"


@dataclass(frozen=True)
class Line:
    """A dialled number: who answers (brand), in what language, with which flow.

    `region` is the country whose national numbers callers on this line key
    (a callback number without its country code): the line's `region`, else
    the country of its own E.164 number, else None (the queue's then)."""

    number: str
    brand: str | None
    language: str | None
    flow: str | None
    values: Mapping[str, Template]
    pos: Position
    record: RecordSettings | None = None
    region: str | None = None


@dataclass(frozen=True)
class Route:
    """`match` is None for the default route."""

    name: str
    match: Predicate | None
    flow: str
    values: Mapping[str, Template]
    pos: Position
    record: RecordSettings | None = None


@dataclass(frozen=True)
class AnnounceSettings:
    """When a queued caller is told their position (and, every `wait_every`
    seconds, the estimated wait): first after `first` seconds, then every
    `every` seconds, while the position is at most `up_to`.  `exit` is the
    prompt that names the queue's exit keys, said in each announcement."""

    first: float = 15.0
    every: float = 45.0
    up_to: int = 20
    wait_every: float | None = None
    exit: Template | None = None


@dataclass(frozen=True)
class CallbackSettings:
    """A queue's callback offer and how its callbacks are dialled.

    The offer is made in an announcement once the estimated wait is over
    `offer_wait_over` seconds or the position over `offer_position_over`
    (None: that test is off).  `policy` decides which numbers may be
    dialled.  The first attempt may be made `dial_after` seconds after
    booking, not sooner: a callback whose place is at the head of the line
    would otherwise ring the customer while they are still on the line
    hearing that it is booked.  A callback is tried `attempts` times,
    `retry_every` seconds apart; `dial` is the dial string (`{number}` is
    the E.164 number), `caller_id` the number the customer sees (by default
    the line they called), `whisper` what the agent hears first and `intro`
    what the customer hears on answering.  With a `window` (tests like a
    route's `match`, e.g. days and hours, in the rules' time zone), callbacks
    are dialled only while it holds; outside it they keep their place and wait.
    """

    policy: NumberPolicy
    key: str = "1"
    offer_wait_over: float | None = None
    offer_position_over: int | None = None
    attempts: int = 3
    retry_every: float = 300.0
    dial_after: float = 15.0
    dial: Template = Template.parse("sofia/gateway/default/{number}")
    caller_id: Template = Template.parse("{destination_number}")
    whisper: Template = Template.parse("Callback for {number}, waited {waited}")
    intro: Template = Template.parse("callback/intro")
    window: Predicate | None = None


DEFAULT_MUSIC = "local_stream://moh"
"""What a queued caller hears unless the queue says otherwise: FreeSWITCH's
shared music-on-hold stream (its vanilla `hold_music`)."""


@dataclass(frozen=True)
class RecordSettings:
    """Record the bridged call (`record_session` on the caller's leg) into
    `path`, a template of an absolute file path (`{date}`, `{queue}`,
    `{uuid}` and call variables, each made safe when rendered);
    `announce` is said before the caller joins the queue; a caller who
    keys `opt_out_key` during it or while waiting is not recorded."""

    path: Template
    announce: Template | None = None
    opt_out_key: str | None = None


STRATEGIES = ("longest_idle", "most_skilled", "fewest_calls", "least_talk_time", "round_robin")
"""How the ACD picks among the agents able to take a call (`acd.model.Strategy`;
a test keeps the two lists equal)."""


@dataclass(frozen=True)
class RelaxRule:
    """A queue's `relax` step as written: from `after` seconds of waiting on,
    accept the lower levels in `require` and/or the agents of `add_queue`.
    `rules.skill_layout` turns the steps into what the ACD runs."""

    after: float
    require: Mapping[str, int] = field(default_factory=lambda: frozen_map({}))
    add_queue: str | None = None


@dataclass(frozen=True)
class Queue:
    """A queue as far as the rules define it.

    `max_wait_then` and `no_agents` are entry node ids of compiled
    destinations.  `announce`, `whisper` and `callback` are compiled once
    here for the call machine and the IO layer; `require` (skill name, a
    template, -> level 1-10), `relax`, `strategy` (one of `STRATEGIES`) and
    `priority` (0-100) are what the ACD maps (`acd.from_plan`), checked so
    that the mapping cannot fail.
    """

    name: str
    title: str
    max_wait: float
    max_wait_then: str
    no_agents: str | None
    pos: Position
    require: Mapping[str, int] = field(default_factory=lambda: frozen_map({}))
    relax: tuple[RelaxRule, ...] = ()
    strategy: str = STRATEGIES[0]
    priority: int = 0
    announce: AnnounceSettings | None = None
    whisper: Template | None = None
    callback: CallbackSettings | None = None
    music: str = DEFAULT_MUSIC
    """A `local_stream://` stream, or a file (absolute, or a prompt id) played in a loop."""
    exits: Mapping[str, str] = field(default_factory=lambda: frozen_map({}))
    """DTMF key -> entry node id of where a waiting caller who keys it goes."""
    record: RecordSettings | None = None
    transfer: TransferSettings | None = None
    survey: SurveySettings | None = None
    #: Seconds within which an answer counts for the service level (reports, wallboard).
    service_level: float = DEFAULT_TARGET
    whispers: Mapping[str, Template] = field(default_factory=lambda: frozen_map({}))
    """The whisper per agent language, when the rules give one per language."""


@dataclass(frozen=True)
class TransferCode:
    """Where an agent's `*<key>` sends the caller, the reason the next whisper
    says, and whether the agent stays on until the next one answers."""

    queue: str
    reason: str
    attended: bool = False


@dataclass(frozen=True)
class TransferSettings:
    """A queue's warm transfers (rules/afterbridge.py): the agent's feature
    codes, the cap on transfers per call and the queue a call over it goes
    to instead, and whether a transferred caller keeps their first arrival
    (by default they wait from the transfer)."""

    codes: Mapping[str, TransferCode]
    max_transfers: int = 3
    over_cap: str | None = None
    keep_arrival: bool = False


@dataclass(frozen=True)
class SurveySettings:
    """A queue's post-call survey: played when the agent hangs up first; each
    question takes one of `keys`, asked again once after a wrong key or none."""

    prompt: Template
    second: Template | None = None
    keys: str = "12345"
    thanks: Template | None = None


@dataclass(frozen=True)
class Agent:
    id: str
    name: str
    dial: str
    skills: Mapping[str, int]
    #: Seconds after a call before the next offer; None: the ACD's default.
    wrap_up: float | None = None
    #: The number the agent's desk phone calls from, for feature codes
    #: (`agent:` steps identifying by caller id); None: the dial string's user.
    caller_id: str | None = None
    #: Digits the agent keys after their id at an `agent:` step that asks.
    pin: str | None = None
    #: Logged in when the service starts and nothing is stored for the agent.
    auto_login: bool = False
    #: The language the agent hears whispers in; None: the rules' default.
    language: str | None = None


@dataclass(frozen=True)
class RouteDecision:
    """Where a new call goes.

    `variables` are all the call's variables (channel ones plus those the
    rules set); `exported` only those the rules set.  `flow` is None when no
    line, route or default route applies: the call is refused.
    """

    flow: str | None
    variables: Mapping[str, str]
    exported: Mapping[str, str]
    line: str | None
    route: str | None
    record: RecordSettings | None = None
    """The route's `record`, else the line's (a queue's own comes first)."""


@dataclass(frozen=True)
class Plan:
    settings: Settings
    lines: Mapping[str, Line]
    routes: tuple[Route, ...]
    default_route: Route | None
    flows: Mapping[str, str]
    """Flow name -> id of its first node."""
    nodes: Mapping[str, Node]
    queues: Mapping[str, Queue]
    agents: Mapping[str, Agent]
    known: Mapping[str, frozenset[str]] = field(default_factory=lambda: frozen_map({}))
    """The literal values each variable is known to take (lines, routes,
    `set`; `language` includes the default): what the runtime checks an
    operator's input against (a notice's brand, its prompt's languages)."""
    warnings: tuple[Problem, ...] = ()
    entry_languages: Mapping[tuple[str, str], frozenset[str]] = field(default_factory=lambda: frozen_map({}))
    """("line", number) or ("route", name) -> the languages a call entering
    there can speak (`rules.route_languages`): the only ones a caller's own
    language may switch it to, since `check` verified their prompts."""

    def context(self, variables: Mapping[str, str], now: float) -> Context:
        return Context(variables, Moment.at(now, self.settings.tz), self.settings.holidays)

    def route(self, call_vars: Mapping[str, str], now: float) -> RouteDecision:
        """Choose the entry flow: first matching route, else the line's flow,
        else the default route."""
        variables = {"language": self.settings.language, **call_vars}
        exported: dict[str, str] = {}
        line = self.lines.get(call_vars.get("destination_number", ""))
        flow = chosen = None
        if line is not None:
            for name, value in (("brand", line.brand), ("language", line.language)):
                if value is not None:
                    variables[name] = exported[name] = value
            _assign(line.values, variables, exported)
            flow, chosen = line.flow, "line"
        ctx = self.context(variables, now)
        matched = next((r for r in self.routes if r.match and r.match.test(ctx)), None)
        if matched is None and flow is None:
            matched = self.default_route
        if matched is not None:
            _assign(matched.values, variables, exported)
            flow, chosen = matched.flow, matched.name
        entry = ("route", matched.name) if matched is not None else ("line", line.number) if line else None
        wanted = call_vars.get(CALLER_LANGUAGE)
        if wanted and wanted in self.entry_languages.get(entry, ()):
            variables["language"] = exported["language"] = wanted
        return RouteDecision(
            flow,
            frozen_map(variables),
            frozen_map(exported),
            line.number if line else None,
            chosen if flow else None,
            (matched.record if matched else None) or (line.record if line else None),
        )


def _assign(values: Mapping[str, Template], variables: dict, exported: dict) -> None:
    for name, template in values.items():
        variables[name] = exported[name] = template.render(variables)
