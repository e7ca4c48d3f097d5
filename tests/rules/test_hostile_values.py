"""Every value of the example rules replaced, one at a time, by a hostile
one: the pipeline reports or compiles, and what compiles routes and draws;
nothing raises."""

from __future__ import annotations

from pathlib import Path

import pytest

from fsrouter.rules.compiler import compile_trees
from fsrouter.rules.durations import seconds
from fsrouter.rules.graph import graph_names, render
from fsrouter.rules.loader import load_file, rules_files
from fsrouter.rules.problems import Report
from fsrouter.rules.tree import Map, Node, Scalar, Seq

CONFIG = Path(__file__).parents[2] / "config"
HOSTILE = [int("9" * 1000), float("inf"), float("nan"), "x" * 5000, "{x}"]


def scalar_paths(node: Node, path: tuple[int, ...] = ()):
    children = [v for _, v in node.entries] if isinstance(node, Map) else node.items if isinstance(node, Seq) else None
    if children is None:
        yield path
        return
    for i, child in enumerate(children):
        yield from scalar_paths(child, path + (i,))


def replaced(node: Node, path: tuple[int, ...], value) -> Node:
    if not path:
        return Scalar(value, str(value), node.pos)
    i, rest = path[0], path[1:]
    if isinstance(node, Map):
        entries = list(node.entries)
        entries[i] = (entries[i][0], replaced(entries[i][1], rest, value))
        return Map(tuple(entries), node.pos)
    items = list(node.items)
    items[i] = replaced(items[i], rest, value)
    return Seq(tuple(items), node.pos)


def test_every_value_replaced_by_a_hostile_one_is_reported_or_compiles():
    trees = [load_file(path, Report()) for path in rules_files(CONFIG, Report())]
    cases = 0
    for index, tree in enumerate(trees):
        for path in scalar_paths(tree):
            for value in HOSTILE:
                mutated = trees[:index] + [replaced(tree, path, value)] + trees[index + 1:]
                result = compile_trees(mutated, Report())
                cases += 1
                if result.plan is None:
                    assert any(p.severity == "error" for p in result.problems)
                    continue
                for name in graph_names(result.plan):
                    render(result.plan, name)
                result.plan.route({"caller_id_number": "9" * 500, "destination_number": "+302101234567"}, 0.0)
    assert cases > 500


@pytest.mark.parametrize("value", [int("9" * 400), "9" * 400 + "h", float("inf"), float("nan"), 2e9, "-5s"])
def test_durations_out_of_range_are_not_durations(value):
    assert seconds(value) is None
