"""Which languages each way into the rules can play each prompt in.

A call enters by a line, a route or the default route; from there it can
reach some steps and queues, in the languages its line, its route, the
rules' default or any `set: {language: X}` it can pass through give it.
`fsrouter check` asks, for each prompt, who can play it and in which
language, so a prompt missing in Greek is reported as missing for the route
that can play it in Greek (and not demanded in Greek where no Greek caller
can hear it).  A queue speaks numbers, minutes and keys through each
language's grammar (`fsrouter.speech`): `queue_speech` lists those prompts.

Over-approximations, on the safe side: a `set: {language: X}` anywhere
along an entry counts for all that entry's prompts, and a route without a
language of its own may be matched on any line.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .. import speech
from . import plan as p
from .problems import Position
from .templates import Template


@dataclass(frozen=True)
class Reach:
    """What a call can reach from a flow's first step: the steps, the queues
    (and their destinations' steps), the languages `set` steps give."""

    nodes: frozenset[str]
    queues: frozenset[str]
    languages: frozenset[str]


@dataclass(frozen=True)
class Entry:
    """One way in: `label` names it in messages ('route "greek"'); what it
    reaches is its flow's `Reach`, shared by every entry into that flow."""

    label: str
    key: tuple[str, str]
    """("line", number) or ("route", name), as `Plan.entry_languages` is keyed."""
    pos: Position
    flow: str
    languages: frozenset[str]
    reach: Reach


def entries(plan: p.Plan, known: Mapping[str, Iterable[str]]) -> list[Entry]:
    """Every line with a flow, every route and the default route, with what
    it reaches (each flow walked once, however many lines enter it)."""
    default = plan.settings.language
    reached: dict[str, Reach] = {}

    def entry(label: str, key: tuple[str, str], pos: Position, flow: str, languages: set[str]) -> Entry:
        if flow not in reached:
            reached[flow] = _reach(plan, known, flow)
        return Entry(label, key, pos, flow, frozenset(languages | reached[flow].languages), reached[flow])

    line_languages = {line.number: _values_language(line.values, known) or {line.language or default}
                      for line in plan.lines.values()}
    found = [entry(f'line "{line.number}"', ("line", line.number), line.pos, line.flow, line_languages[line.number])
             for line in plan.lines.values() if line.flow is not None]
    every_line = {default}.union(*line_languages.values())
    for route in plan.routes:
        own = _values_language(route.values, known)
        found.append(entry(f'route "{route.name}"', ("route", route.name), route.pos, route.flow, own or every_line))
    if plan.default_route is not None:
        route = plan.default_route
        unrouted = {default}.union(*(line_languages[n] for n, line in plan.lines.items() if line.flow is None))
        found.append(entry("the default route", ("route", route.name), route.pos, route.flow,
                           _values_language(route.values, known) or unrouted))
    return found


def queue_speech(queue: p.Queue, grammar: speech.Grammar) -> frozenset[str]:
    """The prompts `flow.announce` and `flow.callback` compose for this
    queue in this grammar: positions up to `up_to`, minutes when the wait is
    announced, the digits of a number read back and the offer's key."""
    said: set[str] = set()
    if queue.announce is not None:
        for n in range(1, min(queue.announce.up_to, speech.MAX_NUMBER) + 1):
            said.update(grammar.number(n))
        if queue.announce.wait_every is not None:
            for n in range(1, speech.MAX_NUMBER + 1):
                said.update(grammar.minutes(n))
    if queue.callback is not None:
        said.update(grammar.digits(speech.DIGITS))
        said.update(grammar.press(queue.callback.key))
    return frozenset(said)


def prompts(node: p.Node) -> tuple[Template, ...]:
    """The prompts a step plays itself."""
    if isinstance(node.step, p.Play):
        return node.step.sounds
    if isinstance(node.step, p.Menu):
        return (node.step.prompt,)
    return ()


def _reach(plan: p.Plan, known: Mapping[str, Iterable[str]], flow: str) -> Reach:
    languages: set[str] = set()
    seen: set[str] = set()
    queues: set[str] = set()
    todo = [plan.flows[flow]]
    while todo:
        node_id = todo.pop()
        if node_id is None or node_id in seen:
            continue
        seen.add(node_id)
        node = plan.nodes[node_id]
        if isinstance(node.step, p.SetVars):
            languages |= _values_language(node.step.values, known)
        if isinstance(node.step, p.Enqueue) and node.step.queue in plan.queues:
            queue = plan.queues[node.step.queue]
            queues.add(queue.name)
            todo += [queue.max_wait_then, queue.no_agents]
        todo += node.edges.values()
    return Reach(frozenset(seen), frozenset(queues), frozenset(languages))


def _values_language(values: Mapping[str, Template], known: Mapping[str, Iterable[str]]) -> set[str]:
    """The languages a `set` can give (every known one for a templated value)."""
    template = values.get("language")
    if template is None:
        return set()
    return set(template.expand(known)) if all(f in known for f in template.fields) else set(known.get("language", ()))
