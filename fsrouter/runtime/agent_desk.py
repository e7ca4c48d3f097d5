"""Agents' own states, from three places: the phone, the API and the CLI.

An agent *chooses* one of three states: logged out, available (logged in)
or paused with a reason; the ACD adds the rest (reserved, ringing, on a
call, wrap-up) and applies a pause or logout asked for while busy once the
call and its wrap-up are over (`acd.agents`).  `AgentDesk` is the one way a
choice is made, whoever makes it (a feature-code flow step, `POST
/agents/ID/pause`, `fsrouter agents pause`):

* the change is checked against the agent's state first (unknown agent,
  bad reason, a state that forbids it), then stored, then applied to the
  ACD, under one lock: a store fault refuses the change and nothing is
  applied, so what is stored is always what runs;
* at start each declared agent gets its stored choice, or, with nothing
  stored, the rules' `login: auto` (else logged out); an agent a reload
  adds, likewise;
* a pause the ACD makes itself (too many missed offers) is stored too, so a
  restart does not put an absent agent back in line;
* skills set at run time (`set_skills`) count from the next offer and last
  until a reload changes that agent's skills in the rules (a reload that
  leaves them as they were keeps the run-time ones).

Stored choices are kept in memory as well (read once at start), so a reload
never waits for the database.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

import gevent
import gevent.lock

from fsrouter.acd import AgentState, AgentStateChanged, AgentStatus, UnknownAgent
from fsrouter.acd.model import MAX_LEVEL, MIN_LEVEL
from fsrouter.logs import fields
from fsrouter.rules.agent_step import ACTIONS, DEFAULT_PAUSE_REASON, REASON, REASON_HINT
from fsrouter.rules.skill_layout import skill_name_problem
from fsrouter.store import StoreError

log = logging.getLogger(__name__)

LOGGED_OUT, AVAILABLE, PAUSED = AgentState.LOGGED_OUT, AgentState.AVAILABLE, AgentState.PAUSED


class DeskError(Exception):
    """A change refused; `status` is the HTTP status the API answers with."""

    status = 400


class NoSuchAgent(DeskError):
    status = 404


class BadValue(DeskError):
    status = 400


class StateForbids(DeskError):
    status = 409


class StoreDown(DeskError):
    status = 503


@dataclass(frozen=True)
class Choice:
    state: AgentState
    reason: str = ""


_OUTCOME = {LOGGED_OUT: "logged_out", AVAILABLE: "logged_in", PAUSED: "paused"}


def chosen(status: AgentStatus, stored: Choice | None = None) -> Choice:
    """What the agent has chosen: a pending pause or logout counts as made
    (the ACD keeps a pending pause's reason to itself: `stored` has it)."""
    if status.pending == "logout" or status.state is LOGGED_OUT:
        return Choice(LOGGED_OUT)
    if status.pending == "pause" and stored is not None and stored.state is PAUSED:
        return stored
    if status.pending == "pause" or status.state is PAUSED:
        return Choice(PAUSED, status.reason or DEFAULT_PAUSE_REASON)
    return Choice(AVAILABLE)


def target(agent_id: str, now: Choice, action: str, reason: str) -> Choice:
    """The choice `action` makes from `now`; `StateForbids` where it makes no sense."""
    if action == "toggle_pause":
        action = "unpause" if now.state is PAUSED else "pause"
    if action == "logout":
        return Choice(LOGGED_OUT)
    if now.state is LOGGED_OUT and action != "login":
        raise StateForbids(f"agent {agent_id} is logged out: log in first")
    if action == "login":
        if now.state is PAUSED:
            raise StateForbids(f"agent {agent_id} is logged in and paused ({now.reason}): unpause instead")
        return Choice(AVAILABLE)
    if action == "pause":
        return Choice(PAUSED, reason or DEFAULT_PAUSE_REASON)
    return Choice(AVAILABLE)  # unpause


class AgentDesk:
    def __init__(self, queues, store, *, spawn: Callable = gevent.spawn) -> None:
        """`queues` is the service's `QueueRuntime`, `store` a (gevent) `Store`."""
        self._queues = queues
        self._store = store
        self._spawn = spawn
        self._lock = gevent.lock.RLock()
        self._stored: dict[str, Choice] = {}
        self._skills: dict[str, tuple[Mapping[str, int], Mapping[str, int]]] = {}
        """Agent id -> (the rules' skills when set, the skills set at run time)."""

    # -- start and reload ------------------------------------------------------

    def restore(self) -> None:
        """At start: each agent's stored choice, else the rules' `login`.  A
        store that cannot be read is said once, and the rules decide."""
        try:
            records = self._store.agent_states()
        except StoreError as exc:
            log.error("agent states cannot be read (%s): agents start as the rules say", exc)
            records = {}
        self._stored = {agent_id: Choice(AgentState(r.state), r.reason) for agent_id, r in records.items()}
        self._start(self._queues.plan.agents.values())

    def after_reload(self, previous: Mapping, plan) -> None:
        """A reload swapped `previous` (the old plan's agents) for `plan`'s:
        new agents start as at start-up; run-time skills stay only where
        the rules kept that agent's skills.  Never yields, never raises."""
        try:
            self._start(a for a in plan.agents.values() if a.id not in previous)
            for agent_id, (rules_skills, skills) in list(self._skills.items()):
                agent = plan.agents.get(agent_id)
                if agent is None or dict(agent.skills) != dict(rules_skills):
                    del self._skills[agent_id]
                else:
                    self._apply_skills(agent_id, skills)
        except Exception:  # noqa: BLE001 - the reload itself has happened
            log.exception("agent states after the reload could not all be applied")

    def _start(self, agents) -> None:
        for agent in agents:
            choice = self._stored.get(agent.id) or (Choice(AVAILABLE) if agent.auto_login else None)
            if choice is not None and choice.state is not LOGGED_OUT:
                self._queues.set_agent_state(agent.id, choice.state, choice.reason)

    # -- changes -----------------------------------------------------------------

    def change(self, agent_id: str, action: str, reason: str = "") -> AgentStatus:
        """Carry out `action` (`rules.agent_step.ACTIONS`) for the agent; its
        status after.  `DeskError` (with the API status) when refused."""
        if action not in ACTIONS:
            raise BadValue(f"unknown action {action!r}: one of {', '.join(ACTIONS)}")
        if reason and not REASON.fullmatch(reason):
            raise BadValue(f"bad pause reason {reason!r}: {REASON_HINT}")
        with self._lock:
            now = self.chosen(agent_id)
            wanted = target(agent_id, now, action, reason)
            if wanted != now:
                self._save(agent_id, wanted)
                self._queues.set_agent_state(agent_id, wanted.state, wanted.reason)
                log.info("agent %s: %s -> %s%s", agent_id, now.state, wanted.state,
                         f" ({wanted.reason})" if wanted.reason else "", extra=fields(agent=agent_id))
            return self.status(agent_id)

    def feature_code(self, agent_id: str, action: str, reason: str = "") -> str:
        """`change` for an `agent:` flow step: the outcome to say
        (`rules.agent_step.OUTCOMES`), never an exception."""
        try:
            before = self.chosen(agent_id)
            self.change(agent_id, action, reason)
            after = self.chosen(agent_id)
        except NoSuchAgent:
            return "unknown"
        except DeskError as exc:
            log.info("agent %s: %s refused: %s", agent_id, action, exc, extra=fields(agent=agent_id))
            return "refused"
        if before.state is PAUSED and after.state is AVAILABLE:
            return "unpaused"
        return _OUTCOME[after.state]

    def set_skills(self, agent_id: str, changes: Mapping[str, object]) -> AgentStatus:
        """Set skill levels (1-10; 0 or null removes the skill) from the next
        offer on, until a reload changes the agent's skills in the rules."""
        if not changes:
            raise BadValue('no skills given: e.g. {"billing": 7}')
        with self._lock:
            skills = dict(self.status(agent_id).skills)
            for name, level in changes.items():
                problem = skill_name_problem(name, placeholders=False)
                if problem is not None:
                    raise BadValue(f"bad skill name {name!r}: {problem}")
                is_integer = isinstance(level, int) and not isinstance(level, bool)  # JSON false == 0
                if level is None or (is_integer and level == 0):
                    skills.pop(name, None)
                elif is_integer and MIN_LEVEL <= level <= MAX_LEVEL:
                    skills[name] = level
                else:
                    raise BadValue(f"level of skill {name!r} must be an integer {MIN_LEVEL}-{MAX_LEVEL} "
                                   f"(0 removes it), got {level!r}")
            declared = self._queues.plan.agents.get(agent_id)
            if declared is None:
                raise NoSuchAgent(f"agent {agent_id!r} was removed from the rules")
            self._skills[agent_id] = (declared.skills, MappingProxyType(skills))
            self._apply_skills(agent_id, skills)
            log.info("agent %s: skills set to %s", agent_id, skills, extra=fields(agent=agent_id))
            return self.status(agent_id)

    def _apply_skills(self, agent_id: str, skills: Mapping[str, int]) -> None:
        queues = self._queues
        queues.handle(queues.acd.set_skills(agent_id, skills, queues.now()))
        queues.wake()

    def _save(self, agent_id: str, choice: Choice) -> None:
        try:
            self._store.save_agent_state(agent_id, str(choice.state), choice.reason, self._queues.now())
        except StoreError as exc:
            log.error("agent %s: state not changed, the store refused it: %s", agent_id, exc,
                      extra=fields(agent=agent_id))
            raise StoreDown(f"the agent state cannot be stored, so it was not changed: {exc}") from None
        self._stored[agent_id] = choice

    # -- what the ACD does by itself ---------------------------------------------

    def on_events(self, events: list) -> None:
        """Store the pauses the ACD makes itself (missed offers), off this
        greenlet: it is the dispatcher's and must not wait for the database."""
        for event in events:
            if (isinstance(event, AgentStateChanged) and event.new is PAUSED
                    and self._stored.get(event.agent_id) != Choice(PAUSED, event.reason)):
                self._spawn(self._store_pause, event.agent_id, event.reason)

    def _store_pause(self, agent_id: str, reason: str) -> None:
        with self._lock:
            # A change made while this greenlet waited for the lock (an
            # unpause, a logout) is the newer choice: the pause is no longer.
            try:
                if self.chosen(agent_id) != Choice(PAUSED, reason):
                    return
            except NoSuchAgent:
                return
            try:
                self._save(agent_id, Choice(PAUSED, reason))
            except StoreDown:
                pass  # logged; the agent is paused now and would be back in line after a restart

    # -- reading -----------------------------------------------------------------

    def status(self, agent_id: str) -> AgentStatus:
        try:
            return self._queues.acd.agent_status(agent_id)
        except UnknownAgent:
            raise NoSuchAgent(f"no agent {agent_id!r}") from None

    def chosen(self, agent_id: str) -> Choice:
        """The state the agent chose (logged out, available, paused and why)."""
        return chosen(self.status(agent_id), self._stored.get(agent_id))

    def agent_ids(self) -> list[str]:
        return list(self._queues.plan.agents)
