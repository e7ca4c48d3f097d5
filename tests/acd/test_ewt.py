"""EWT: worded in buckets, conservative, silent when it would be a guess, measured."""

import heapq
import random
import statistics

import pytest

from fsrouter.acd import Answered, Bucket, Estimate, EwtAccuracy, EwtPolicy, InMemoryAcd, TimedOut
from fsrouter.acd.ewt import HandleTimes

from .helpers import AgentPolicy, agent, login, only_offer, queue

NO_WRAP = AgentPolicy(wrap_up=0)


@pytest.mark.parametrize(
    ("seconds", "phrase"),
    [
        (0, "less than a minute"),
        (59.9, "less than a minute"),
        (60, "1 minute"),
        (61, "2 minutes"),
        (20 * 60, "20 minutes"),
        (20 * 60 + 1, "more than 20 minutes"),
    ],
)
def test_wording_rounds_up_to_whole_minutes_and_caps(seconds, phrase):
    assert Estimate.from_seconds(seconds, cap_minutes=20).phrase == phrase


def test_the_quantile_is_the_nearest_rank_over_a_sliding_window():
    times = HandleTimes(window=5)
    for seconds in (1000, 100, 200, 300, 400, 500):  # 1000 slides out
        times.add(seconds)
    assert times.quantile(0.8) == 400
    assert times.quantile(1.0) == 500


def centre(agents=2, policy=EwtPolicy(min_samples=5)):
    acd = InMemoryAcd([queue("q", {"s": 1}, ewt=policy)], [agent(f"a{n}", NO_WRAP, s=1) for n in range(agents)])
    login(acd, *(f"a{n}" for n in range(agents)))
    return acd


def run_calls(acd, handle_times, start=0.0):
    """Serve one call per handle time, one after the other; returns the end time."""
    now = start
    for n, seconds in enumerate(handle_times):
        acd.enqueue(f"past{n}", "q", now)
        offer = only_offer(acd.dispatch(now))
        acd.answered(offer.offer_id, now)
        now += seconds
        acd.call_ended(offer.offer_id, now)
        acd.tick(now)
    return now


def test_no_estimate_without_enough_samples_or_without_agents():
    acd = centre()
    now = run_calls(acd, [120] * 4)
    acd.enqueue("c", "q", now)
    acd.set_agent_state("a1", "paused", now, "x")
    assert acd.estimate_wait("c", now) is None  # four samples
    acd.remove("c", now)
    now = run_calls(acd, [120], start=now)
    acd.enqueue("d", "q", now)
    assert acd.estimate_wait("d", now).phrase == "2 minutes"
    acd.set_agent_state("a0", "paused", now, "x")
    assert acd.estimate_wait("d", now) is None  # nobody serving


def test_estimate_uses_the_upper_quantile_position_and_serving_agents():
    acd = centre(agents=2)
    handle_times = [30, 60, 90, 120, 150, 180, 240, 300, 420, 600]  # p80 (8th of 10) = 300, mean = 219
    now = run_calls(acd, handle_times)
    for agent_id in ("a0", "a1"):  # both on calls, so callers wait
        acd.enqueue(f"busy_{agent_id}", "q", now)
    for offer in acd.dispatch(now):
        acd.answered(offer.offer_id, now)
    for n in range(1, 4):
        acd.enqueue(f"c{n}", "q", now)
    estimate = acd.estimate_wait("c3", now)
    assert estimate.seconds == 3 * 300 / 2
    assert estimate.seconds > 3 * statistics.mean(handle_times) / 2
    assert (estimate.bucket, estimate.minutes) == (Bucket.MINUTES, 8)


def test_promises_travel_with_the_outcome_and_can_be_judged():
    acd = centre(agents=1, policy=EwtPolicy(min_samples=1))
    now = run_calls(acd, [100])
    acd.enqueue("busy", "q", now)
    call = only_offer(acd.dispatch(now))
    acd.answered(call.offer_id, now)
    acd.enqueue("kept", "q", now)
    acd.enqueue("broken", "q", now)
    promise = acd.announce_wait("kept", now)
    assert promise.phrase == "2 minutes"  # 1 × 100 s rounded up
    acd.announce_wait("broken", now)  # 2 × 100 s: "4 minutes"
    acd.call_ended(call.offer_id, now + 90)
    offer = only_offer(acd.dispatch(now + 90))
    [answered] = [e for e in acd.answered(offer.offer_id, now + 95) if isinstance(e, Answered)]
    assert answered.entry_id == "kept" and answered.promises[0].estimate == promise
    [timed_out] = [e for e in acd.tick(now + 900) if isinstance(e, TimedOut)]
    accuracy = EwtAccuracy()
    accuracy.observe(answered)
    accuracy.observe(timed_out)
    assert (accuracy.kept, accuracy.broken) == (1, 1)
    assert accuracy.errors == [95 - promise.seconds]


def test_most_promises_are_kept_in_a_busy_centre():
    """A simulated hour and more at 90% load, exponential handle times: the
    conservative estimate should be kept for the great majority of callers."""
    rng = random.Random(7)
    acd = centre(agents=3)
    accuracy = EwtAccuracy()
    ends: list[tuple[float, int]] = []
    now, next_arrival = 0.0, 0.0
    for number in range(400):
        while ends and ends[0][0] <= next_arrival:
            now, offer_id = heapq.heappop(ends)
            acd.call_ended(offer_id, now)
            acd.tick(now)
            for offer in acd.dispatch(now):
                ends_at = now + rng.expovariate(1 / 180)
                heapq.heappush(ends, (ends_at, offer.offer_id))
                for event in acd.answered(offer.offer_id, now):
                    if isinstance(event, Answered):
                        accuracy.observe(event)
        now = next_arrival
        acd.enqueue(f"c{number}", "q", now)
        offers = acd.dispatch(now)  # at most this caller: the others wait for a busy agent
        for offer in offers:
            heapq.heappush(ends, (now + rng.expovariate(1 / 180), offer.offer_id))
            acd.answered(offer.offer_id, now)
        if not offers:
            acd.announce_wait(f"c{number}", now)
        next_arrival = now + rng.expovariate(0.9 * 3 / 180)
    assert accuracy.kept + accuracy.broken > 100
    assert accuracy.kept_ratio >= 0.8
