"""Rules nested as deep as the loader allows go through every stage that
recurses (loading, checking, analysis, compilation, routing, describing and
graph rendering) with room to spare on the stack; one level deeper is refused
with its position."""

from __future__ import annotations

import sys

from fsrouter.rules import analyse_source
from fsrouter.rules.graph import render
from fsrouter.rules.loader import MAX_DEPTH

HEADER = 'lines: {"5000": {flow: main}}\nflows:\n'


def rules(nots: int, ifs: int, menus: int) -> str:
    """A route whose test is `not` nested `nots` deep, a flow of `if`s
    nested `ifs` deep and a flow of menus nested `menus` deep."""
    test = "{not: " * nots + '{caller_id: "1"}' + "}" * nots
    cond = '{if: {caller_id: "1"}, else: [{hangup: USER_BUSY}], then: [' * ifs
    menu = "".join("{menu: {prompt: menu/main, options: {'0': {hangup: USER_BUSY}}, default: [" for _ in range(menus))
    return (
        HEADER
        + f"  main: [{cond}{{goto: menus}}" + "]}" * ifs + "]\n"
        + f"  menus: [{menu}{{transfer: operator}}" + "]}}" * menus + "]\n"
        + f"routes:\n  - match: {test}\n    flow: main\n"
    )


# Levels: root 1, routes 2, a route 3, its match 4, then one per `not`.
NOTS = MAX_DEPTH - 4
# root 1, flows 2, the flow's list 3, a step 4, then two per `if` and per menu.
IFS = (MAX_DEPTH - 4) // 2
MENUS = (MAX_DEPTH - 4) // 3


def deep_stack(frames: int, work):
    """Run `work` with `frames` frames already on the stack, as a call in a
    greenlet or a reload in a busy process would."""
    return work() if frames == 0 else deep_stack(frames - 1, work)


def test_rules_at_the_depth_limit_pass_every_recursive_stage_with_room_to_spare():
    text = rules(NOTS, IFS - 1, MENUS)  # the if-test adds a level under the deepest if

    def every_stage():
        result = analyse_source(text, "r.yaml")
        plan = result.plan
        assert plan is not None, [str(p) for p in result.problems]
        for name in plan.flows:
            render(plan, name, "dot")
            render(plan, name, "mermaid")
        for node in plan.nodes.values():
            node.step.describe()
        return [plan.route({"caller_id_number": caller, "destination_number": "5000"}, 0.0).route
                for caller in ("1", "2")]

    assert NOTS % 2 == 0  # so the route's test holds for caller 1 only
    assert deep_stack(sys.getrecursionlimit() // 2, every_stage) == ["route 1", "line"]


def test_one_level_deeper_is_refused_at_the_node_that_crosses():
    for text in (rules(NOTS + 1, 0, 0), rules(0, IFS + 1, 0), rules(0, 0, MENUS + 2)):
        problems = [str(p) for p in analyse_source(text, "r.yaml").problems]
        assert len(problems) == 1 and f"error: nested more than {MAX_DEPTH} levels deep" in problems[0]


def test_menus_chained_past_the_menu_limit_warn_once_where_the_limit_is_crossed():
    """The menu-depth search stops one menu past the limit, so a ladder of
    menus (exponentially many paths) costs linear time, and a menu is
    warned about once, with a real path that reaches it fourth."""
    flows = "".join(
        f"  m{i}: [{{menu: {{prompt: menu/main, options: {{'1': {{goto: m{i + 1}}}, '2': {{goto: m{i + 2}}},"
        f" '0': {{transfer: operator}}}}, default: {{transfer: operator}}}}}}]\n"
        for i in range(40)
    )
    ends = "  m40: [{transfer: operator}]\n  m41: [{transfer: operator}]\n"
    problems = analyse_source(HEADER.replace("main", "m0") + flows + ends, "r.yaml").problems
    paths = [p.message.removeprefix("menu nested 4 levels deep: ").split(" > ") for p in problems]
    assert all(p.severity == "warning" and p.message.startswith("menu nested 4 levels") for p in problems)
    assert paths[0] == ["m0.1", "m1.1", "m2.1", "m3.1"]
    steps = {int(b[1:-2]) - int(a[1:-2]) for path in paths for a, b in zip(path, path[1:])}
    assert steps <= {1, 2}  # real paths through the ladder
    assert len({path[-1] for path in paths}) == len(paths) > 30  # each menu once
