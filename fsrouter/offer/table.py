"""Transitions as data, shared by the offer and bridging machines.

A machine's whole behaviour is one table: `(state, event type) -> Step(target,
action)`, where `action` names the machine's method that builds the commands
for that move (the commands carry the offer's ids, which the table cannot).
A few moves depend on something fixed for the machine's life (is this offer
a callback?): their entry is a mapping from that `variant` to a step.  An
event the table lacks in the current state is a `InvalidTransition` naming
both, as in h11's `_state.py`; the diagrams (`fsrouter graph offer`,
`fsrouter graph bridging`, docs/offer.md) are drawn from the same table, so
what is drawn is what runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

FORMATS = ("dot", "mermaid")


class InvalidTransition(Exception):
    """The machine got an event its table has no move for in its state."""

    def __init__(self, machine: str, state: str, event: object) -> None:
        self.machine, self.state, self.event = machine, state, event
        super().__init__(f"{machine}: no transition for {type(event).__name__} in state {state}")


@dataclass(frozen=True)
class Step:
    """Where an event leads, and which method of the machine says what to do."""

    target: str
    action: str = ""


Table = Mapping[tuple[str, type], "Step | Mapping[str, Step]"]


def lookup(machine: str, table: Table, state: str, event: object, variant: str) -> Step:
    """The step for `event` in `state` (for this machine's `variant`)."""
    entry = table.get((state, type(event)))
    if isinstance(entry, Mapping):
        entry = entry.get(variant)
    if entry is None:
        raise InvalidTransition(machine, state, event)
    return entry


def edges(table: Table) -> list[tuple[str, str, str]]:
    """(source, label, target) for every entry, labelled `Event (variant) / action`."""
    out = []
    for (state, event), entry in table.items():
        steps = entry.items() if isinstance(entry, Mapping) else [("", entry)]
        for variant, step in steps:
            label = event.__name__ + (f" ({variant})" if variant else "")
            label += f" / {step.action.lstrip('_')}" if step.action else ""
            out.append((state, label, step.target))
    return out


def render(name: str, table: Table, initial: str, fmt: str = "mermaid") -> str:
    """The machine drawn as Graphviz DOT or a Mermaid state diagram."""
    drawn = edges(table)
    if fmt == "dot":
        lines = [f'digraph "{name}" {{', "  rankdir=LR;", "  node [shape=box, style=rounded];",
                 "  start [shape=point];", f'  start -> "{initial}";']
        lines += [f'  "{source}" -> "{target}" [label="{label}"];' for source, label, target in drawn]
        return "\n".join(lines + ["}"]) + "\n"
    if fmt != "mermaid":
        raise ValueError(f"unknown format {fmt!r} (expected one of: {', '.join(FORMATS)})")
    lines = ["stateDiagram-v2", f"    [*] --> {initial}"]
    lines += [f"    {source} --> {target}: {label}" for source, label, target in drawn]
    return "\n".join(lines) + "\n"
