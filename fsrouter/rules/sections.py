"""Compile the top-level sections other than flows: settings, lines,
routes, queues and agents.  Rules may be split over several files; their
sections are merged here, and a name defined twice is an error that cites
both places.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from difflib import get_close_matches
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..callback_numbers import PolicyError, region_code
from . import plan
from .conditions import TestCompiler
from .flows import FlowCompiler
from .problems import Position
from .afterbridge import AfterBridge
from .agent_step import LOGIN_MODES, agent_desk_fields, login_mode, unique_caller_ids
from .media_settings import MediaSettings
from .queue_settings import QueueSettings, countries
from .shapes import NAME, Shapes
from .skill_layout import Issue, layout, skill_name_problem
from .skill_layout import fields as skill_fields
from .templates import Template
from .tree import Map, Node, Scalar, Seq

SECTIONS = ("settings", "lines", "routes", "flows", "queues", "agents")
SETTINGS_KEYS = ("timezone", "language", "holidays", "transfer", "agent_login")
"""`transfer` is every queue's default (`SectionCompiler.default_transfer`)."""
LINE_KEYS = ("brand", "language", "flow", "set", "record", "region")
ROUTE_KEYS = ("name", "match", "flow", "set", "record")
QUEUE_KEYS = (
    "name", "max_wait", "no_agents", "require", "relax", "strategy", "announce", "callback",
    "whisper", "priority", "music", "exit", "record", "transfer", "survey", "service_level",
)
RELAX_KEYS = ("after", "require", "add_queue")
AGENT_KEYS = ("name", "dial", "skills", "wrap_up", "caller_id", "pin", "login", "language")
DEFAULT_TIMEZONE = "UTC"
DEFAULT_LANGUAGE = "en"
DEFAULT_CALENDAR = "holidays"
_TZ_HINT = "a time zone name like Europe/Athens"
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DIAL_HINT = "a FreeSWITCH dial string like user/1001"
_SINGULAR = {"settings": "setting", "lines": "line", "flows": "flow", "queues": "queue", "agents": "agent"}

Entries = dict[str, tuple[Scalar, Node]]


@dataclass
class Sections:
    """The sections of all files, merged; each entry keeps its key node."""

    settings: Entries = field(default_factory=dict)
    lines: Entries = field(default_factory=dict)
    flows: Entries = field(default_factory=dict)
    queues: Entries = field(default_factory=dict)
    agents: Entries = field(default_factory=dict)
    routes: list[Node] = field(default_factory=list)


def merge(roots: list[Node], shapes: Shapes) -> Sections:
    merged = Sections()
    for root in roots:
        fields = shapes.fields(root, "the top level", SECTIONS)
        for name, node in (fields or {}).items():
            if isinstance(node, Scalar) and node.value is None:
                continue
            if name == "routes":
                merged.routes.extend(shapes.sequence(node, "routes", "a list of routes") or ())
                continue
            section = shapes.mapping(node, name, f"a mapping of {_SINGULAR[name]} names to definitions")
            entries: Entries = getattr(merged, name)
            for key, value in section.entries if section else ():
                if key.text in entries:
                    shapes.report.error(
                        key.pos,
                        f'duplicate {_SINGULAR[name]} "{key.text}" '
                        f"(first defined at {entries[key.text][0].pos})",
                    )
                else:
                    entries[key.text] = (key, value)
    return merged


def settings(entries: Entries, shapes: Shapes) -> plan.Settings:
    """Settings, with defaults standing in for missing or bad values."""
    merged = Map(tuple(entries.values()), Position("settings"))
    fields = shapes.fields(merged, "settings", SETTINGS_KEYS) or {}
    timezone, tz = DEFAULT_TIMEZONE, ZoneInfo(DEFAULT_TIMEZONE)
    if "timezone" in fields:
        name = shapes.text(fields["timezone"], "timezone", _TZ_HINT)
        try:
            if name is not None:
                timezone, tz = name, ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            shapes.report.error(fields["timezone"].pos, f'unknown time zone "{name}"', _TZ_HINT)
            timezone = DEFAULT_TIMEZONE
    language = DEFAULT_LANGUAGE
    if "language" in fields:
        language = shapes.name(fields["language"], "language") or DEFAULT_LANGUAGE
    holidays = _calendars(fields["holidays"], shapes) if "holidays" in fields else {}
    agent_login = login_mode(fields["agent_login"], shapes, "agent_login") if "agent_login" in fields else None
    return plan.Settings(timezone, tz, language, plan.frozen_map(holidays), agent_login or LOGIN_MODES[0])


