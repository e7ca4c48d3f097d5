"""EWT accuracy on simulated traffic: fsrouter's estimate against Asterisk's, on the very same calls.

    .venv/bin/python bench/ewt_accuracy.py [--hours 40] [--agents 10] [--seed 1] [--wording minutes] [--floor]

The real ACD (`fsrouter.acd.InMemoryAcd`, simulated time) serves one queue
of `--agents` agents: Poisson arrivals, log-normal handle times (mean 240 s,
coefficient of variation 1, as call-centre handle times are skewed), and
callers who abandon after an exponential patience (mean 300 s).  Loads 70,
80, 90, 95 and 100 % (arrival rate x mean handle time / agents).

Every caller who has to wait hears an estimate when they join, from both
methods at the same moment:

* fsrouter: `InMemoryAcd.announce_wait` (fsrouter/acd/ewt.py), the bound
  the caller hears (whole minutes, rounded up; "less than a minute" is 1);
* Asterisk's app_queue.c: ``holdtime`` is a running average updated with
  each answered caller's wait, ``holdtime = (3 * holdtime + wait) >> 2``
  (recalc_holdtime), and a caller who has waited ``w`` hears
  ``abs(((holdtime + 30) - w) / 60)`` minutes in C integer arithmetic
  (say_position; nothing is said when that is 0).

A promise of N minutes is *kept* when the caller was answered within N
minutes of hearing it, *broken* (an under-estimate) when they were still
waiting after N minutes, answered or not; a caller who abandoned before the
bound proves nothing.  *Over-estimate*: for kept promises, the share of the
promised time the caller did not need, (bound - wait) / bound, averaged
over callers, and weighted by time, 1 - (sum of waits) / (sum of bounds).

`--wording` judges other bounds on the same estimate, to see what a finer
wording would buy before recording prompts for it: ``30s`` ("less than 30
seconds", then whole minutes), ``15s`` (quarter minutes), ``unrounded`` (the
estimate's seconds as they are).  `--floor` prints what even a perfect
estimator would over-promise: the caller at position k with every agent busy
waits for k completions, a Gamma(k) wait when handle times are exponential;
promising its 90th percentile keeps 90 % and leaves, on average, the printed
share of each kept promise unused.
"""

from __future__ import annotations

import argparse
import heapq
import itertools
import json
import math
import random
import sys
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from fsrouter.acd import AgentPolicy, AgentSpec, Answered, InMemoryAcd, QueueSpec  # noqa: E402

LOADS = (0.70, 0.80, 0.90, 0.95, 1.00)
MEAN_HANDLE = 240.0
HANDLE_CV = 1.0
MEAN_PATIENCE = 300.0
WARM_UP = 3600.0  # the first simulated hour builds the handle-time history; not judged


@dataclass
class Score:
    """Promises of one method, judged."""

    kept: int = 0
    broken: int = 0
    overs: list[float] = field(default_factory=list)
    promised: float = 0.0  #: seconds promised to the kept promises
    needed: float = 0.0  #: seconds they waited of them

    def judge(self, bound: float, waited: float | None, gave_up_after: float | None) -> None:
        """`waited`: from the promise to the answer (None if never answered);
        `gave_up_after`: from the promise to abandoning."""
        if waited is not None and waited <= bound:
            self.kept += 1
            self.overs.append((bound - waited) / bound)
            self.promised += bound
            self.needed += waited
        elif (waited is not None and waited > bound) or (gave_up_after is not None and gave_up_after > bound):
            self.broken += 1

    def figures(self) -> dict:
        judged = self.kept + self.broken
        return {"judged": judged,
                "kept_share": round(self.kept / judged, 3) if judged else None,
                "under_share": round(self.broken / judged, 3) if judged else None,
                "mean_over_estimate": round(sum(self.overs) / len(self.overs), 3) if self.overs else None,
                "time_weighted_over_estimate": round(1 - self.needed / self.promised, 3) if self.promised else None}


WORDINGS = {
    "minutes": lambda estimate: estimate.minutes * 60,  # what fsrouter says
    "30s": lambda estimate: 30 if estimate.seconds < 30 else estimate.minutes * 60,
    "15s": lambda estimate: math.ceil(estimate.seconds / 15) * 15,
    "unrounded": lambda estimate: estimate.seconds,
}
"""The bound a caller is promised, in seconds, by how the estimate is worded."""


def over_estimate_floor(positions=(1, 2, 3, 5, 10), kept: float = 0.9, samples: int = 200_000) -> dict:
    """Mean over-estimate of kept promises when the bound is the exact `kept`
    quantile of a Gamma(k) wait (k exponential completions): the least any
    estimator keeping that share can leave unused."""
    rng = random.Random(1)
    floors = {}
    for k in positions:
        waits = sorted(sum(rng.expovariate(1.0) for _ in range(k)) for _ in range(samples))
        bound = waits[int(kept * samples)]
        met = [w for w in waits if w <= bound]
        floors[k] = round(sum((bound - w) / bound for w in met) / len(met), 3)
    return floors


class AsteriskHoldtime:
    """app_queue.c's estimate: an exponential average of answered callers' waits."""

    def __init__(self) -> None:
        self.holdtime = 0

    def answered(self, waited: float) -> None:
        self.holdtime = (((self.holdtime << 2) - self.holdtime) + int(waited)) >> 2

    def minutes(self, waited: float) -> int:
        value = (self.holdtime + 30) - int(waited)
        return abs(int(value / 60))  # C's division truncates toward zero


