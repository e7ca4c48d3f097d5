"""From the compiled rules to the ACD's specs (sans-IO, pure).

The rules keep a queue's ACD settings as plain data (`Queue.options`); this
module is the one place that reads them, so the ACD core never sees YAML
shapes (the rules use only the ACD's callback number policy, to check it).
Anything it cannot map raises
`PlanMappingError` naming the queue and the key: a plan the ACD would run
differently from what the rules say must not start.

What is mapped:

* `require` -> `QueueSpec.require`;
* `relax` steps: `{after, require}` lowers the levels it names (naming a
  skill at the level it already has is a no-op; raising one is an error),
  `{after, add_queue}` adds that queue's pool.  The rules cannot express
  dropping a skill yet (levels are 1-10), so `RelaxStep.drop` stays unused;
* `strategy`, and `priority` (the queue's default; a call's own `priority`
  variable, e.g. set by a VIP route, overrides it at join time);
* `max_wait`: the destination is the queue's own name, because the flow
  machine resolves `max_wait_then` itself;
* `no_agents`: when declared, the queue refuses callers nobody serving could
  take (`join_empty=False`) and sends waiting callers there when the last
  such agent stops serving (`leave_when_empty=True`); otherwise callers
  always join and wait up to max_wait.

`announce`, `callback` and `whisper` are not the core's business: they are
compiled into typed fields of `plan.Queue`, which the flow and the IO layer
read, and never reach `options`.

**Templated skills** (`"lang_{language}": 3`) depend on the call, while a
`QueueSpec` is fixed.  So a queue with templated skills becomes one ACD queue
per binding of its variables that some agent can satisfy, found by matching
the template against the agents' skill names (`billing[language=el]`,
`billing[language=en]`), plus the bare name, which keeps the literal
template as a skill nobody has: a call whose binding no agent has waits
there (or is refused / sent to no_agents) exactly as in a queue nobody
serves.  `AcdPlan.queue_for(name, variables)` picks the ACD queue of a call.
Positions and EWT are then per binding, which is what the caller should
hear: only agents speaking their language serve them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import product
from types import MappingProxyType

from fsrouter.acd.errors import SpecError
from fsrouter.acd.model import AgentPolicy, AgentSpec, QueueSpec, RelaxStep, Strategy
from fsrouter.rules import plan as p
from fsrouter.rules.durations import seconds as duration_seconds
from fsrouter.rules.templates import Template

_MAPPED_KEYS = frozenset({"require", "relax", "strategy", "priority"})


class PlanMappingError(SpecError):
    """The rules say something the ACD cannot do; the message names queue and key."""


@dataclass(frozen=True)
class AcdPlan:
    """The ACD's view of a plan: the specs, and how a call picks its ACD queue.

    `variants[name]` is (fields, {values: acd queue name}) for a queue with
    templated skills; queues without templates map to themselves.
    """

    queues: tuple[QueueSpec, ...]
    agents: tuple[AgentSpec, ...]
    variants: Mapping[str, tuple[tuple[str, ...], Mapping[tuple[str, ...], str]]]
    priorities: Mapping[str, int]

    def queue_for(self, queue: str, variables: Mapping[str, str]) -> str:
        """The ACD queue a call for rules queue `queue` joins."""
        if queue not in self.priorities:
            raise PlanMappingError(f"no queue {queue!r} in the plan")
        variant = self.variants.get(queue)
        if variant is None:
            return queue
        fields, names = variant
        return names.get(tuple(variables.get(f, "") for f in fields), queue)

    def priority_for(self, queue: str, variables: Mapping[str, str]) -> int:
        """The call's `priority` variable if it is a whole number 0-100, else the queue's."""
        text = str(variables.get("priority", "")).strip()
        if text.isdigit() and int(text) <= 100:
            return int(text)
        return self.priorities[queue]


def from_plan(plan: p.Plan) -> AcdPlan:
    """Map the plan's queues and agents; `PlanMappingError` if anything does not fit."""
    agents = tuple(_agent(a) for a in plan.agents.values())
    held = {skill for agent in agents for skill in agent.skills}
    templated = {name for name, q in plan.queues.items() if _fields(_skill_names(q))}
    specs: list[QueueSpec] = []
    variants = {}
    priorities = {}
    for name, queue in plan.queues.items():
        options = queue.options
        unknown = set(options) - _MAPPED_KEYS
        if unknown:
            raise PlanMappingError(f"queue {name!r}: cannot map {', '.join(sorted(unknown))} to the ACD")
        priorities[name] = _priority(name, options.get("priority", 0))
        for step in options.get("relax", ()):
            added = step.get("add_queue") if isinstance(step, Mapping) else None
            if added in templated:
                raise PlanMappingError(
                    f"queue {name!r}: relax add_queue {added!r} has skills that depend on the call "
                    f"({', '.join(dict.fromkeys(_skill_names(plan.queues[added])))}); add a queue with fixed skills"
                )
        fields = _fields(_skill_names(queue))
        if not fields:
            specs.append(_spec(name, name, queue, {}))
            continue
        names = {}
        for binding in _bindings(name, _skill_names(queue), fields, held):
            values = tuple(binding[f] for f in fields)
            acd_name = f"{name}[{','.join(f'{f}={binding[f]}' for f in fields)}]"
            names[values] = acd_name
            specs.append(_spec(acd_name, name, queue, binding))
        specs.append(_spec(name, name, queue, None))  # the literal template: nobody qualifies
        variants[name] = (fields, MappingProxyType(names))
    return AcdPlan(tuple(specs), agents, MappingProxyType(variants), MappingProxyType(priorities))


