"""From the compiled rules to the ACD's specs (sans-IO, pure).

The rules compile a queue's ACD settings into typed fields of `plan.Queue`
(`require`, `relax`, `strategy`, `priority`), and `rules.skill_layout`
computes the ACD queues they make; `fsrouter check` runs that same
computation and reports what it finds, so a plan that passed the check maps
without fail.  `PlanMappingError` here is an internal error (the check and
the mapping disagree), never a user's mistake to discover at start-up.

What is mapped:

* each `skill_layout.Variant` -> a `QueueSpec` (one per binding of a
  queue's templated skills, plus the bare name; see `skill_layout`);
* `relax` steps: the levels each lowers, and the pool `add_queue` adds.
  The rules cannot express dropping a skill yet (levels are 1-10), so
  `RelaxStep.drop` stays unused;
* `strategy`, and `priority` (the queue's default; a call's own `priority`
  variable, e.g. set by a VIP route, overrides it at join time);
* `max_wait`: the destination is the queue's own name, because the flow
  machine resolves `max_wait_then` itself;
* `no_agents`: when declared, the queue refuses callers nobody serving could
  take (`join_empty=False`) and sends waiting callers there when the last
  such agent stops serving (`leave_when_empty=True`); otherwise callers
  always join and wait up to max_wait.

`announce`, `callback` and `whisper` are not the core's business: the flow
and the IO layer read them from `plan.Queue`.  `AcdPlan.queue_for(name,
variables)` picks the ACD queue of a call: positions and EWT are then per
binding, which is what the caller should hear: only agents speaking their
language serve them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from fsrouter.acd.errors import SpecError
from fsrouter.acd.model import AgentPolicy, AgentSpec, QueueSpec, RelaxStep, Strategy
from fsrouter.rules import plan as p
from fsrouter.rules.skill_layout import Variant, fields, layout


class PlanMappingError(SpecError):
    """The ACD cannot run a plan the rules check passed (an internal error),
    or a call names a queue the plan does not have."""


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
        if text.isascii() and text.isdigit() and len(text) <= 3 and int(text) <= 100:
            return int(text)
        return self.priorities[queue]


def from_plan(plan: p.Plan) -> AcdPlan:
    """Map the plan's queues and agents; `PlanMappingError` only if the rules
    check let through something the ACD refuses (a bug)."""
    try:
        return _map(plan)
    except (SpecError, ValueError) as exc:
        raise PlanMappingError(f"internal error: checked rules do not map to the ACD: {exc}") from exc


def _map(plan: p.Plan) -> AcdPlan:
    agents = tuple(_agent(a) for a in plan.agents.values())
    held = {skill for agent in agents for skill in agent.skills}
    templated = {name for name, q in plan.queues.items() if fields(q)}
    specs: list[QueueSpec] = []
    variants = {}
    for name, queue in plan.queues.items():
        acd_queues, issues = layout(queue, held, templated)
        unknown = {rule.add_queue for rule in queue.relax} - {None, *plan.queues}
        if unknown:
            raise SpecError(f"queue {name!r}: relax adds unknown queues {sorted(unknown)}")
        if issues:
            raise SpecError(f"queue {name!r}: " + "; ".join(issue.message for issue in issues))
        specs.extend(_spec(queue, variant) for variant in acd_queues)
        names = fields(queue)
        if names:
            bound = {tuple(v.binding[f] for f in names): v.name for v in acd_queues if v.binding is not None}
            variants[name] = (names, MappingProxyType(bound))
    priorities = {name: queue.priority for name, queue in plan.queues.items()}
    return AcdPlan(tuple(specs), agents, MappingProxyType(variants), MappingProxyType(priorities))


def _agent(agent: p.Agent) -> AgentSpec:
    policy = AgentPolicy() if agent.wrap_up is None else AgentPolicy(wrap_up=agent.wrap_up)
    return AgentSpec(agent.id, agent.name, agent.dial, dict(agent.skills), policy)


def _spec(queue: p.Queue, variant: Variant) -> QueueSpec:
    no_agents = queue.no_agents is not None
    return QueueSpec(
        name=variant.name,
        require=variant.require,
        max_wait=float(queue.max_wait),
        max_wait_destination=queue.name,
        strategy=Strategy(queue.strategy),
        relax=tuple(RelaxStep(after=s.after, require=s.require, add_queue=s.add_queue) for s in variant.stages),
        join_empty=not no_agents,
        leave_when_empty=no_agents,
    )
