"""Durations that vary from call to call: handle times, caller patience, arrival gaps.

A `Duration` is a fixed number of sim seconds or a callable drawing one from
the switch's seeded ``random.Random`` -- so a seeded run is repeatable.
`Distribution` is such a callable that scenario files can spell
(``{exponential: 120}``) and that prints as it was written.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

#: Sim seconds: fixed, or drawn from the switch's seeded rng.
Duration = float | Callable[[random.Random], float] | None


def draw(duration: Duration, rng: random.Random) -> float | None:
    """A `Duration` as a number of sim seconds (None stays None)."""
    if duration is None:
        return None
    return float(duration(rng) if callable(duration) else duration)


@dataclass(frozen=True)
class Distribution:
    """A named distribution of sim seconds, never negative.

    ``exponential`` takes the mean (arrival gaps of a Poisson process, how
    long callers are willing to wait); ``uniform`` a low and a high bound;
    ``normal`` a mean and a standard deviation (cut off at 0).
    """

    kind: str
    params: tuple[float, ...]

    ARITY = {"exponential": 1, "uniform": 2, "normal": 2}

    def __post_init__(self) -> None:
        if self.kind not in self.ARITY:
            raise ValueError(f"unknown distribution {self.kind!r}; known: {sorted(self.ARITY)}")
        if len(self.params) != self.ARITY[self.kind] or any(p < 0 for p in self.params):
            raise ValueError(f"{self.kind} takes {self.ARITY[self.kind]} number(s) >= 0, got {list(self.params)}")

    @classmethod
    def parse(cls, spec: Any) -> Duration:
        """A number, or a one-key mapping ``{exponential: 120}`` / ``{uniform: [20, 60]}``."""
        if isinstance(spec, (int, float)) and not isinstance(spec, bool) and spec >= 0:
            return float(spec)
        if isinstance(spec, Mapping) and len(spec) == 1:
            [(kind, params)] = spec.items()
            values = params if isinstance(params, (list, tuple)) else [params]
            if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
                return cls(str(kind), tuple(float(v) for v in values))
        raise ValueError(f"expected seconds >= 0 or {{exponential: MEAN}}, {{uniform: [LOW, HIGH]}}, "
                         f"{{normal: [MEAN, SD]}}; got {spec!r}")

    def __call__(self, rng: random.Random) -> float:
        if self.kind == "exponential":
            return rng.expovariate(1 / self.params[0]) if self.params[0] > 0 else 0.0
        if self.kind == "uniform":
            return rng.uniform(*self.params)
        return max(0.0, rng.gauss(*self.params))
