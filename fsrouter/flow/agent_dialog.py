"""An `agent:` step in a call: identify the agent, ask for the change, say
what happened.

1. The agent is the one calling from the number (`rules.agent_step
   .by_caller_id`), or the dialog asks for the agent id and, unless the step
   says not to, the PIN; a wrong pair is answered "those do not match" and
   asked again, at most `RETRIES` more times, then the call is told no
   and the dialog ends.  PINs are compared in constant time.
2. The change itself is the runtime's: the dialog emits `ChangeAgentState`
   and waits for `AgentChanged` (logged in, paused, refused...).
3. It says the outcome (`agent/<outcome>`) and ends; the machine then
   follows the step's `done` edge.

Pure like the machine that owns it: events in, commands out, command ids
from the machine's counter.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable, Mapping, Sequence

from ..rules import plan as p
from ..rules.agent_step import BAD_PIN, by_caller_id
from ..rules.templates import Template
from .commands import ChangeAgentState, Collect, Command, Play
from .events import AgentChanged, CommandFailed, Event, MediaDone

log = logging.getLogger(__name__)

RETRIES = 2
"""How often the id and PIN are asked again after a wrong pair."""
MAX_DIGITS = 12
TIMEOUT_MS = 8000
DIGIT_TIMEOUT_MS = 4000


class AgentDialog:
    """One run of an `agent:` step; `finished` once the outcome was said."""

    def __init__(
        self,
        step: p.AgentDesk,
        agents: Mapping[str, p.Agent],
        variables: Mapping[str, str],
        prompts: Callable[[Sequence[str]], tuple[str, ...]],
        sound: Callable[[Template], str | None],
        next_id: Callable[[], int],
    ) -> None:
        """`prompts` turns fixed prompt ids into sound paths in the call's
        language and `sound` does so for the step's own prompt templates;
        `next_id` hands out the machine's command ids."""
        self._step = step
        self._agents = agents
        self._variables = variables
        self._prompts = prompts
        self._sound = sound
        self._next_id = next_id
        self._phase = "new"  # ask_id, ask_pin, changing, saying, finished
        self._agent_id = ""
        self._misses = 0
        self._waiting: int | None = None
        self.agent_id: str | None = None
        """The agent identified, once known."""
        self.outcome: str | None = None
        """What the runtime answered (`rules.agent_step.OUTCOMES`), or
        "unknown" when nobody was identified."""

    @property
    def finished(self) -> bool:
        return self._phase == "finished"

    def start(self) -> list[Command]:
        if self._step.ask is not None:
            return self._ask(self._step.ask, "ask_id")
        agent_id = by_caller_id(self._agents, self._variables.get("caller_id_number", ""))
        if agent_id is None:
            return self._say("unknown")
        return self._change(agent_id)

    def feed(self, event: Event) -> list[Command]:
        if isinstance(event, AgentChanged) and self._phase == "changing":
            return self._say(event.outcome)
        if not isinstance(event, (MediaDone, CommandFailed)) or event.command_id != self._waiting:
            return []
        self._waiting = None
        digits = event.digits if isinstance(event, MediaDone) else ""
        if self._phase == "ask_id":
            self._agent_id = digits
            if self._step.pin is not None:
                return self._ask(self._step.pin, "ask_pin")
            return self._check(pin=None)
        if self._phase == "ask_pin":
            return self._check(pin=digits)
        return self._after(self._phase)

    def _check(self, pin: str | None) -> list[Command]:
        """The keyed id (and PIN) name an agent: ask for the change; else
        say so and ask again, or give up."""
        agent = self._agents.get(self._agent_id)
        if agent is not None and (pin is None or _same_pin(agent.pin, pin)):
            return self._change(agent.id)
        self._misses += 1
        if self._misses > RETRIES:
            log.info("agent step: no agent id and PIN matched after %d tries", self._misses)
            self.outcome = "unknown"
            return self._play(self._prompts([BAD_PIN]), "saying")
        return self._play(self._prompts([BAD_PIN]), "bad_pin")

    def _change(self, agent_id: str) -> list[Command]:
        self.agent_id = agent_id
        self._phase = "changing"
        return [ChangeAgentState(agent_id, self._step.action, self._step.reason)]

    def _say(self, outcome: str) -> list[Command]:
        self.outcome = outcome
        return self._play(self._prompts([f"agent/{outcome}"]), "saying")

    def _ask(self, prompt: Template, phase: str) -> list[Command]:
        sound = self._sound(prompt)
        if sound is None:  # nothing to ask with (the machine logged why)
            return self._say("unknown")
        self._phase = phase
        self._waiting = self._next_id()
        return [Collect(self._waiting, (sound,), max_digits=MAX_DIGITS, timeout_ms=TIMEOUT_MS,
                        digit_timeout_ms=DIGIT_TIMEOUT_MS)]

    def _play(self, sounds: tuple[str, ...], phase: str) -> list[Command]:
        """Play, then go on from `phase` ("bad_pin": ask again; "saying": end)."""
        if not sounds:  # the prompt cannot be played: go on without it
            return self._after(phase)
        self._phase = phase
        self._waiting = self._next_id()
        return [Play(self._waiting, sounds)]

    def _after(self, phase: str) -> list[Command]:
        if phase == "bad_pin":
            return self._ask(self._step.ask, "ask_id")
        self._phase = "finished"  # the outcome was said (or could not be)
        return []


def _same_pin(declared: str | None, keyed: str) -> bool:
    """An agent without a PIN cannot be identified by keying; compared in
    constant time so the keyed digits cannot be guessed one by one."""
    return declared is not None and hmac.compare_digest(declared.encode(), keyed.encode())
