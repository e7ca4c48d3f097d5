"""bench/ewt_accuracy.py's wordings and the over-estimate floor it prints."""

import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from ewt_accuracy import WORDINGS, over_estimate_floor  # noqa: E402

from fsrouter.acd.ewt import Estimate  # noqa: E402


def test_each_wording_bounds_the_same_estimate():
    short, longer = Estimate.from_seconds(20, 60), Estimate.from_seconds(75, 60)
    assert [WORDINGS["minutes"](e) for e in (short, longer)] == [60, 120]
    assert [WORDINGS["30s"](e) for e in (short, longer)] == [30, 120]
    assert [WORDINGS["15s"](e) for e in (short, longer)] == [30, 75]
    assert [WORDINGS["unrounded"](e) for e in (short, longer)] == [20, 75]


def test_the_floor_at_position_one_is_the_exponential_one():
    # Exponential wait, bound b = ln 10 (its 90th percentile): E[w | w <= b] = (1 - 0.1 (1 + b)) / 0.9.
    b = math.log(10)
    exact = 1 - (1 - 0.1 * (1 + b)) / 0.9 / b
    floors = over_estimate_floor(positions=(1, 4), samples=50_000)
    assert abs(floors[1] - exact) < 0.01
    assert floors[4] < floors[1]  # more completions to wait for: a narrower wait, less left unused