def simulate(load: float, agents: int, hours: float, seed: int, wording: str = "minutes") -> dict:
    rng = random.Random(seed)
    sigma = math.sqrt(math.log(1 + HANDLE_CV ** 2))
    mu = math.log(MEAN_HANDLE) - sigma ** 2 / 2
    rate = load * agents / MEAN_HANDLE
    acd = InMemoryAcd([QueueSpec("q", {"s": 1}, max_wait=24 * 3600.0, max_wait_destination="voicemail")],
                      [AgentSpec(f"a{n}", f"Agent {n}", f"user/a{n}", {"s": 1}, AgentPolicy(wrap_up=0))
                       for n in range(agents)])
    for n in range(agents):
        acd.set_agent_state(f"a{n}", "available", 0.0)
    asterisk = AsteriskHoldtime()
    ours, theirs = Score(), Score()
    promises: dict[str, tuple[float, float | None, int | None]] = {}  # caller -> (at, our bound, asterisk's)
    started: dict[str, float] = {}
    waiting: set[str] = set()
    events: list = []
    order = itertools.count()
    heapq.heappush(events, (rng.expovariate(rate), next(order), "arrive", 0))
    end = WARM_UP + hours * 3600
    callers = 0

    def serve(now: float) -> None:
        for offer in acd.dispatch(now):
            caller = offer.entry_id
            waiting.discard(caller)
            for event in acd.answered(offer.offer_id, now):
                if isinstance(event, Answered):
                    asterisk.answered(now - started[caller])
                    settle(caller, answered_at=now)
            heapq.heappush(events, (now + rng.lognormvariate(mu, sigma), next(order), "end", offer.offer_id))

    def settle(caller: str, *, answered_at: float | None = None, abandoned_at: float | None = None) -> None:
        promise = promises.pop(caller, None)
        if promise is None:
            return
        at, our_bound, their_minutes = promise
        waited = answered_at - at if answered_at is not None else None
        gave_up = abandoned_at - at if abandoned_at is not None else None
        if our_bound is not None:
            ours.judge(our_bound, waited, gave_up)
        if their_minutes:
            theirs.judge(their_minutes * 60, waited, gave_up)

    while events:
        now, _, kind, data = heapq.heappop(events)
        if now > end:
            break
        acd.tick(now)
        if kind == "arrive":
            caller = f"c{data}"
            callers += 1
            started[caller] = now
            waiting.add(caller)
            acd.enqueue(caller, "q", now)
            serve(now)
            if caller in waiting and now >= WARM_UP:
                estimate = acd.announce_wait(caller, now)
                promises[caller] = (now, WORDINGS[wording](estimate) if estimate else None, asterisk.minutes(0))
            heapq.heappush(events, (now + rng.expovariate(1 / MEAN_PATIENCE), next(order), "give_up", caller))
            heapq.heappush(events, (now + rng.expovariate(rate), next(order), "arrive", data + 1))
        elif kind == "end":
            acd.call_ended(data, now)
            serve(now)
        elif kind == "give_up" and data in waiting:
            waiting.discard(data)
            acd.abandon(data, now)
            settle(data, abandoned_at=now)
            serve(now)
    return {"load": load, "callers": callers, "fsrouter": ours.figures(), "asterisk": theirs.figures()}


def run(hours: float = 40.0, agents: int = 10, seed: int = 1, wording: str = "minutes") -> dict:
    results = [simulate(load, agents, hours, seed, wording) for load in LOADS]
    worst_kept = min(r["fsrouter"]["kept_share"] for r in results)
    overs = [r["fsrouter"]["mean_over_estimate"] for r in results]
    under_ratio = max(r["fsrouter"]["under_share"] / r["asterisk"]["under_share"] for r in results
                      if r["asterisk"]["under_share"])
    return {"agents": agents, "hours_per_load": hours, "wording": wording, "mean_handle_s": MEAN_HANDLE, "handle_cv": HANDLE_CV,
            "mean_patience_s": MEAN_PATIENCE, "loads": results, "worst_kept_share": worst_kept,
            "worst_mean_over_estimate": max(overs), "worst_under_ratio_to_asterisk": round(under_ratio, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=40.0)
    parser.add_argument("--agents", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--wording", choices=sorted(WORDINGS), default="minutes")
    parser.add_argument("--floor", action="store_true", help="the least over-estimate keeping 90 %%, by position")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.floor:
        for position, floor in over_estimate_floor().items():
            print(f"position {position}: promising the 90th percentile of the wait leaves {floor:.0%} unused")
        return
    result = run(args.hours, args.agents, args.seed, args.wording)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"{args.agents} agents, {args.hours:g} simulated hours per load, handle log-normal mean "
          f"{MEAN_HANDLE:g} s cv {HANDLE_CV:g}, patience exponential mean {MEAN_PATIENCE:g} s, "
          f"fsrouter's bound worded as {args.wording}")
    print("| load | callers | fsrouter kept | fsrouter under | fsrouter over (time-weighted) | Asterisk kept "
          "| Asterisk under | Asterisk over (time-weighted) |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in result["loads"]:
        ours, theirs = r["fsrouter"], r["asterisk"]
        print(f"| {r['load']:.0%} | {r['callers']:,} | {ours['kept_share']:.1%} ({ours['judged']}) | "
              f"{ours['under_share']:.1%} | {ours['mean_over_estimate']:.0%} "
              f"({ours['time_weighted_over_estimate']:.0%}) | {theirs['kept_share']:.1%} ({theirs['judged']}) | "
              f"{theirs['under_share']:.1%} | {theirs['mean_over_estimate']:.0%} "
              f"({theirs['time_weighted_over_estimate']:.0%}) |")


if __name__ == "__main__":
    main()
