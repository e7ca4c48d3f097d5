"""Graph checks on compiled flows: the properties that keep callers safe.

* no dead ends: every path ends in hangup, transfer or queue;
* nothing unreachable: a step nothing leads to is a mistake, an unused flow
  is worth a warning;
* no loop without an exit: from every step an end must be reachable;
* no loop that never pauses (goto/set/if only), which would spin;
* every menu offers a way to a person, and menus are at most 3 deep
  (warnings).

The checks read only `id`, `step` and `edges` of each node, the same data
the call machine follows.  Steps that had errors (step None) count as ends,
so one mistake is reported once.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Collection, Iterable, Mapping

from . import plan
from .flows import Draft
from .problems import Position, Report

MAX_MENU_DEPTH = 3
_DTMF = re.compile(r"[0-9*#]+")
_ENDS = "hangup, transfer, queue or goto at the end of the path"
_NOWHERE = {
    plan.DONE: ("after this step", _ENDS),
    plan.NEXT: ("after this step", _ENDS),
    plan.THEN: ("when the test is true", _ENDS),
    plan.ELSE: ("when the test is false", _ENDS),
    plan.TOO_MANY_INVALID: ("after too many invalid keys", "on_invalid: {then: ...} or default: ..."),
    plan.TOO_MANY_TIMEOUTS: ("after too many timeouts", "on_timeout: {then: ...} or default: ..."),
}

Graph = Mapping[str, Draft]


def analyse(
    drafts: Graph, flows: Mapping[str, tuple[str, Position]], roots: Iterable[str], report: Report
) -> None:
    """`flows`: flow name -> (entry id, where it is defined); `roots`: the
    entry ids calls can start from (lines, routes, queue destinations)."""
    _dead_ends(drafts, report)
    used = _reachable(drafts, roots)
    for name, (entry, pos) in flows.items():
        if entry not in used:
            report.warning(pos, f'flow "{name}" is never used', "a line, route or goto that leads to it")
    _unreachable_steps(drafts, [entry for entry, _ in flows.values()] + list(roots), report)
    stuck = _loops_without_exit(drafts, report)
    _loops_without_pause(drafts, stuck, report)
    _menus_without_person(drafts, report)
    _deep_menus(drafts, [entry for entry, _ in flows.values()], report)


def _targets(drafts: Graph, node_id: str) -> list[str]:
    return [t for t in drafts[node_id].edges.values() if t in drafts]


def _dead_ends(drafts: Graph, report: Report) -> None:
    for draft in drafts.values():
        for outcome, target in draft.edges.items():
            if target is None and draft.step is not None:
                when, expected = _NOWHERE[outcome]
                report.error(draft.pos, f"dead end: the call has nowhere to go {when}", expected)


def _reachable(drafts: Graph, starts: Iterable[str]) -> set[str]:
    seen = {s for s in starts if s in drafts}
    queue = deque(seen)
    while queue:
        for target in _targets(drafts, queue.popleft()):
            if target not in seen:
                seen.add(target)
                queue.append(target)
    return seen


def _leading_to(drafts: Graph, goals: set[str]) -> set[str]:
    """The nodes from which one of `goals` can be reached (goals included)."""
    preds: dict[str, list[str]] = {i: [] for i in drafts}
    for d in drafts.values():
        for t in _targets(drafts, d.id):
            preds[t].append(d.id)
    found = set(goals)
    queue = deque(goals)
    while queue:
        for p in preds[queue.popleft()]:
            if p not in found:
                found.add(p)
                queue.append(p)
    return found


def _unreachable_steps(drafts: Graph, starts: list[str], report: Report) -> None:
    """Report the first step of each unreachable stretch (nothing leads to it)."""
    reached = _reachable(drafts, starts)
    lost = [d for d in drafts.values() if d.id not in reached and d.step is not None]
    led_to = {t for d in lost for t in _targets(drafts, d.id)}
    for draft in lost:
        if draft.id not in led_to:
            report.error(draft.pos, f'unreachable step "{draft.id}": no path leads here')


def _loops_without_exit(drafts: Graph, report: Report) -> set[str]:
    """Steps from which no end can be reached; reports each such loop once."""
    enders = {
        d.id
        for d in drafts.values()
        if d.step is None or d.step.terminal or any(t not in drafts for t in d.edges.values())
    }
    stuck = set(drafts) - _leading_to(drafts, enders)
    for loop in _cycles(drafts, stuck):
        first = min(loop, key=lambda i: drafts[i].pos)
        report.error(
            drafts[first].pos,
            "loop with no exit: " + " -> ".join(loop) + " never reaches hangup, transfer or queue",
            "an option, then or else that leads out of the loop",
        )
    return stuck


def _loops_without_pause(drafts: Graph, stuck: set[str], report: Report) -> None:
    instant = {i for i, d in drafts.items() if d.step is not None and d.step.instant} - stuck
    for loop in _cycles(drafts, instant):
        first = min(loop, key=lambda i: drafts[i].pos)
        report.error(
            drafts[first].pos,
            "loop without a pause: " + " -> ".join(loop) + " would repeat forever without playing or asking",
            "a play or menu inside the loop",
        )


def _cycles(drafts: Graph, within: Collection[str]) -> list[list[str]]:
    """Strongly connected sets of nodes (restricted to `within`) that contain a cycle."""

    def succ(node_id: str) -> list[str]:
        return [t for t in _targets(drafts, node_id) if t in within]

    order: list[str] = []
    seen: set[str] = set()
    for start in sorted(within):
        if start in seen:
            continue
        seen.add(start)
        stack = [(start, iter(succ(start)))]
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop()
                order.append(node)
            elif child not in seen:
                seen.add(child)
                stack.append((child, iter(succ(child))))
    preds: dict[str, list[str]] = {i: [] for i in within}
    for i in within:
        for t in succ(i):
            preds[t].append(i)
    assigned: set[str] = set()
    loops = []
    for root in reversed(order):
        if root in assigned:
            continue
        component, todo = [], [root]
        assigned.add(root)
        while todo:
            node = todo.pop()
            component.append(node)
            for p in preds[node]:
                if p not in assigned:
                    assigned.add(p)
                    todo.append(p)
        if len(component) > 1 or root in succ(root):
            loops.append(sorted(component, key=lambda i: drafts[i].pos))
    return loops


def _option_targets(draft: Draft) -> list[str]:
    return [t for key, t in draft.edges.items() if _DTMF.fullmatch(key) and t is not None]


def _menus(drafts: Graph) -> list[Draft]:
    return [d for d in drafts.values() if isinstance(d.step, plan.Menu)]


def _menus_without_person(drafts: Graph, report: Report) -> None:
    people = {i for i, d in drafts.items() if isinstance(d.step, (plan.Transfer, plan.Enqueue))}
    to_person = _leading_to(drafts, people)
    for menu in _menus(drafts):
        if not any(t in to_person for t in _option_targets(menu)):
            report.warning(
                menu.pos, "menu has no option that leads to a person (queue or transfer)",
                'an option such as "0": {transfer: operator}',
            )


def _next_menus(drafts: Graph, starts: Iterable[str]) -> set[str]:
    """Menus reachable from `starts` without passing through another menu."""
    found, seen = set(), set()
    todo = [s for s in starts if s in drafts]
    while todo:
        node_id = todo.pop()
        if node_id in seen:
            continue
        seen.add(node_id)
        if isinstance(drafts[node_id].step, plan.Menu):
            found.add(node_id)
        else:
            todo.extend(_targets(drafts, node_id))
    return found


def _deep_menus(drafts: Graph, entries: list[str], report: Report) -> None:
    """Warn where a caller must get through more than three menus to arrive.

    Paths stop one menu past the limit: the warning is given at the menu
    where the limit is crossed, and the search stays linear in the number
    of menus (the longest path through all of them would be exponential)."""
    below = {m.id: _next_menus(drafts, _option_targets(m)) for m in _menus(drafts)}
    deepest: dict[str, tuple[str, ...]] = {}
    todo = [(m,) for m in sorted(_next_menus(drafts, entries))]
    while todo:
        path = todo.pop()
        menu = path[-1]
        if len(path) <= len(deepest.get(menu, ())):
            continue
        deepest[menu] = path
        if len(path) <= MAX_MENU_DEPTH:
            todo.extend(path + (m,) for m in sorted(below[menu]) if m not in path)
    for menu, path in sorted(deepest.items()):
        if len(path) > MAX_MENU_DEPTH:
            report.warning(
                drafts[menu].pos,
                f"menu nested {len(path)} levels deep: " + " > ".join(path),
                f"at most {MAX_MENU_DEPTH} levels of menus",
            )
