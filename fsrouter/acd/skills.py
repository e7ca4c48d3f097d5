"""Skill matching: which agents may take a queue's entries, stage by stage.

A queue's requirement and its relaxation steps compile into *stages*: stage 0
is the queue's own requirement, stage k what is accepted once k steps are in
force.  A stage is a set of alternatives (an agent must meet any one): the
queue's own, possibly relaxed, requirement, plus the base requirement of each
queue whose pool a step added.  Steps only relax, so an agent admitted at
stage k is admitted at every later stage, and an agent's eligibility for a
queue is one number: the first stage that admits it.  That number is computed
once per agent and queue (when the agent is declared or its skills change),
which is what keeps selection cheap.
"""

from __future__ import annotations

from collections.abc import Mapping

from fsrouter.acd.errors import SpecError
from fsrouter.acd.model import QueueSpec

Requirement = tuple[tuple[str, int], ...]
"""(skill, minimum level) pairs an agent must all meet."""

Stage = tuple[Requirement, ...]
"""Alternatives: an agent meeting any one of them is admitted."""


def requirement(levels: Mapping[str, int]) -> Requirement:
    return tuple(sorted(levels.items()))


def compile_stages(spec: QueueSpec, specs: Mapping[str, QueueSpec]) -> tuple[Stage, ...]:
    """The stages of `spec`; `specs` resolves the queues that steps add."""
    own = dict(spec.require)
    pools: list[Requirement] = []
    stages = [(requirement(own),)]
    for step in spec.relax:
        own.update(step.require)
        for skill in step.drop:
            del own[skill]
        if step.add_queue is not None:
            if step.add_queue not in specs:
                raise SpecError(f"queue {spec.name!r}: relax step adds unknown queue {step.add_queue!r}")
            pool = requirement(specs[step.add_queue].require)
            if pool not in pools:
                pools.append(pool)
        stages.append((requirement(own), *pools))
    return tuple(stages)


def meets(skills: Mapping[str, int], needed: Requirement) -> bool:
    for skill, level in needed:
        if skills.get(skill, 0) < level:
            return False
    return True


def admits(skills: Mapping[str, int], stage: Stage) -> bool:
    return any(meets(skills, needed) for needed in stage)


def first_stage(skills: Mapping[str, int], stages: tuple[Stage, ...]) -> int | None:
    """The first stage admitting an agent with `skills`, or None if none ever does."""
    if not admits(skills, stages[-1]):
        return None
    return next(number for number, stage in enumerate(stages) if admits(skills, stage))
