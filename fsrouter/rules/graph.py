"""Draw a flow of the compiled plan as Graphviz DOT or Mermaid.

The drawing is made from the plan's nodes and edges, the very table the
call machine follows, so what is drawn is what runs.  Steps of other flows
that a flow leads to are drawn dashed (DOT) or as hexagons (Mermaid), by id.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .plan import Node, Plan

FORMATS = ("dot", "mermaid")
_DTMF = re.compile(r"[0-9*#]+")


@dataclass(frozen=True)
class _Drawing:
    name: str
    nodes: list[Node]
    others: list[str]
    entries: list[tuple[str, str]]
    edges: list[tuple[str, str, str]]


def graph_names(plan: Plan) -> list[str]:
    """What can be drawn: every flow, and `queue:NAME` for queue destinations."""
    return list(plan.flows) + [f"queue:{name}" for name in plan.queues]


def render(plan: Plan, name: str, fmt: str = "dot") -> str:
    """The drawing of flow `name` (see `graph_names`) in `fmt` (dot or mermaid)."""
    if name not in graph_names(plan):
        raise KeyError(name)
    own = sorted((n for n in plan.nodes.values() if n.flow == name), key=lambda n: (n.pos, n.id))
    ids = {n.id for n in own}
    entries = _entries(plan, name)
    edges = [(n.id, _label(outcome), target) for n in own for outcome, target in n.edges.items()]
    others = sorted({t for *_, t in edges + entries if t not in ids})
    drawing = _Drawing(name, own, others, entries, edges)
    return _dot(drawing) if fmt == "dot" else _mermaid(drawing)


def _entries(plan: Plan, name: str) -> list[tuple[str, str]]:
    if name in plan.flows:
        return [("", plan.flows[name])]
    queue = plan.queues[name.removeprefix("queue:")]
    found = [("max_wait", queue.max_wait_then), ("no_agents", queue.no_agents)]
    return [(label, target) for label, target in found if target is not None]


def _label(outcome: str) -> str:
    return f"key {outcome}" if _DTMF.fullmatch(outcome) else outcome


def _dot(d: _Drawing) -> str:
    def q(*lines: str) -> str:
        escaped = (text.replace("\\", "\\\\").replace('"', '\\"') for text in lines)
        return '"' + "\\n".join(escaped) + '"'

    out = [f"digraph {q(d.name)} {{", "  rankdir=LR;", "  node [shape=box];", "  start [shape=point];"]
    for node in d.nodes:
        bold = ", peripheries=2" if node.step.terminal else ""
        out.append(f"  {q(node.id)} [label={q(node.id, node.step.describe())}{bold}];")
    out += [f"  {q(ident)} [style=dashed];" for ident in d.others]
    for label, target in d.entries:
        out.append(f"  start -> {q(target)}" + (f" [label={q(label)}];" if label else ";"))
    out += [f"  {q(source)} -> {q(target)} [label={q(label)}];" for source, label, target in d.edges]
    return "\n".join(out + ["}"]) + "\n"


def _mermaid(d: _Drawing) -> str:
    short = {ident: f"n{i}" for i, ident in enumerate([n.id for n in d.nodes] + d.others, 1)}

    def q(*lines: str) -> str:
        escaped = (text.replace("#", "#35;").replace('"', "#quot;") for text in lines)
        return '"' + "<br/>".join(escaped) + '"'

    out = ["flowchart LR", "  start((start))"]
    for node in d.nodes:
        label = q(node.id, node.step.describe())
        out.append(f"  {short[node.id]}([{label}])" if node.step.terminal else f"  {short[node.id]}[{label}]")
    out += [f"  {short[ident]}{{{{{q(ident)}}}}}" for ident in d.others]
    for label, target in d.entries:
        out.append(f"  start -->{'|' + q(label) + '|' if label else ''} {short[target]}")
    out += [f"  {short[source]} -->|{q(label)}| {short[target]}" for source, label, target in d.edges]
    return "\n".join(out) + "\n"