def _agent(agent: p.Agent) -> AgentSpec:
    policy = AgentPolicy() if agent.wrap_up is None else AgentPolicy(wrap_up=agent.wrap_up)
    return AgentSpec(agent.id, agent.name, agent.dial, dict(agent.skills), policy)


def _spec(acd_name: str, name: str, queue: p.Queue, binding: Mapping[str, str] | None) -> QueueSpec:
    """One QueueSpec; `binding` renders templated skills (None keeps them literal)."""
    options = queue.options

    def skills(levels: object, where: str) -> dict[str, int]:
        if not isinstance(levels, Mapping):
            raise PlanMappingError(f"queue {name!r}: {where} must be a mapping of skill to level")
        rendered = {}
        for skill, level in levels.items():
            key = skill if binding is None else Template.parse(skill).render(binding)
            rendered[key] = level
        return rendered

    require = skills(options.get("require", {}), "require")
    strategy = options.get("strategy", Strategy.LONGEST_IDLE.value)
    if strategy not in set(Strategy):
        raise PlanMappingError(
            f"queue {name!r}: unknown strategy {strategy!r} "
            f"(expected one of: {', '.join(s.value for s in Strategy)})"
        )
    relax = _relax(name, options.get("relax", ()), require, skills)
    no_agents = queue.no_agents is not None
    try:
        return QueueSpec(
            name=acd_name,
            require=require,
            max_wait=float(queue.max_wait),
            max_wait_destination=name,
            strategy=Strategy(strategy),
            relax=relax,
            join_empty=not no_agents,
            leave_when_empty=no_agents,
        )
    except PlanMappingError:
        raise
    except SpecError as exc:
        raise PlanMappingError(f"queue {name!r}: {exc}") from exc


def _relax(name: str, steps: Iterable[object], require: Mapping[str, int], skills) -> tuple[RelaxStep, ...]:
    current = dict(require)
    out = []
    for number, step in enumerate(steps, 1):
        where = f"relax step {number}"
        if not isinstance(step, Mapping) or set(step) - {"after", "require", "add_queue"}:
            raise PlanMappingError(f"queue {name!r}: {where} must be {{after, require and/or add_queue}}")
        lowered = {}
        for skill, level in skills(step.get("require", {}), where).items():
            if skill not in current:
                raise PlanMappingError(f"queue {name!r}: {where} relaxes {skill!r}, which the queue does not require")
            if level > current[skill]:
                raise PlanMappingError(
                    f"queue {name!r}: {where} raises {skill!r} from {current[skill]} to {level}; steps may only relax"
                )
            if level < current[skill]:
                lowered[skill] = current[skill] = level
        added = step.get("add_queue")
        if not lowered and added is None:
            continue  # relaxes nothing (e.g. names a level already in force)
        out.append(RelaxStep(after=_seconds(name, where, step.get("after")), require=lowered, add_queue=added))
    return tuple(out)


def _skill_names(queue: p.Queue) -> list[str]:
    names = list(_keys(queue.options.get("require")))
    for step in queue.options.get("relax", ()):
        if isinstance(step, Mapping):
            names += _keys(step.get("require"))
    return names


def _keys(levels: object) -> list[str]:
    return [str(k) for k in levels] if isinstance(levels, Mapping) else []


def _fields(skill_names: Iterable[str]) -> tuple[str, ...]:
    """The variables the queue's skill names use, in first-use order."""
    seen: dict[str, None] = {}
    for skill in skill_names:
        for field in Template.parse(skill).fields:
            seen.setdefault(field, None)
    return tuple(seen)


def _bindings(name: str, skill_names: list[str], fields: tuple[str, ...], held: set[str]) -> list[dict[str, str]]:
    """Every binding of `fields` to values seen in agents' skill names."""
    values: dict[str, set[str]] = {f: set() for f in fields}
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
    combos = product(*(sorted(values[f]) for f in fields))
    return [dict(zip(fields, combo)) for combo in combos]


def _seconds(name: str, where: str, value: object) -> float:
    """Seconds from the rules' duration forms: 90, 45s, 3m, 1h30m."""
    result = duration_seconds(value)
    if result is not None:
        return result
    raise PlanMappingError(f"queue {name!r}: {where}: after must be a positive duration, got {value!r}")


def _priority(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
        raise PlanMappingError(f"queue {name!r}: priority must be an integer 0-100, got {value!r}")
    return value