def _calendars(node: Node, shapes: Shapes) -> dict[str, frozenset[date]]:
    """`holidays: [dates]` is one calendar; `holidays: {name: [dates]}` several."""
    if not isinstance(node, Map):
        return {DEFAULT_CALENDAR: _dates(node, shapes)}
    calendars = {}
    for key, value in node.entries:
        if NAME.fullmatch(key.text):
            calendars[key.text] = _dates(value, shapes)
        else:
            shapes.report.error(key.pos, f'bad calendar name "{key.text}"', "letters, digits, _ and -")
    return calendars


def _dates(node: Node, shapes: Shapes) -> frozenset[date]:
    days = set()
    for item in shapes.sequence(node, "holidays", "a list of dates YYYY-MM-DD") or ():
        text = shapes.text(item, "holiday date", "a date YYYY-MM-DD")
        try:
            if text is not None:
                if not _DATE.fullmatch(text):
                    raise ValueError(text)
                days.add(date.fromisoformat(text))
        except ValueError:
            shapes.report.error(item.pos, f'bad holiday date "{text}"', "a date YYYY-MM-DD")
    return frozenset(days)


@dataclass
class SectionCompiler:
    shapes: Shapes
    flows: FlowCompiler
    tests: TestCompiler
    flow_names: Mapping[str, object]
    queue_entries: list[str] = field(default_factory=list)
    """Entry ids of queue destinations (max_wait, no_agents): roots of the graph."""

    def flow_ref(self, node: Node) -> str | None:
        name = self.shapes.text(node, "flow", "a flow name")
        if name is not None and name not in self.flow_names:
            expected = "one of: " + ", ".join(sorted(self.flow_names)) if self.flow_names else "a flow under flows"
            self.shapes.report.error(node.pos, f'undefined flow "{name}"', expected)
            return None
        return name

    def values(self, fields: Mapping[str, Node]) -> Mapping[str, Template]:
        """The `set:` of a line or route."""
        if "set" not in fields:
            return plan.frozen_map({})
        m = self.shapes.mapping(fields["set"], "set", "a mapping of variable name to value")
        values = self.flows.assignments(m) if m is not None else None
        return plan.frozen_map(values or {})

    def lines(self, entries: Entries, default: plan.Route | None) -> dict[str, plan.Line]:
        lines = {}
        for number, (key, node) in entries.items():
            fields = self.shapes.fields(node, f'line "{number}"', LINE_KEYS)
            if fields is None:
                continue
            brand = self.shapes.name(fields["brand"], "brand") if "brand" in fields else None
            language = self.shapes.name(fields["language"], "language") if "language" in fields else None
            flow = self.flow_ref(fields["flow"]) if "flow" in fields else None
            for var, value in (("brand", brand), ("language", language)):
                if value is not None:
                    self.flows.known.setdefault(var, set()).add(value)
            record = self.record(fields, f'line "{number}" record')
            lines[number] = plan.Line(number, brand, language, flow, self.values(fields), key.pos, record,
                                      self.line_region(number, fields.get("region")))
            if "flow" not in fields and default is None:
                self.shapes.report.warning(
                    key.pos, f'line "{number}" has no flow and there is no default route',
                    "flow: NAME, or a route without match",
                )
        return lines

    def record(self, fields: Mapping[str, Node], what: str) -> plan.RecordSettings | None:
        """A line's or route's `record`, if any (None also when it is bad: reported)."""
        if "record" not in fields:
            return None
        return MediaSettings(self.shapes, self.flows.prompt).record(fields["record"], what)

    def line_region(self, number: str, node: Node | None) -> str | None:
        """The country whose national numbers this line's callers key: its
        `region`, else its own number's country (none for an extension)."""
        if node is None:
            found = countries([number])
            return next(iter(found)) if len(found) == 1 else None
        try:
            if not isinstance(node, Scalar):
                raise PolicyError("expected a region code")
            return region_code(node.value)
        except PolicyError as exc:
            self.shapes.report.error(node.pos, f"bad line region: {exc}", "a region code such as GB or GR")
            return None

    def routes(self, nodes: list[Node]) -> tuple[list[plan.Route], plan.Route | None]:
        """Routes in order, and the default route (the one without `match`)."""
        routes, default = [], None
        for index, node in enumerate(nodes, 1):
            fields = self.shapes.fields(node, "route", ROUTE_KEYS, required=("flow",))
            if not fields or "flow" not in fields:
                continue
            name = self.shapes.text(fields["name"], "route name") if "name" in fields else None
            match = self.tests.mapping(fields["match"], "match") if "match" in fields else None
            flow = self.flow_ref(fields["flow"])
            if flow is None or ("match" in fields and match is None):
                continue
            name = name or (f"route {index}" if match else "default")
            route = plan.Route(name, match, flow, self.values(fields), node.pos, self.record(fields, "route record"))
            if match is not None:
                routes.append(route)
            elif default is not None:
                self.shapes.report.error(
                    node.pos, f"a second default route (the first is at {default.pos})",
                    "one route without match",
                )
            else:
                default = route
        return routes, default

    def agents(self, entries: Entries, default_login: str = "manual") -> dict[str, plan.Agent]:
        """`default_login` is the settings' `agent_login`, for agents without `login:`."""
        agents = {}
        for agent_id, (key, node) in entries.items():
            if not agent_id.strip():
                self.shapes.report.error(key.pos, "an agent id must not be empty", 'an id such as "1001"')
            fields = self.shapes.fields(node, f'agent "{agent_id}"', AGENT_KEYS, required=("dial",))
            if fields is None or "dial" not in fields:
                continue
            name = self.shapes.text(fields["name"], "agent name") if "name" in fields else agent_id
            dial_template = self.shapes.dial(fields["dial"], "dial", _DIAL_HINT)
            dial = dial_template.source if dial_template is not None else None
            if dial_template is not None and dial_template.fields:
                self.shapes.bad(fields["dial"], "dial", _DIAL_HINT + ", without {variables}")
                dial = None
            skills = self.skills(fields["skills"], "skills", placeholders=False) if "skills" in fields else {}
            wrap_up = self.shapes.duration(fields["wrap_up"], "wrap_up") if "wrap_up" in fields else None
            language = self.shapes.name(fields["language"], "language") if "language" in fields else None
            desk = agent_desk_fields(fields, self.shapes, default_login)
            if name is not None and dial is not None and skills is not None and agent_id.strip() and desk is not None:
                agents[agent_id] = plan.Agent(agent_id, name, dial, plan.frozen_map(skills), wrap_up,
                                              language=language, **desk)
        unique_caller_ids(entries, agents, self.shapes)
        return agents

    def skills(self, node: Node, what: str, *, placeholders: bool) -> dict[str, int] | None:
        """Skill name -> level 1-10; {variables} in names only with `placeholders`."""
        m = self.shapes.mapping(node, what, "a mapping of skill name to level 1-10")
        if m is None:
            return None
        skills: dict[str, int] | None = {}
        for key, value in m.entries:
            level = self.shapes.integer(value, f'level of skill "{key.text}"', 1, 10)
            problem = skill_name_problem(key.text, placeholders=placeholders)
            if problem is not None:
                self.shapes.report.error(key.pos, f'bad skill name "{key.text}"', problem)
            if level is None or problem is not None:
                skills = None
            elif skills is not None:
                skills[key.text] = level
        return skills

    def queues(
        self, entries: Entries, agents: Mapping[str, plan.Agent], lines: Iterable[str],
    ) -> dict[str, plan.Queue]:
        """`lines` are the dialled numbers, whose country a callback policy
        may default to."""
        queues: dict[str, plan.Queue] = {}
        nodes: dict[str, Mapping[str, Node]] = {}
        held = {skill for agent in agents.values() for skill in agent.skills}
        settings = QueueSettings(self.shapes, self.flows.prompt, countries(lines), self.tests)
        for name, (key, node) in entries.items():
            if not NAME.fullmatch(name):
                self.shapes.report.error(key.pos, f'bad queue name "{name}"', "letters, digits, _ and -")
                continue
            fields = self.shapes.fields(node, f'queue "{name}"', QUEUE_KEYS, required=("max_wait",))
            if fields is None or "max_wait" not in fields:
                continue
            queue = self.queue(name, fields, key, settings)
            if queue is not None:
                queues[name] = queue
                nodes[name] = fields
            for skill_node in _required_skill_keys(fields):
                self.warn_unheld(skill_node, held)
        templated = {name for name, queue in queues.items() if skill_fields(queue)}
        for name, queue in queues.items():
            for issue in layout(queue, held, templated)[1]:
                self.shapes.report.error(_issue_node(nodes[name], issue, key=entries[name][0]).pos,
                                         f'queue "{name}": {issue.message}', issue.expected)
        return queues

    def queue(
        self, name: str, fields: Mapping[str, Node], key: Scalar, compiled: QueueSettings,
    ) -> plan.Queue | None:
        flow = f"queue:{name}"
        title = self.shapes.text(fields["name"], "queue name") if "name" in fields else name
        max_wait = self.shapes.fields(fields["max_wait"], "max_wait", ("after", "then"), ("after", "then"))
        if not max_wait or len(max_wait) < 2:
            return None
        after = self.shapes.duration(max_wait["after"], "max_wait after")
        then = self.flows.action(max_wait["then"], f"{flow}/max_wait", flow, None, "max_wait then")
        self.queue_entries.append(then)
        no_agents = None
        if "no_agents" in fields:
            no_agents = self.flows.action(fields["no_agents"], f"{flow}/no_agents", flow, None, "no_agents")
            self.queue_entries.append(no_agents)
        options = self.shapes.read(fields, {
            "require": ("require", lambda n: _frozen(self.skills(n, "require", placeholders=True))),
            "relax": ("relax", self.relax),
            "strategy": ("strategy", self.strategy),
            "priority": ("priority", lambda n: self.shapes.integer(n, "priority", 0, 100)),
            "service_level": ("service_level", lambda n: self.shapes.duration(n, "service_level")),
        })
        settings = self.shapes.read(fields, {
            "announce": ("announce", compiled.announce),
            "whisper": ("whisper", self.whisper),
            "callback": ("callback", compiled.callback),
            **self._after_bridge(),
        })
        media = self.queue_media(fields, flow, settings)
        if settings is not None and "whisper" in settings:
            settings["whisper"], settings["whispers"] = settings["whisper"]
        if settings and "callback" in settings and "announce" not in settings:
            self.shapes.report.warning(
                fields["callback"].pos, "the callback is never offered: the offer is made in the announcements",
                "announce: {position: {first: 15s, every: 45s}}",
            )
        if title is None or after is None or options is None or settings is None or media is None:
            return None
        return plan.Queue(name, title, after, then, no_agents, key.pos, **options, **settings, **media)

    def queue_media(self, fields: Mapping[str, Node], flow: str, settings: dict | None) -> dict | None:
        """`music`, `exit` and `record` (rules/media_settings.py); None if any is bad."""
        media = MediaSettings(self.shapes, self.flows.prompt)
        values = self.shapes.read(fields, {
            "music": ("music", media.music),
            "record": ("record", lambda n: media.record(n, "queue record")),
        })
        exits = media.exits(fields["exit"], flow, self.flows.action, self.queue_entries) if "exit" in fields else ({}, {})
        if values is None or exits is None:
            return None
        if media.clashes(exits[1], fields, (settings or {}).get("callback"), values.get("record")):
            return None
        announce = (settings or {}).get("announce")
        if announce is not None and announce.exit is not None and not exits[0]:
            self.shapes.report.error(fields["announce"].pos, "announce exit names exit keys the queue does not have",
                                     'exit: {"0": {goto: operator}}')
            return None
        return {**values, "exits": plan.frozen_map(exits[0])} if exits[0] else values

    def _after_bridge(self) -> dict:
        """The readers of `transfer` and `survey` (rules/afterbridge.py)."""
        after = self._after_bridge_reader()
        return {"transfer": ("transfer", after.transfer), "survey": ("survey", after.survey)}

    def _after_bridge_reader(self) -> AfterBridge:
        return AfterBridge(self.shapes, self.flows.queue_name, self.flows.prompt)

    def default_transfer(self, settings: Entries, queues: dict[str, plan.Queue]) -> dict[str, plan.Queue]:
        """`settings: {transfer: ...}` is the `transfer` of every queue that declares none."""
        if "transfer" not in settings:
            return queues
        default = self._after_bridge_reader().transfer(settings["transfer"][1])
        return {name: queue if queue.transfer is not None or default is None else replace(queue, transfer=default)
                for name, queue in queues.items()}

    def whisper(self, node: Node) -> tuple[Template, Mapping[str, Template]] | None:
        """A queue's `whisper`: one text, or a text per agent language
        (`{en: "...", ru: "..."}`, the first for agents of other languages):
        (the default text, the texts by language)."""
        if not isinstance(node, Map):
            text = self.shapes.template(node, "whisper")
            return None if text is None else (text, plan.frozen_map({}))
        if not node.entries:
            self.shapes.bad(node, "whisper", 'a text, or a text per language: {en: "...", ru: "..."}')
            return None
        texts = {key.text: (self.shapes.name(key, "whisper language"), self.shapes.template(value, "whisper"))
                 for key, value in node.entries}
        if any(None in pair for pair in texts.values()):
            return None
        return next(iter(texts.values()))[1], plan.frozen_map({lang: text for lang, (_, text) in texts.items()})

    def strategy(self, node: Node) -> str | None:
        name = self.shapes.text(node, "strategy", "one of: " + ", ".join(plan.STRATEGIES))
        if name is not None and name not in plan.STRATEGIES:
            close = get_close_matches(name, plan.STRATEGIES, n=1)
            hint = f' (did you mean "{close[0]}"?)' if close else ""
            self.shapes.report.error(node.pos, f'unknown strategy "{name}"{hint}',
                                     "one of: " + ", ".join(plan.STRATEGIES))
            return None
        return name

    def relax(self, node: Node) -> tuple[plan.RelaxRule, ...] | None:
        items = self.shapes.sequence(node, "relax", "a list of {after: 60s, require: {...}}")
        if items is None:
            return None
        steps = [self.relax_step(item) for item in items]
        return None if None in steps else tuple(steps)

    def relax_step(self, node: Node) -> plan.RelaxRule | None:
        fields = self.shapes.fields(node, "relax step", RELAX_KEYS, required=("after",))
        if not fields or "after" not in fields:
            return None
        step = self.shapes.read(fields, {
            "after": ("after", lambda n: self.shapes.duration(n, "relax after")),
            "require": ("require", lambda n: _frozen(self.skills(n, "require", placeholders=True))),
            "add_queue": ("add_queue", self.flows.queue_name),
        })
        return None if step is None else plan.RelaxRule(**step)

    def warn_unheld(self, skill: Scalar, held: set[str]) -> None:
        """Warn about a required skill no agent has (expanding {variables})."""
        if skill_name_problem(skill.text, placeholders=True) is not None:
            return  # reported as a bad skill name
        template = Template.parse(skill.text)
        if any(f not in self.flows.known for f in template.fields):
            return
        for name in template.expand(self.flows.known):
            if name not in held:
                self.shapes.report.warning(
                    skill.pos, f'no agent has the skill "{name}"', f"an agent with skills: {{{name}: N}}"
                )


def _frozen(skills: dict[str, int] | None) -> Mapping[str, int] | None:
    return None if skills is None else plan.frozen_map(skills)


def _issue_node(fields: Mapping[str, Node], issue: Issue, key: Scalar) -> Node:
    """Where a skill layout issue was written: the skill's key in its
    `require`, else the step's key it is about, else the step or the queue."""
    where: Node = key
    if issue.step is not None:
        relax = fields.get("relax")
        where = relax.items[issue.step] if isinstance(relax, Seq) else where
        if isinstance(where, Map):
            where = where.get(issue.key) or where
    elif "require" in fields:
        where = fields["require"]
    if isinstance(where, Map) and issue.skill is not None:
        where = next((k for k, _ in where.entries if k.text == issue.skill), where)
    return where


def _required_skill_keys(fields: Mapping[str, Node]) -> list[Scalar]:
    """Skill name nodes under `require` and `relax[].require`."""
    maps = [fields.get("require")]
    relax = fields.get("relax")
    if isinstance(relax, Seq):
        maps += [item.get("require") for item in relax.items if isinstance(item, Map)]
    return [key for m in maps if isinstance(m, Map) for key, _ in m.entries]
