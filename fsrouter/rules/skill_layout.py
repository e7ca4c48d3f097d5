"""How a queue's skills become the ACD's queues: one computation that
`fsrouter check` runs to find mistakes and `acd.from_plan` runs to build
specs, so a plan that passed the check cannot fail to map (sans-IO, pure).

`relax` steps are cumulative and may only relax: a step lowers levels the
queue requires at that point (naming a level already in force is a no-op;
raising one, or naming a skill not required, is an error) and/or adds
another queue's pool; steps come in increasing `after` order and each says
what it relaxes.

**Templated skills** (`"lang_{language}": 3`) depend on the call, while an
ACD queue is fixed.  So a queue with templated skills becomes one ACD queue
per binding of its variables that some agent can satisfy, found by matching
the templates against the agents' skill names (`billing[language=el]`,
`billing[language=en]`), plus the bare name, which keeps the literal
templates as skills nobody has: a call whose binding no agent has waits
there (or is refused / sent to no_agents) exactly as in a queue nobody
serves.  Rendering can make two written skills one (`lang_{language}` and
`lang_el` for language=el), or make a relax step raise a level; both are
reported for the binding where they happen.  A queue whose pool depends on
the call cannot be another queue's `add_queue`.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from itertools import product
from math import prod
from types import MappingProxyType

from .plan import Queue
from .templates import Template

SKILL = re.compile(r"(?:[A-Za-z0-9_-]|\{[A-Za-z_][A-Za-z0-9_]*\})+")
"""A skill name: letters, digits, _ and -, with {variable} placeholders in a
queue's requirement.  No `,`, `=` or brackets, so the ACD queue names built
from bindings are unambiguous."""
MAX_PLACEHOLDERS = 3
"""Placeholders in one skill name: each one multiplies the queues the ACD keeps."""
MAX_SKILL_NAME = 100
"""Characters in a skill name (also bounds the matching of templates against agents' skills)."""
MAX_VARIANTS = 1000
"""ACD queues one rules queue may become (one per binding of its variables)."""


@dataclass(frozen=True)
class Stage:
    """A relax step as the ACD runs it: the levels it lowers (rendered) and the pool it adds."""

    after: float
    require: Mapping[str, int]
    add_queue: str | None


@dataclass(frozen=True)
class Variant:
    """One ACD queue of a rules queue; `binding` is None for the bare name."""

    name: str
    binding: Mapping[str, str] | None
    require: Mapping[str, int]
    stages: tuple[Stage, ...]


@dataclass(frozen=True)
class Issue:
    """A mistake in a queue's skills: in relax step `step` (an index into
    `Queue.relax`; None for the queue's `require`), at the step's `key`
    (after, require or add_queue) and, in a `require`, at `skill` as written."""

    message: str
    expected: str | None = None
    step: int | None = None
    key: str = "require"
    skill: str | None = None


def skill_name_problem(name: str, *, placeholders: bool) -> str | None:
    """Why `name` cannot be a skill name (None if it can); `placeholders`
    says whether {variables} may appear (a queue's, not an agent's)."""
    if not SKILL.fullmatch(name) or len(name) > MAX_SKILL_NAME:
        return (f"at most {MAX_SKILL_NAME} letters, digits, _ and -"
                + (", with {variables}" if placeholders else ""))
    count = len(Template.parse(name).fields)
    if count and not placeholders:
        return "letters, digits, _ and - (an agent's skill names no {variables})"
    if count > MAX_PLACEHOLDERS or "}{" in name:
        return f"at most {MAX_PLACEHOLDERS} {{variables}}, with text between them"
    return None


def fields(queue: Queue) -> tuple[str, ...]:
    """The variables the queue's skill names use, in first-use order."""
    seen: dict[str, None] = {}
    for skill in _skill_names(queue):
        for field in Template.parse(skill).fields:
            seen.setdefault(field, None)
    return tuple(seen)


def layout(queue: Queue, held: Collection[str], templated: Collection[str]) -> tuple[list[Variant], list[Issue]]:
    """The ACD queues of `queue`, given the skills agents hold and the names of
    the queues with templated skills; with every issue (no variants then)."""
    issues = _step_issues(queue, templated)
    bare = _variant(queue, queue.name, None, issues)
    if issues:
        return [], issues
    names = fields(queue)
    if not names:
        return [bare], issues
    values = _values(_skill_names(queue), names, held)
    count = prod(len(v) for v in values.values())
    if count > MAX_VARIANTS:
        return [], [Issue(f"the skills make {count} ACD queues, one per value of "
                          + " × ".join(f"{f} ({len(values[f])})" for f in names),
                          f"at most {MAX_VARIANTS}: fewer variables in skill names")]
    variants = []
    for binding in (dict(zip(names, combo)) for combo in product(*(sorted(values[f]) for f in names))):
        label = ",".join(f"{f}={binding[f]}" for f in names)
        variants.append(_variant(queue, f"{queue.name}[{label}]", binding, issues))
    return ([] if issues else [*variants, bare]), issues


def _step_issues(queue: Queue, templated: Collection[str]) -> list[Issue]:
    """What is wrong with the steps whatever the binding."""
    issues = []
    previous = 0.0
    for index, rule in enumerate(queue.relax):
        if rule.after <= previous:
            issues.append(Issue(f"relax step {index + 1} is after {rule.after:g}s, not later than the step "
                                f"before ({previous:g}s)", "steps in increasing order of after", index, "after"))
        previous = max(previous, rule.after)
        if not rule.require and rule.add_queue is None:
            issues.append(Issue(f"relax step {index + 1} relaxes nothing", "require: {...} and/or add_queue: NAME",
                                index, "after"))
        if rule.add_queue == queue.name:
            issues.append(Issue(f'relax step {index + 1} adds the queue "{queue.name}" itself',
                                "another queue", index, "add_queue"))
        elif rule.add_queue in templated:
            issues.append(Issue(
                f'relax step {index + 1} adds queue "{rule.add_queue}", whose skills depend on the call',
                "a queue with fixed skills", index, "add_queue"))
    return issues


def _variant(queue: Queue, name: str, binding: Mapping[str, str] | None, issues: list[Issue]) -> Variant:
    where = "" if binding is None else " (for " + ", ".join(f"{f}={v}" for f, v in binding.items()) + ")"
    require = _render(queue.require, binding, None, where, issues)
    base = {skill: level for skill, (_, level) in require.items()}
    current = dict(base)
    stages = []
    for index, rule in enumerate(queue.relax):
        lowered = {}
        for skill, (written, level) in _render(rule.require, binding, index, where, issues).items():
            if skill not in current:
                issues.append(Issue(
                    f'relax step {index + 1} relaxes "{skill}"{where}, which the queue does not require '
                    "at that point", "one of: " + (", ".join(current) or "(no skills required)"), index, skill=written))
            elif level > current[skill]:
                issues.append(Issue(
                    f'relax step {index + 1} raises "{skill}"{where} from {current[skill]} to {level}',
                    f"a level of at most {current[skill]}: steps may only relax", index, skill=written))
            elif level < current[skill]:
                lowered[skill] = current[skill] = level
        if lowered or rule.add_queue is not None:
            stages.append(Stage(rule.after, MappingProxyType(lowered), rule.add_queue))
    return Variant(name, None if binding is None else MappingProxyType(dict(binding)),
                   MappingProxyType(base), tuple(stages))


def _render(levels: Mapping[str, int], binding: Mapping[str, str] | None, step: int | None, where: str,
            issues: list[Issue]) -> dict[str, tuple[str, int]]:
    """Rendered skill -> (as written, level); two written skills that render alike are an issue."""
    rendered: dict[str, tuple[str, int]] = {}
    for written, level in levels.items():
        skill = written if binding is None else Template.parse(written).render(binding)
        if skill in rendered:
            issues.append(Issue(f'"{rendered[skill][0]}" and "{written}" both name the skill "{skill}"{where}',
                                "each skill once", step, skill=written))
        rendered[skill] = (written, level)
    return rendered


def _skill_names(queue: Queue) -> list[str]:
    return [*queue.require, *(skill for rule in queue.relax for skill in rule.require)]


def _values(skill_names: Iterable[str], names: tuple[str, ...], held: Collection[str]) -> dict[str, set[str]]:
    """The values of the variables `names` seen in agents' skill names."""
    values: dict[str, set[str]] = {f: set() for f in names}
    for skill in skill_names:
        template = Template.parse(skill)
        if not template.fields:
            continue
        pattern = re.compile(
            "".join(re.escape(part) if i % 2 == 0 else "(.+)" for i, part in enumerate(template.parts))
        )
        for candidate in held:
            match = pattern.fullmatch(candidate)
            if match:
                for field, value in zip(template.fields, match.groups()):
                    values[field].add(value)
    return values
