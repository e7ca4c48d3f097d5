"""Seeded mutants of the example rules: `check` either refuses one with
positioned errors, or the rules compile, map to the ACD and start the
service's queue pieces.  Never a traceback, never check-passes-run-fails.

Each mutant changes one place of one of config/rules/*.yaml (read as data,
changed, written back as YAML): a key deleted or misspelt, a value of
another type, a value taken from elsewhere in the rules, an empty value, a
list item doubled, a negative or huge number, a bad duration, a bad regex,
an unknown reference.  Run with `-s` to see how many of each kind were
refused and how many compiled.
"""

from __future__ import annotations

import copy
import random
import traceback
from collections import Counter
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from fsrouter.acd import AgentState, InMemoryAcd
from fsrouter.acd.from_plan import from_plan
from fsrouter.cli import main
from fsrouter.flow import CallMachine
from fsrouter.rules import check, load_plan
from fsrouter.runtime.agent_presence import AgentPresence
from fsrouter.runtime.callback_dialer import CallbackDialer
from fsrouter.runtime.queue_runtime import QueueRuntime

ROOT = Path(__file__).parents[2]
RULES = ROOT / "config" / "rules"
SOUNDS = ROOT / "sounds"
SEED = 8
COUNT = 400

Path_ = tuple  # a path into the data: keys and list indexes


_EXAMPLE = {f.name: yaml.safe_load(f.read_text()) for f in sorted(RULES.glob("*.yaml"))}


def _load() -> dict[str, object]:
    """The example rules as data, a fresh copy."""
    return copy.deepcopy(_EXAMPLE)


def _paths(node: object, here: Path_ = ()) -> list[Path_]:
    """Every place in `node` (not the root itself)."""
    found = []
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        found.append((*here, key))
        found += _paths(value, (*here, key))
    return found


def _get(node, path: Path_):
    for part in path:
        node = node[part]
    return node


def _typo(rng: random.Random, text: str) -> str:
    text = str(text)
    i = rng.randrange(len(text) + 1)
    how = rng.choice(("drop", "double", "swap", "insert"))
    if how == "drop" and text:
        return text[:i] + text[i + 1:] if i < len(text) else text[:-1]
    if how == "swap" and len(text) > 1:
        i = min(i, len(text) - 2)
        return text[:i] + text[i + 1] + text[i] + text[i + 2:]
    if how == "double" and text:
        i = min(i, len(text) - 1)
        return text[:i] + text[i] + text[i:]
    return text[:i] + rng.choice("xe_-") + text[i:]


OTHER_TYPES = (123, "text", True, None, [1, "a"], {"a": 1}, 1.5, date(2026, 1, 1))
NUMBERS = (-1, 0, -1000000000, 10**30, 2**63, 1.0e308, -0.5, 10**18, 11, 101)
DURATIONS = ("soon", "-5s", "1x", "0", "0s", "999999999999h", "1h-3m", "", "1.5.5s", "3m30", "m", "-1")
REGEXES = ("(", "[a-", "*", "a{2,1}", "(?P<x", "\\", "+++")
REFERENCE_KEYS = ("queue", "goto", "flow", "add_queue", "strategy", "notice", "hangup", "transfer", "prompt",
                  "play", "then", "default")
NAMES = ("nosuch", "", "billing ", "GENERAL", "main_menu", "queue:billing", "x" * 40)


class Mutation:
    """One kind of change, applied at a random suitable place."""

    def __init__(self, name: str, places: Callable[[object, Path_], bool], change: Callable) -> None:
        self.name = name
        self.places = places
        self.change = change


def _in_map(data, path):
    return isinstance(_get(data, path[:-1]), dict)


def _scalar(data, path):
    return not isinstance(_get(data, path), (dict, list))


def _in_list(data, path):
    return isinstance(_get(data, path[:-1]), list)


def _replace(value_of: Callable[[random.Random, object, object], object]):
    def change(rng, data, path, everything):
        parent = _get(data, path[:-1])
        parent[path[-1]] = value_of(rng, parent[path[-1]], everything)
        return f"{'/'.join(map(str, path))} = {parent[path[-1]]!r}"[:160]
    return change


def _delete(rng, data, path, everything):
    del _get(data, path[:-1])[path[-1]]
    return f"delete {'/'.join(map(str, path))}"


def _rename(rng, data, path, everything):
    parent = _get(data, path[:-1])
    new = _typo(rng, path[-1])
    entries = [(new if k == path[-1] else k, v) for k, v in parent.items()]
    parent.clear()
    parent.update(entries)
    return f"rename {'/'.join(map(str, path))} -> {new!r}"


def _duplicate(rng, data, path, everything):
    parent = _get(data, path[:-1])
    parent.insert(path[-1], copy.deepcopy(parent[path[-1]]))
    return f"duplicate {'/'.join(map(str, path))}"


def _transplant(rng, value, everything):
    name = rng.choice(sorted(everything))
    source = everything[name]
    return copy.deepcopy(_get(source, rng.choice(_paths(source))))


def _regex(rng, data, path, everything):
    """A `regex` matcher where a route or window tests a value."""
    parent = _get(data, path[:-1])
    parent[path[-1]] = {"regex": rng.choice(REGEXES)}
    return f"{'/'.join(map(str, path))} = regex {parent[path[-1]]['regex']!r}"


