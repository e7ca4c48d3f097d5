"""The post-call survey: the agent hung up first, the caller stays on.

Each question (the queue's `prompt`, then its `second` if any) is one key
from the survey's `keys`; a wrong key or none is asked again once, then the
question is left unanswered and the survey moves on.  The answers go out in
one `RecordSurvey` at the end (only keyed answers, so a caller who keys
nothing records nothing), then the thanks prompt if any, then the hangup.  A
caller who hangs up mid-survey keeps what they answered so far: the machine
asks for `finish()` on the hangup.

Pure like the machine that owns it: events in, commands out, command ids
from the machine's counter.
"""

from __future__ import annotations

from collections.abc import Callable

from ..rules.plan import SurveySettings
from ..rules.templates import Template
from .commands import Collect, Command, Hangup, Play, RecordSurvey
from .events import CommandFailed, Event, MediaDone

ASKS = 2
"""Each question is asked at most this often (once more after a wrong key)."""
ANSWER_TIMEOUT_MS = 6000


class SurveyDialog:
    """One caller's survey for rules queue `queue` after agent `agent_id`."""

    def __init__(self, settings: SurveySettings, queue: str, agent_id: str,
                 sound: Callable[[Template], str | None], ids: Callable[[], int]) -> None:
        self._settings = settings
        self._queue, self._agent = queue, agent_id
        self._sound = sound
        self._ids = ids
        self._questions = [q for q in (settings.prompt, settings.second) if q is not None]
        self._answers: list[tuple[int, int]] = []
        """(question number from 1, score) for each question answered."""
        self._question = 0
        self._asked = 0
        self._waiting: int | None = None
        self.done = False

    def start(self) -> list[Command]:
        return self._ask()

    def feed(self, event: Event) -> list[Command]:
        if not isinstance(event, (MediaDone, CommandFailed)) or event.command_id != self._waiting:
            return []
        self._waiting = None
        if self._question >= len(self._questions):
            return [Hangup("NORMAL_CLEARING")]  # the thanks prompt is over
        digits = event.digits if isinstance(event, MediaDone) else ""
        if len(digits) == 1 and digits in self._settings.keys:
            self._answers.append((self._question + 1, int(digits)))
        elif self._asked < ASKS and isinstance(event, MediaDone):
            return self._ask()
        self._question, self._asked = self._question + 1, 0
        return self._ask()

    def finish(self) -> list[Command]:
        """The survey's result now (the caller hung up, or it is over)."""
        if self.done:
            return []
        self.done = True
        return [RecordSurvey(self._queue, self._agent, tuple(self._answers))] if self._answers else []

    def _ask(self) -> list[Command]:
        while self._question < len(self._questions):
            sound = self._sound(self._questions[self._question])
            if sound is not None:
                self._asked += 1
                self._waiting = self._ids()
                return [Collect(self._waiting, (sound,), max_digits=1, timeout_ms=ANSWER_TIMEOUT_MS,
                                terminators="none")]
            self._question += 1  # a prompt that cannot be played is no question
        commands = self.finish()
        thanks = self._sound(self._settings.thanks) if self._settings.thanks is not None else None
        if thanks is None:
            return commands + [Hangup("NORMAL_CLEARING")]
        self._waiting = self._ids()
        return commands + [Play(self._waiting, (thanks,))]
