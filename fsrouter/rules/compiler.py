"""The rules pipeline: load with positions -> intermediate tree -> check
everything -> compile to an immutable `Plan`.

Every problem in every file is collected before anything is refused; the
result is either a plan (possibly with warnings) or a `RulesError` holding
all the problems.  Files that are not valid YAML stop the pipeline after
all files were parsed, since their contents are unknown.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from .analysis import analyse
from .conditions import TestCompiler
from .flows import FlowCompiler, PromptUse
from .loader import load_paths, load_text, rules_files
from .plan import Node as PlanNode
from .plan import Plan, frozen_map
from .problems import Position, Problem, Report, RulesError
from . import route_languages
from .sections import SectionCompiler, merge, settings
from .shapes import NAME, Shapes
from .tree import Node


@dataclass(frozen=True)
class Compilation:
    """The outcome of checking rules: the plan if there were no errors,
    every problem, and what the sound check needs (prompts used, the values
    each variable is known to take, and each way in with what it reaches)."""

    plan: Plan | None
    problems: tuple[Problem, ...]
    prompts: tuple[PromptUse, ...] = ()
    known: Mapping[str, frozenset[str]] = field(default_factory=lambda: frozen_map({}))
    ways: tuple[route_languages.Entry, ...] = ()


def analyse_path(path: Path | str) -> Compilation:
    """Check the rules file, or directory of rules files, at `path`."""
    path = Path(path)
    report = Report()
    files = rules_files(path, report)
    if report.has_errors:
        return Compilation(None, report.sorted())
    if not files:
        report.error(Position(str(path)), "no rules files here", "*.yaml or *.yml files")
        return Compilation(None, report.sorted())
    trees = load_paths(files, report)
    if trees is None:
        return Compilation(None, report.sorted())
    return compile_trees(trees, report)


def analyse_source(text: str, filename: str = "<rules>") -> Compilation:
    """Check rules given as text (tests, tools)."""
    report = Report()
    tree = load_text(text, filename, report)
    if tree is None:
        return Compilation(None, report.sorted())
    return compile_trees([tree], report)


def compile_rules(path: Path | str) -> Plan:
    """The plan for the rules at `path`; raises `RulesError` listing every problem."""
    return _plan_or_raise(analyse_path(path))


def compile_source(text: str, filename: str = "<rules>") -> Plan:
    return _plan_or_raise(analyse_source(text, filename))


def _plan_or_raise(result: Compilation) -> Plan:
    if result.plan is None:
        raise RulesError(result.problems)
    return result.plan


def compile_trees(trees: list[Node], report: Report) -> Compilation:
    shapes = Shapes(report)
    merged = merge(trees, shapes)
    rules_settings = settings(merged.settings, shapes)
    tests = TestCompiler(shapes, rules_settings.holidays)
    flows = FlowCompiler(shapes, tests, merged.queues.keys())
    flows.known.setdefault("language", set()).add(rules_settings.language)
    for name, (key, _) in merged.flows.items():
        if not NAME.fullmatch(name):
            report.error(key.pos, f'bad flow name "{name}"', "letters, digits, _ and -")
        flows.declare(name, key.pos)
    entries = {name: (flows.flow(name, node), key.pos) for name, (key, node) in merged.flows.items()}
    sections = SectionCompiler(shapes, flows, tests, merged.flows)
    routes, default = sections.routes(merged.routes)
    lines = sections.lines(merged.lines, default)
    agents = sections.agents(merged.agents, rules_settings.agent_login)
    queues = sections.default_transfer(merged.settings, sections.queues(merged.queues, agents, lines))
    flows.resolve_gotos()

    if not merged.lines and not merged.routes:
        report.error(trees[0].pos, "no lines and no routes: no call can reach a flow", "a lines or routes section")
    starts = [r.flow for r in [*lines.values(), *routes, default] if r is not None and r.flow]
    roots = [entries[name][0] for name in starts] + sections.queue_entries
    analyse(flows.drafts, entries, roots, report)

    problems = report.sorted()
    known = frozen_map({k: frozenset(v) for k, v in flows.known.items()})
    if report.has_errors:
        return Compilation(None, problems, tuple(flows.prompts), known)
    nodes = {
        d.id: PlanNode(d.id, d.flow, d.step, frozen_map(d.edges), d.pos)
        for d in flows.drafts.values()
    }
    compiled = Plan(
        settings=rules_settings,
        lines=frozen_map(lines),
        routes=tuple(routes),
        default_route=default,
        flows=frozen_map({name: entry for name, (entry, _) in entries.items()}),
        nodes=frozen_map(nodes),
        queues=frozen_map(queues),
        agents=frozen_map(agents),
        warnings=problems,
        known=known,
    )
    ways = route_languages.entries(compiled, known)
    compiled = replace(compiled, entry_languages=frozen_map({way.key: way.languages for way in ways}))
    return Compilation(compiled, problems, tuple(flows.prompts), known, tuple(ways))
