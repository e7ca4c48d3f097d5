"""Agent-selection latency of the ACD core at call-centre scale.

    .venv/bin/python bench/acd_select.py
    .venv/bin/python bench/acd_select.py --agents 10000 --skills 50 --queues 200 --waiting 10000 --decisions 5000

A centre of AGENTS agents, each with all SKILLS skills at random levels 1-10,
and QUEUES queues each requiring 1-3 random skills (levels 3-9) with two
relaxation steps (lower a level after 30 s; drop a skill or add another
queue's pool after 90 s) and a random strategy.  Time is simulated; the
figures are wall-clock costs of single calls into the core:

* entry arrives -> agent chosen: `enqueue` + `dispatch` while agents are free
  (the fill phase, from all agents free down to none);
* entry arrives -> nobody free: the same once every agent is busy and up to
  WAITING entries wait;
* agent free -> entry chosen: `call_ended` (no wrap-up) + `dispatch` with
  WAITING entries waiting: the agent's wrap-up ends, it picks the entry it
  should take, and is reserved;
* position and EWT queries on random waiting entries.

Each decision includes whatever deadlines (relaxation steps) fall due with it.
Prints p50 / p99 / max in microseconds; no assertions.
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import time

from fsrouter.acd import AgentPolicy, AgentSpec, InMemoryAcd, QueueSpec, RelaxStep, Strategy


def build(args, rng):
    skills = [f"skill{n}" for n in range(args.skills)]
    queues = []
    for number in range(args.queues):
        require = {skill: rng.randint(3, 9) for skill in rng.sample(skills, rng.randint(1, 3))}
        lowered = rng.choice(sorted(require))
        steps = [RelaxStep(30, require={lowered: max(1, require[lowered] - 2)})]
        if len(require) > 1:
            steps.append(RelaxStep(90, drop={rng.choice(sorted(set(require) - {lowered}))}))
        else:
            steps.append(RelaxStep(90, add_queue=f"q{rng.choice([n for n in range(args.queues) if n != number])}"))
        queues.append(
            QueueSpec(
                f"q{number}",
                require,
                max_wait=86_400,
                max_wait_destination="voicemail",
                strategy=rng.choice(list(Strategy)),
                relax=tuple(steps),
            )
        )
    policy = AgentPolicy(wrap_up=0)
    agents = [
        AgentSpec(f"a{n}", f"Agent {n}", f"user/a{n}", {skill: rng.randint(1, 10) for skill in skills}, policy)
        for n in range(args.agents)
    ]
    return queues, agents


def timed(samples, call, *args):
    start = time.perf_counter_ns()
    result = call(*args)
    samples.append((time.perf_counter_ns() - start) / 1000)
    return result


def report(name, samples):
    if not samples:
        print(f"{name:<38} (none)")
        return
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    print(
        f"{name:<38} n={len(ordered):>6}  p50={statistics.median(ordered):8.1f}  "
        f"p99={p99:8.1f}  max={ordered[-1]:9.1f}  (µs)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, default=10_000)
    parser.add_argument("--skills", type=int, default=50)
    parser.add_argument("--queues", type=int, default=200)
    parser.add_argument("--waiting", type=int, default=10_000)
    parser.add_argument("--decisions", type=int, default=5_000)
    parser.add_argument("--queries", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    started = time.perf_counter()
    queues, agents = build(args, rng)
    acd = InMemoryAcd(queues, agents)
    now = 0.0
    for spec in agents:
        acd.set_agent_state(spec.id, "available", now)
    acd.dispatch(now)
    gc.collect()
    gc.freeze()  # as a long-running server would after start-up: the base data is not rescanned
    print(f"setup: {len(agents)} agents, {len(queues)} queues, {time.perf_counter() - started:.1f} s")

    names = [spec.name for spec in queues]
    calls: list[int] = []  # offer ids of calls in progress
    arrive_chosen: list[float] = []
    arrive_none: list[float] = []
    entry_number = 0
    waiting = 0
    while waiting < args.waiting:
        now += 0.01
        entry_number += 1
        before = len(arrive_chosen) + len(arrive_none)
        start = time.perf_counter_ns()
        acd.enqueue(f"e{entry_number}", rng.choice(names), now, priority=rng.choice((0, 0, 0, 1, 5)))
        offers = acd.dispatch(now)
        elapsed = (time.perf_counter_ns() - start) / 1000
        (arrive_chosen if offers else arrive_none).append(elapsed)
        assert len(arrive_chosen) + len(arrive_none) == before + 1
        for offer in offers:
            acd.answered(offer.offer_id, now)
            calls.append(offer.offer_id)
        waiting += not offers
    print(f"fill: {entry_number} entries enqueued, {len(calls)} answered, {waiting} waiting, t={now:.0f} s")

    free_chosen: list[float] = []
    rng.shuffle(calls)
    for _ in range(args.decisions):
        now += 0.05
        offer_id = calls.pop()
        acd.call_ended(offer_id, now)
        offers = timed(free_chosen, acd.dispatch, now)
        for offer in offers:
            acd.answered(offer.offer_id, now)
            calls.insert(rng.randrange(len(calls) + 1), offer.offer_id)
        entry_number += 1
        timed(arrive_none, acd.enqueue, f"e{entry_number}", rng.choice(names), now)
        for offer in acd.dispatch(now):  # usually none: every agent who could take it is busy
            acd.answered(offer.offer_id, now)
            calls.append(offer.offer_id)

    waiting_ids = [f"e{n}" for n in range(1, entry_number + 1)]
    rng.shuffle(waiting_ids)
    position_times: list[float] = []
    ewt_times: list[float] = []
    estimates = 0
    for entry_id in waiting_ids:
        if len(position_times) == args.queries:
            break
        try:
            timed(position_times, acd.position, entry_id, now)
        except LookupError:
            continue  # answered long ago
        estimates += timed(ewt_times, acd.estimate_wait, entry_id, now) is not None

    print(f"steady: {args.decisions} agents freed with about {args.waiting} entries waiting, t={now:.0f} s\n")
    report("entry arrives -> agent chosen", arrive_chosen)
    report("entry arrives -> nobody free", arrive_none)
    report("agent free -> entry chosen", free_chosen)
    report("position query", position_times)
    report(f"EWT query ({estimates} with an estimate)", ewt_times)


if __name__ == "__main__":
    main()
