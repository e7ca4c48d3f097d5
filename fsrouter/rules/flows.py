"""Compile flows (lists of steps) into nodes of the plan's graph.

Each step becomes a node whose edges say where every outcome leads.  A
step's `next`/`done` edge is the following step; the last step of an
action (a menu option, a `then`/`else`) continues after the menu or
condition that holds it; the last step of a flow continues nowhere, which
the analysis reports as a dead end unless it ends the call.

Node ids: `flow.N` for the N-th step of a flow; inside a step, `ID/KEY` for
a menu option, `ID/then`, `ID/else`, `ID/default`, `ID/invalid/then`,
`ID/timeout/then`; `ID/invalid` and `ID/timeout` are the re-prompt plays; an
action of several steps numbers them `BASE.1`, `BASE.2`...  A step may name
itself with `id:`, which replaces its generated id and can be a goto target.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from difflib import get_close_matches
from itertools import islice

from . import agent_step, plan
from .causes import Q850_CAUSES
from .conditions import TEST_KEYS, TestCompiler
from .problems import Position
from .shapes import Shapes
from .templates import VARIABLE, Template
from .tree import Map, Node, Scalar, Seq

STEP_KINDS = (
    "play", "menu", "set", "goto", "condition", "if", "transfer", "hangup", "notice", "queue", "agent",
)
MENU_KEYS = ("prompt", "options", "on_invalid", "on_timeout", "timeout", "digits", "default")
RETRY_KEYS = ("retries", "prompt", "then")
NOTICE_SCOPES = ("line", "brand", "queue", "global")
_CONDITIONS = ("condition", "if")
_BRANCHES = ("then", "else")
DEFAULT_RETRIES = 2
DEFAULT_MENU_TIMEOUT = 5.0

_DTMF = re.compile(r"[0-9*#]+")
_PROMPT = re.compile(r"[A-Za-z0-9_{}-]+(?:/[A-Za-z0-9_{}-]+)*")
MAX_PROMPT = 100
"""Longest prompt id: it becomes a path under the sounds directory, and file
names longer than 255 bytes cannot exist."""
_EXTENSION = re.compile(r"\S+")
PROMPT_HINT = "a sound id like menu/main (letters, digits, _ and -, separated by /; no language, rate or .wav)"
ACTION_HINT = "a step such as {transfer: operator}, a list of steps, or {goto: name}"


@dataclass
class Draft:
    """A node under construction; `step` is None where the step had errors."""

    id: str
    flow: str
    step: plan.Step | None
    edges: dict[str, str | None]
    pos: Position


@dataclass(frozen=True)
class PromptUse:
    template: Template
    pos: Position


@dataclass(frozen=True)
class _Source:
    """One step as written: its kind, its value, and its optional `id:`."""

    kind: str
    value: Node
    key: Scalar
    id_node: Node | None


@dataclass
class FlowCompiler:
    shapes: Shapes
    tests: TestCompiler
    queues: Collection[str]
    drafts: dict[str, Draft] = field(default_factory=dict)
    prompts: list[PromptUse] = field(default_factory=list)
    known: dict[str, set[str]] = field(default_factory=dict)
    """Literal values the rules give each variable, for checking templated prompts."""
    _names: dict[str, Position] = field(default_factory=dict)
    _targets: dict[str, str] = field(default_factory=dict)
    _gotos: list[tuple[Draft, Node, str]] = field(default_factory=list)

    def declare(self, name: str, pos: Position, target: str | None = None) -> bool:
        """Claim a goto name (a flow or a step id); duplicates are errors."""
        if name in self._names:
            self.shapes.report.error(
                pos, f'duplicate name "{name}" (first defined at {self._names[name]})',
                "flow names and step ids to be unique",
            )
            return False
        self._names[name] = pos
        if target is not None:
            self._targets[name] = target
        return True

    def flow(self, name: str, node: Node) -> str:
        """Compile a flow; returns the id of its first node."""
        items = self.shapes.sequence(node, f'flow "{name}"', "a list of steps")
        if not items:
            if items is not None:
                self.shapes.bad(node, f'flow "{name}"', "a list of steps")
            entry = self._broken(f"{name}.1", name, node.pos, [])
        else:
            ids = [f"{name}.{i}" for i in range(1, len(items) + 1)]
            entry = self._chain([self._one_step(item) for item in items], ids, name, None)
        self._targets[name] = entry
        return entry

    def action(self, node: Node, base: str, flow: str, cont: str | None, what: str) -> str:
        """Compile an action (one step, a mapping of steps, or a list of steps)."""
        if isinstance(node, Seq) and node.items:
            sources = [self._one_step(item) for item in node.items]
        elif isinstance(node, Map) and node.entries:
            sources = self._split(node)
        else:
            self.shapes.bad(node, what, ACTION_HINT)
            return self._broken(base, flow, node.pos, [cont])
        if len(sources) == 1:
            return self._chain(sources, [base], flow, cont)
        ids = [f"{base}.{i}" for i in range(1, len(sources) + 1)]
        return self._chain(sources, ids, flow, cont)

    def resolve_gotos(self) -> None:
        """Point every goto at the flow or step it names, now that all are known."""
        for draft, node, target in self._gotos:
            if target in self._targets:
                draft.edges[plan.NEXT] = self._targets[target]
            else:
                self.shapes.report.error(
                    node.pos, f'undefined goto target "{target}"',
                    "a flow or step id: " + ", ".join(sorted(self._targets)),
                )
                self._broken(draft.id, draft.flow, draft.pos, [])

    def _broken(self, node_id: str, flow: str, pos: Position, leads_to: list[str | None]) -> str:
        """A stand-in for a step with errors.  It counts as an end, and its
        edges reach what the step would have reached, so that one mistake is
        reported once and not again as dead ends or unreachable steps."""
        edges = {f"broken.{i}": target for i, target in enumerate(leads_to) if target is not None}
        self.drafts[node_id] = Draft(node_id, flow, None, edges, pos)
        return node_id

    def _one_step(self, node: Node) -> _Source | Position:
        """The step of a flow list item; its position if it is not one step."""
        if not isinstance(node, Map):
            self.shapes.bad(node, "step", "a mapping like {play: greeting/acme}")
            return node.pos
        sources = self._split(node)
        if len(sources) == 1:
            return sources[0]
        if all(isinstance(s, _Source) for s in sources):
            self.shapes.report.error(
                node.pos, "one step per list item, found " + " and ".join(s.kind for s in sources),
                "a separate '- ' item for each step",
            )
        return node.pos

    def _split(self, node: Map) -> list[_Source | Position]:
        """The steps of a mapping: usually one, plus an optional `id`, and for
        a condition its `then`/`else` written beside it."""
        id_node = node.get("id")
        branches = [(k, v) for k, v in node.entries if k.text in _BRANCHES]
        tested = [k for k, _ in node.entries if k.text in _CONDITIONS]
        sources: list[_Source | Position] = []
        for key, value in node.entries:
            if key.text == "id" or (tested and key.text in _BRANCHES):
                continue
            if key.text in _CONDITIONS and branches:
                value = self._with_branches(value, branches)
            if key.text in STEP_KINDS:
                sources.append(_Source(key.text, value, key, id_node))
            else:
                self.shapes.report.error(
                    key.pos, f'unknown step "{key.text}"', "one of: " + ", ".join(STEP_KINDS)
                )
                sources.append(key.pos)
        if not sources:
            self.shapes.report.error(node.pos, "no step here", "one of: " + ", ".join(STEP_KINDS))
            sources.append(node.pos)
        if id_node is not None and len(sources) > 1:
            self.shapes.report.error(id_node.pos, "an id names one step", "one step beside id")
        return sources

    def _with_branches(self, tests: Node, branches: list[tuple[Scalar, Node]]) -> Node:
        """`- if: {...}` with `then:`/`else:` beside it, as one mapping."""
        if not isinstance(tests, Map):
            return tests
        for key, _ in branches:
            if tests.get(key.text) is not None:
                self.shapes.report.error(key.pos, f'"{key.text}" given twice (also inside the condition)')
        return Map(tests.entries + tuple(branches), tests.pos)

    def _chain(
        self, sources: Sequence[_Source | Position], ids: Sequence[str], flow: str, cont: str | None
    ) -> str:
        """Compile steps back to front so each knows the id of the next."""
        nxt = cont
        for source, auto_id in reversed(list(zip(sources, ids))):
            nxt = self._step(source, auto_id, flow, nxt)
        return nxt

    def _step(self, source: _Source | Position, auto_id: str, flow: str, cont: str | None) -> str:
        if isinstance(source, Position):
            return self._broken(auto_id, flow, source, [cont])
        node_id = auto_id
        if source.id_node is not None:
            name = self.shapes.name(source.id_node, "id")
            if name is not None and self.declare(name, source.id_node.pos, name):
                node_id = name
        draft = Draft(node_id, flow, None, {}, source.key.pos)
        self.drafts[node_id] = draft
        before = len(self.drafts)  # drafts keep their order: the step's inner ones come after
        compile_step = getattr(self, "_" + ("condition" if source.kind == "if" else source.kind))
        compiled = compile_step(source.value, draft, cont)
        if compiled is None:
            inner = list(islice(self.drafts, before, None))
            self._broken(node_id, flow, draft.pos, inner + [cont])
        else:
            draft.step, draft.edges = compiled
        return node_id

    # One method per step kind: (value node, draft, continuation) -> (step, edges).

    def _play(self, node: Node, draft: Draft, cont: str | None):
        items = self.shapes.items(node)
        sounds = [self.prompt(item, "play") for item in items]
        if not items or any(s is None for s in sounds):
            if not items:
                self.shapes.bad(node, "play", "a prompt or a list of prompts")
            return None
        return plan.Play(tuple(sounds)), {plan.DONE: cont}

    def _menu(self, node: Node, draft: Draft, cont: str | None):
        fields = self.shapes.fields(node, "menu", MENU_KEYS, required=("prompt", "options"))
        if fields is None or not {"prompt", "options"} <= fields.keys():
            return None
        prompt = self.prompt(fields["prompt"], "menu prompt")
        options = self.shapes.mapping(fields["options"], "options", "a mapping of DTMF keys to actions")
        edges: dict[str, str | None] = {}
        ok = prompt is not None and options is not None
        if options is not None and not options.entries:
            self.shapes.bad(options, "options", 'at least one DTMF key, e.g. "0": {transfer: operator}')
            ok = False
        for key, value in options.entries if options else ():
            if not _DTMF.fullmatch(key.text):
                self.shapes.report.error(
                    key.pos, f'bad menu key "{key.text}"', 'DTMF keys: digits 0-9, "*" and "#", quoted'
                )
                ok = False
                continue
            edges[key.text] = self.action(value, f"{draft.id}/{key.text}", draft.flow, cont, f'option "{key.text}"')
        longest = max(map(len, edges), default=1)
        digits = self.shapes.integer(fields["digits"], "digits", 1, 20) if "digits" in fields else longest
        if digits is not None and digits < longest:
            self.shapes.bad(fields["digits"], "digits", f"at least {longest}, the length of the longest key")
            digits = None
        timeout = self.shapes.duration(fields["timeout"], "timeout") if "timeout" in fields else DEFAULT_MENU_TIMEOUT
        default = None
        if "default" in fields:
            default = self.action(fields["default"], f"{draft.id}/default", draft.flow, cont, "default")
        retries = {}
        for kind, again, give_up in (
            ("invalid", plan.INVALID, plan.TOO_MANY_INVALID),
            ("timeout", plan.TIMEOUT, plan.TOO_MANY_TIMEOUTS),
        ):
            retry = self._retry(fields.get("on_" + kind), draft, kind, cont, default)
            if retry is None:
                ok = False
                continue
            retries[kind], reprompt, then = retry
            if retries[kind]:
                edges[again] = reprompt
            edges[give_up] = then
        if not ok or digits is None or timeout is None:
            return None
        step = plan.Menu(
            prompt, retries["invalid"], retries["timeout"], round(timeout * 1000), digits,
            "" if any("#" in key for key in edges if _DTMF.fullmatch(key)) else "#",
        )
        return step, edges

    def _retry(self, node: Node | None, menu: Draft, kind: str, cont: str | None, default: str | None):
        """on_invalid / on_timeout: (retries, re-prompt node id, give-up node id)."""
        what = "on_" + kind
        fields = {} if node is None else self.shapes.fields(node, what, RETRY_KEYS)
        if fields is None:
            return None
        retries = DEFAULT_RETRIES
        if "retries" in fields:
            retries = self.shapes.integer(fields["retries"], f"{what} retries", 0, 9)
        then = default
        if "then" in fields:
            then = self.action(fields["then"], f"{menu.id}/{kind}/then", menu.flow, cont, f"{what} then")
        reprompt = menu.id
        if "prompt" in fields:
            sound = self.prompt(fields["prompt"], f"{what} prompt")
            if sound is None or retries is None:
                return None
        if "prompt" in fields and retries:
            reprompt = f"{menu.id}/{kind}"
            self.drafts[reprompt] = Draft(
                reprompt, menu.flow, plan.Play((sound,)), {plan.DONE: menu.id}, fields["prompt"].pos
            )
        return None if retries is None else (retries, reprompt, then)

    def _set(self, node: Node, draft: Draft, cont: str | None):
        m = self.shapes.mapping(node, "set", "a mapping of variable name to value")
        values = self.assignments(m) if m is not None else None
        if not values:
            if m is not None and not m.entries:
                self.shapes.bad(node, "set", "a mapping of variable name to value")
            return None
        return plan.SetVars(plan.frozen_map(values)), {plan.NEXT: cont}

    def assignments(self, node: Map) -> dict[str, Template] | None:
        """Variable assignments (`set:` of steps, lines and routes)."""
        values: dict[str, Template] = {}
        ok = True
        for key, value in node.entries:
            if not VARIABLE.fullmatch(key.text):
                self.shapes.report.error(
                    key.pos, f'bad variable name "{key.text}"', "letters, digits and _, not starting with a digit"
                )
                ok = False
                continue
            template = self.shapes.template(value, key.text)
            if template is None:
                ok = False
                continue
            values[key.text] = template
            if not template.fields:
                self.known.setdefault(key.text, set()).add(template.source)
        return values if ok else None

    def _goto(self, node: Node, draft: Draft, cont: str | None):
        target = self.shapes.text(node, "goto", "a flow name or step id")
        if target is None:
            return None
        self._gotos.append((draft, node, target))
        return plan.Goto(target), {plan.NEXT: None}

    def _condition(self, node: Node, draft: Draft, cont: str | None):
        fields = self.shapes.fields(node, "condition", TEST_KEYS + ("then", "else"))
        if fields is None:
            return None
        branches = {k: fields.pop(k) for k in ("then", "else") if k in fields}
        test = self.tests.fields(fields, node, "condition")
        if not branches:
            self.shapes.report.error(node.pos, "condition without then or else", "then: or else: (or both)")
            return None
        edges = {
            outcome: self.action(branches[outcome], f"{draft.id}/{outcome}", draft.flow, cont, outcome)
            if outcome in branches else cont
            for outcome in (plan.THEN, plan.ELSE)
        }
        return None if test is None else (plan.Condition(test), edges)

    def _transfer(self, node: Node, draft: Draft, cont: str | None):
        hint = "an extension, or {extension: x, context: default, dialplan: XML}"
        if isinstance(node, Map):
            fields = self.shapes.fields(node, "transfer", ("extension", "context", "dialplan"), ("extension",))
            if fields is None or "extension" not in fields:
                return None
        else:
            fields = {"extension": node}
        values = {
            key: self.shapes.text(fields[key], key, hint) if key in fields else default
            for key, default in (("extension", None), ("context", "default"), ("dialplan", "XML"))
        }
        for key, value in values.items():
            if value is not None and not _EXTENSION.fullmatch(value):
                self.shapes.bad(fields[key], key, "text without spaces")
                return None
        if None in values.values():
            return None
        return plan.Transfer(values["extension"], values["context"], values["dialplan"]), {}

    def _hangup(self, node: Node, draft: Draft, cont: str | None):
        if isinstance(node, Map):
            fields = self.shapes.fields(node, "hangup", ("cause",))
            if fields is None:
                return None
            node = fields.get("cause", Scalar(None, "", node.pos))
        if isinstance(node, Scalar) and node.value is None:
            return plan.Hangup("NORMAL_CLEARING"), {}
        cause = self.shapes.text(node, "hangup cause", "a Q.850 cause name such as NORMAL_CLEARING")
        if cause is None:
            return None
        if cause.upper() not in Q850_CAUSES:
            examples = get_close_matches(cause.upper(), Q850_CAUSES, n=3) or Q850_CAUSES[:4]
            self.shapes.report.error(
                node.pos, f'unknown hangup cause "{cause}"',
                "a Q.850 cause name such as " + ", ".join(examples),
            )
            return None
        return plan.Hangup(cause.upper()), {}

    def _notice(self, node: Node, draft: Draft, cont: str | None):
        if isinstance(node, Map):
            fields = self.shapes.fields(node, "notice", ("scope", "queue"), ("scope",))
            if fields is None or "scope" not in fields:
                return None
        else:
            fields = {"scope": node}
        hint = "one of: " + ", ".join(NOTICE_SCOPES)
        scope = self.shapes.text(fields["scope"], "notice scope", hint)
        if scope is not None and scope not in NOTICE_SCOPES:
            self.shapes.bad(fields["scope"], "notice scope", hint)
            return None
        if scope == "queue":
            if "queue" not in fields:
                self.shapes.report.error(node.pos, "a queue notice needs the queue", "queue: NAME beside scope")
                return None
            name = self.queue_name(fields["queue"])
            key = None if name is None else f"queue:{name}"
        elif "queue" in fields:
            self.shapes.bad(fields["queue"], "notice queue", "scope: queue")
            return None
        else:
            key = {"line": "line:{destination_number}", "brand": "brand:{brand}", "global": "global"}.get(scope)
        if key is None:
            return None
        return plan.Notice(Template.parse(key)), {plan.NEXT: cont}

    def _queue(self, node: Node, draft: Draft, cont: str | None):
        if isinstance(node, Map):
            fields = self.shapes.fields(node, "queue", ("name",), ("name",))
            if fields is None or "name" not in fields:
                return None
            node = fields["name"]
        name = self.queue_name(node)
        return None if name is None else (plan.Enqueue(name), {})

    def _agent(self, node: Node, draft: Draft, cont: str | None):
        return agent_step.compile_step(self, node, draft, cont)

    def queue_name(self, node: Node) -> str | None:
        name = self.shapes.text(node, "queue", "a queue name")
        if name is not None and name not in self.queues:
            expected = "one of: " + ", ".join(sorted(self.queues)) if self.queues else "a queue defined under queues"
            self.shapes.report.error(node.pos, f'undefined queue "{name}"', expected)
            return None
        return name

    def prompt(self, node: Node, what: str) -> Template | None:
        template = self.shapes.template(node, what, PROMPT_HINT)
        if template is None:
            return None
        if len(template.source) > MAX_PROMPT:
            self.shapes.report.error(
                node.pos, f"prompt id too long: {len(template.source)} characters", f"at most {MAX_PROMPT} characters"
            )
            return None
        if not _PROMPT.fullmatch(template.source):
            self.shapes.report.error(node.pos, f'bad prompt id "{template.source}"', PROMPT_HINT)
            return None
        self.prompts.append(PromptUse(template, node.pos))
        return template
