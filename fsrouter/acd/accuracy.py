"""EWT accuracy: were the waits we announced kept?

Feed it the outcome events (`Answered`, `Abandoned`, ...); each carries the
promises made to that caller.  A promise "N minutes" (or "less than a
minute", N = 1) is *kept* when the caller was answered within N minutes of
hearing it and *broken* when they were still waiting after N minutes,
answered or not: the callers who give up after a broken promise are the ones
that matter most.  A caller who left before the bound proves nothing and is
not counted, nor is "more than N minutes", which promises no upper bound.
`errors` are answered waits minus estimates, in seconds: negative means
answered sooner than estimated, which is what a conservative EWT should show.
"""

from __future__ import annotations

from fsrouter.acd.events import Answered, Outcome
from fsrouter.acd.ewt import Bucket
from fsrouter.figures import judge_promise


class EwtAccuracy:
    def __init__(self) -> None:
        self.kept = 0
        self.broken = 0
        self.errors: list[float] = []

    def observe(self, outcome: Outcome) -> None:
        for promise in outcome.promises:
            estimate = promise.estimate
            error, kept = judge_promise(outcome.at - promise.at, estimate.seconds, estimate.minutes,
                                        estimate.bucket is Bucket.MORE_THAN, isinstance(outcome, Answered))
            if error is not None:
                self.errors.append(error)
            if kept is not None:
                self.kept += kept
                self.broken += not kept

    @property
    def kept_ratio(self) -> float | None:
        judged = self.kept + self.broken
        return self.kept / judged if judged else None