MUTATIONS = (
    Mutation("delete_key", _in_map, _delete),
    Mutation("typo_key", _in_map, _rename),
    Mutation("swap_type", _scalar, _replace(lambda rng, v, _: rng.choice([t for t in OTHER_TYPES
                                                                          if type(t) is not type(v)]))),
    Mutation("transplant", lambda d, p: True, _replace(lambda rng, v, everything: _transplant(rng, v, everything))),
    Mutation("empty", lambda d, p: True, _replace(lambda rng, v, _: rng.choice(("", [], {})))),
    Mutation("duplicate_item", _in_list, _duplicate),
    Mutation("number", _scalar, _replace(lambda rng, v, _: rng.choice(NUMBERS))),
    Mutation("bad_duration", lambda d, p: _scalar(d, p) and p[-1] in ("after", "first", "every", "timeout",
                                                                       "wait_over", "dial_after", "wrap_up"),
             _replace(lambda rng, v, _: rng.choice(DURATIONS))),
    Mutation("bad_regex", lambda d, p: p[-1] in ("destination", "caller_id", "prefix") or
             (len(p) > 1 and p[-2] == "vars"), _regex),
    Mutation("unknown_reference", lambda d, p: _scalar(d, p) and p[-1] in REFERENCE_KEYS,
             _replace(lambda rng, v, _: rng.choice([*NAMES, _typo(rng, v if v is not None else "x")]))),
)


def mutant(index: int) -> tuple[str, str, dict[str, object]]:
    """The index-th mutant: (kind, what changed, the rules files' data)."""
    rng = random.Random(f"{SEED}/{index}")
    files = _load()
    mutation = MUTATIONS[index % len(MUTATIONS)]
    for _ in range(50):
        name = rng.choice(sorted(files))
        places = [p for p in _paths(files[name]) if mutation.places(files[name], p)]
        if places:
            path = rng.choice(places)
            what = mutation.change(rng, files[name], path, files)
            return mutation.name, f"{name}: {what}", files
    raise AssertionError(f"no place for {mutation.name}")


def write(files: dict[str, object], where: Path) -> Path:
    where.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (where / name).write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    return where


class NoSwitch:
    """The inbound connection: offers are spawned into nothing, so nothing is sent."""

    on_event = None

    def bgapi(self, cmd, timeout=60.0):
        raise AssertionError(f"nothing should reach the switch: {cmd}")

    api = bgapi


def start(rules: Path) -> None:
    """What `fsrouter run` does with the rules before the first call, and a
    first call on each line."""
    plan = load_plan(rules, sounds_dir=SOUNDS)
    layout = from_plan(plan)
    InMemoryAcd(layout.queues, layout.agents)
    AgentPresence(layout.agents)
    runtime = QueueRuntime(plan, NoSwitch(), spawn=lambda *args, **kwargs: None)
    for agent in plan.agents:
        runtime.set_agent_state(agent, AgentState.AVAILABLE)
    CallbackDialer(runtime, store=None, sounds_root="/usr/share/freeswitch/sounds")
    for number in [*plan.lines, "999"]:
        machine = CallMachine(plan, {"destination_number": number, "caller_id_number": "+302101234567",
                                     "uuid": "u"}, now=1_780_000_000.0)
        machine.start(1_780_000_000.0)
    for queue in plan.queues:
        runtime.join(f"call-{queue}", queue, {"language": "el", "brand": "acme"}, notify=lambda message: None)


def outcome(rules: Path) -> tuple[str, str | None]:
    """("refused" | "compiled", None) or ("bug", what went wrong)."""
    try:
        problems = check(rules, SOUNDS)
    except Exception:
        return "bug", "check raised:\n" + traceback.format_exc()
    errors = [p for p in problems if p.severity == "error"]
    unpositioned = [str(p) for p in errors if not p.pos.file or not p.pos.line]
    if unpositioned:
        return "bug", f"errors without a line: {unpositioned}"
    if errors:
        return "refused", None
    try:
        start(rules)
    except Exception:
        return "bug", "check passed, start failed:\n" + traceback.format_exc()
    return "compiled", None


def test_the_example_rules_start_unchanged(tmp_path):
    assert outcome(write(_load(), tmp_path)) == ("compiled", None)


def test_every_mutant_is_refused_with_positions_or_starts(tmp_path):
    tally: Counter[tuple[str, str]] = Counter()
    bugs = []
    for index in range(COUNT):
        kind, what, files = mutant(index)
        result, detail = outcome(write(files, tmp_path / str(index)))
        tally[kind, result] += 1
        if detail:
            bugs.append(f"mutant {index} ({kind}) {what}\n{detail}")
    print(f"\n{COUNT} mutants (seed {SEED}):")
    for mutation in MUTATIONS:
        print(f"  {mutation.name:18} refused {tally[mutation.name, 'refused']:3}  "
              f"compiled {tally[mutation.name, 'compiled']:3}")
    assert bugs == []
    refused = sum(n for (_, result), n in tally.items() if result == "refused")
    # Both outcomes are common, or the mutants would test little.
    assert COUNT / 20 < refused < COUNT * 19 / 20


@pytest.mark.parametrize("index", range(6))
def test_mutants_through_the_cli(tmp_path, index):
    kind, what, files = mutant(index)
    rules = write(files, tmp_path)
    expected, _ = outcome(rules)
    result = CliRunner().invoke(main, ["check", str(rules), "--sounds", str(SOUNDS)])
    assert result.exit_code == (1 if expected == "refused" else 0), what
    assert result.exception is None or isinstance(result.exception, SystemExit), what
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if ": error: " in line]
    assert bool(errors) == (expected == "refused")
    assert all(line.startswith(str(rules)) and line.split(":")[1].isdigit() for line in errors), errors
