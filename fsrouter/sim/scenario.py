"""Scenarios: batches of scripted calls, and a report of what each caller went through.

A scenario (YAML, loaded by `load_scenario`) lists groups of calls::

    calls:
      - name: wrong key, then billing
        count: 2                      # calls in this group (default 1)
        destination: "5000"
        caller_id_number: "+3069400000{n}"   # {n}: the call's number in its group, from 1
        caller_id_name: "Demo caller {n}"
        start_after: 0                # sim seconds after the scenario starts (default 0)
        inter_arrival: 2              # sim seconds between this group's calls (default 0)
        keys:                         # the key plan, see fsrouter.sim.caller
          - {press: "9", after_prompt: menu/main}
          - {press: "1", after_prompt: menu/main, occurrence: 2}
        hang_up_after: 60             # sim seconds after answer (optional)
        patience: 120                 # abandon if no agent by then (optional)

A load scenario adds the agents' phones and draws times from distributions
(`fsrouter.sim.dist.Distribution`: a number, ``{exponential: MEAN}``,
``{uniform: [LOW, HIGH]}``, ``{normal: [MEAN, SD]}``)::

    seed: 7                           # makes arrivals, patience and handle times repeatable
    agents:
      - endpoint: "user/{n}"          # {n}: first, first+1, ...
        first: 2000
        count: 50
        answer_after: 3               # sim seconds of ringing
        hang_up_after: {exponential: 180}   # handle time, from the agent's answer
    calls:
      - count: 500
        destination: "5000"
        caller_id_number: "+30690{n:07d}"
        inter_arrival: {exponential: 2}     # Poisson arrivals, one every 2 s on average
        patience: {exponential: 120}

`run_scenario` adds the agents, places the calls against fsrouter's outbound
listener and returns a `Report`: per call the path it took (prompts heard,
keys consumed, where it went), how it ended, how long it waited, and totals.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from fsrouter.sim.agent import AgentScript
from fsrouter.sim.call import SimCall
from fsrouter.sim.caller import Action, CallerScript, HangUp, Press
from fsrouter.sim.dist import Distribution, Duration, draw
from fsrouter.sim.switch import Switch

_GROUP_KEYS = {"name", "count", "destination", "caller_id_number", "caller_id_name", "start_after",
               "inter_arrival", "keys", "hang_up_after", "patience"}
_AGENT_KEYS = {"endpoint", "first", "count", "answer_after", "hang_up_after", "busy", "reject", "unregistered"}
_SCENARIO_KEYS = {"calls", "agents", "seed"}
_TRIGGER_KEYS = {"at", "after_prompt", "after_app_count", "occurrence", "delay"}


class ScenarioError(ValueError):
    """The scenario is malformed; the message says where and what was expected."""


def load_scenario(path: str | os.PathLike) -> dict[str, Any]:
    with open(path, encoding="utf-8") as f:
        try:
            spec = yaml.safe_load(f)
        except yaml.YAMLError as exc:
            raise ScenarioError(f"{os.fspath(path)}: not YAML: {exc}") from None
    if not isinstance(spec, dict):
        raise ScenarioError(f"{os.fspath(path)}: a scenario is a mapping with a 'calls' list")
    return spec


@dataclass(frozen=True)
class PlannedCall:
    group: str
    start: float  #: sim seconds after the scenario starts
    script: CallerScript


def plan(spec: Mapping[str, Any], rng: random.Random | None = None) -> list[PlannedCall]:
    """The calls a scenario places, in starting order; raises ScenarioError.

    Arrival gaps drawn from a distribution use `rng` (default: one seeded
    with the scenario's ``seed``).
    """
    _check_scenario(spec)
    rng = rng or random.Random(spec.get("seed"))
    planned = []
    for index, group in enumerate(spec["calls"], 1):
        where = f"calls[{index}]"
        _check_keys(group, _GROUP_KEYS, where)
        name = str(group.get("name", where))
        actions = tuple(_action(entry, f"{where}.keys[{i}]") for i, entry in enumerate(group.get("keys") or [], 1))
        if group.get("hang_up_after") is not None:
            actions += (HangUp(at=_number(group["hang_up_after"], f"{where}.hang_up_after")),)
        patience = _duration(group.get("patience"), f"{where}.patience")
        gap = _duration(group.get("inter_arrival", 0), f"{where}.inter_arrival")
        start = _number(group.get("start_after", 0), f"{where}.start_after")
        for n in range(1, int(_number(group.get("count", 1), f"{where}.count")) + 1):
            script = CallerScript(
                destination=str(group.get("destination", "5000")),
                caller_id_number=_format(group.get("caller_id_number", "+302101234567"), n, where),
                caller_id_name=_format(group.get("caller_id_name", "Sim Caller"), n, where),
                actions=actions,
                patience=patience,
            )
            planned.append(PlannedCall(name, start, script))
            start += draw(gap, rng)
    return sorted(planned, key=lambda p: p.start)


def agents(spec: Mapping[str, Any]) -> list[AgentScript]:
    """The agents' phones a scenario adds to the switch; raises ScenarioError."""
    _check_scenario(spec)
    phones = []
    for index, group in enumerate(spec.get("agents") or [], 1):
        where = f"agents[{index}]"
        _check_keys(group, _AGENT_KEYS, where)
        first = int(_number(group.get("first", 1), f"{where}.first"))
        count = int(_number(group.get("count", 1), f"{where}.count"))
        answer_after = group.get("answer_after", 2.0)
        options = {
            "answer_after": None if answer_after is None else _number(answer_after, f"{where}.answer_after"),
            "hang_up_after": _duration(group.get("hang_up_after"), f"{where}.hang_up_after"),
            **{flag: bool(group[flag]) for flag in ("busy", "reject", "unregistered") if flag in group},
        }
        for n in range(first, first + count):
            phones.append(AgentScript(_format(group.get("endpoint", "user/{n}"), n, where), **options))
    return phones


def _check_scenario(spec: Mapping[str, Any]) -> None:
    if set(spec) - _SCENARIO_KEYS or not isinstance(spec.get("calls"), list) \
            or not isinstance(spec.get("agents") or [], list):
        raise ScenarioError("a scenario has a 'calls' list of call groups, and optionally an 'agents' "
                            "list of agent groups and a 'seed'")


def _check_keys(group: Any, allowed: set[str], where: str) -> None:
    if not isinstance(group, dict):
        raise ScenarioError(f"{where}: expected a mapping")
    unknown = set(group) - allowed
    if unknown:
        raise ScenarioError(f"{where}: unknown keys {sorted(unknown)}; allowed: {sorted(allowed)}")


def _format(template: Any, n: int, where: str) -> str:
    try:
        return str(template).format(n=n)
    except (ValueError, KeyError, IndexError) as exc:
        raise ScenarioError(f"{where}: cannot fill in {template!r} ({{n}} is the only field): {exc}") from None


def _duration(value: Any, where: str) -> Duration:
    if value is None:
        return None
    try:
        return Distribution.parse(value)
    except ValueError as exc:
        raise ScenarioError(f"{where}: {exc}") from None


def _action(entry: Any, where: str) -> Action:
    if not isinstance(entry, dict) or ("press" in entry) == ("hang_up" in entry):
        raise ScenarioError(f"{where}: expected {{press: KEYS, ...}} or {{hang_up: true, ...}}")
    allowed = _TRIGGER_KEYS | ({"press", "interval"} if "press" in entry else {"hang_up"})
    unknown = set(entry) - allowed
    if unknown:
        raise ScenarioError(f"{where}: unknown keys {sorted(unknown)}; allowed: {sorted(allowed)}")
    trigger = {k: v for k, v in entry.items() if k in _TRIGGER_KEYS | {"interval"}}
    try:
        if "press" in entry:
            return Press(str(entry["press"]), **trigger)
        cause = entry["hang_up"] if isinstance(entry["hang_up"], str) else "NORMAL_CLEARING"
        return HangUp(cause=cause, **trigger)
    except (TypeError, ValueError) as exc:
        raise ScenarioError(f"{where}: {exc}") from None


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ScenarioError(f"{where}: expected a number >= 0 (sim seconds or a count), got {value!r}")
    return float(value)


# ------------------------------------------------------------ report


@dataclass
class CallSummary:
    group: str
    uuid: str
    destination: str
    caller_id_number: str
    #: Prompts heard (as prompt ids), "[keys]" consumed during each, and where the call went.
    path: list[str]
    transferred_to: str | None
    hangup_cause: str | None
    hung_up_by: str | None
    continued_dialplan: bool
    answered_at: float | None
    #: When an agent was bridged to the caller (None: never).
    bridged_at: float | None
    duration: float | None
    finished: bool
    errors: list[str]

    @property
    def abandoned(self) -> bool:
        """The caller hung up before any agent was bridged to them."""
        return self.hung_up_by == "caller" and self.bridged_at is None

    @property
    def wait(self) -> float | None:
        """Sim seconds from answer until an agent was bridged, or until the call ended without one."""
        if self.answered_at is None:
            return None
        end = self.bridged_at if self.bridged_at is not None else self.duration
        return None if end is None else end - self.answered_at

    def line(self) -> str:
        end = (f"{self.hangup_cause} by {self.hung_up_by}" if self.hangup_cause else "still up")
        if self.continued_dialplan:
            end += ", dialplan fallback"
        duration = f"{self.duration:.1f}s" if self.duration is not None else "-"
        return " | ".join([self.group, f"{self.destination} from {self.caller_id_number}", ", ".join(self.path),
                           end, duration])


@dataclass
class Report:
    calls: list[CallSummary] = field(default_factory=list)

    @property
    def totals(self) -> dict[str, int]:
        calls = self.calls
        return {
            "placed": len(calls),
            "finished": sum(c.finished for c in calls),
            "answered": sum(c.answered_at is not None for c in calls),
            "bridged": sum(c.bridged_at is not None for c in calls),
            "abandoned": sum(c.abandoned for c in calls),
            "transferred": sum(c.transferred_to is not None for c in calls),
            "hung_up_by_caller": sum(c.hung_up_by == "caller" for c in calls),
            "hung_up_by_fsrouter": sum(c.hung_up_by == "fsrouter" for c in calls),
            "dialplan_fallback": sum(c.continued_dialplan for c in calls),
        }

    def format(self) -> str:
        totals = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in self.totals.items())
        return "\n".join([*(c.line() for c in self.calls), f"totals: {totals}"])


def summarize(group: str, call: SimCall) -> CallSummary:
    return CallSummary(
        group=group, uuid=call.uuid, destination=call.script.destination,
        caller_id_number=call.script.caller_id_number, path=call_path(call),
        transferred_to=call.transferred_to, hangup_cause=call.hangup_cause, hung_up_by=call.hung_up_by,
        continued_dialplan=call.continued_dialplan, answered_at=call.answered_at,
        bridged_at=call.bridged_at, duration=call.ended_at, finished=call.done, errors=list(call.errors),
    )


def call_path(call: SimCall) -> list[str]:
    """What fsrouter made the caller go through, from the applications it ran."""
    path = []
    for run in call.esl_apps:
        if run.name in ("playback", "play_and_get_digits") and run.arg:
            sound = run.arg.split(" ")[5] if run.name == "play_and_get_digits" else run.arg
            path += [prompt_id(s) for s in sound.removeprefix("file_string://").split("!")]
            keys = "".join(d for t, d in call.digits if run.start <= t <= (run.end or t))
            if keys:
                path[-1] += f" [{keys}]"
        elif run.name == "transfer":
            path.append(f"-> transfer {run.arg}")
        elif run.name == "hangup":
            path.append(f"-> hangup {run.arg or 'NORMAL_CLEARING'}")
    return path


def prompt_id(sound: str) -> str:
    """``/x/sounds/en/menu/8000/main.wav`` -> ``menu/main``, ``en/numbers/6.wav``
    -> ``numbers/6``; streams keep their scheme."""
    if "://" in sound:
        return sound.partition("://")[0]
    *dirs, name = [p for p in os.path.splitext(sound)[0].split("/") if p]
    dirs = [d for d in dirs if not d.isdigit()]  # the rate directory, when there is one
    return "/".join([*dirs[-1:], name])


def run_scenario(spec: Mapping[str, Any], target: tuple[str, int] | None = None, time_scale: float = 1.0, *,
                 switch: Switch | None = None, timeout: float | None = None) -> Report:
    """Place the scenario's calls and wait for them (at most `timeout` real seconds).

    Pass `switch` to place the calls from an existing simulated switch (the
    one whose inbound listener fsrouter is connected to); otherwise a new one
    is made for `target` with `time_scale` (seeded with the scenario's
    ``seed``) and closed at the end.  The scenario's agents are added to it
    first.
    """
    calls = plan(spec)
    phones = agents(spec)
    own = switch is None
    if own:
        if target is None:
            raise ValueError("run_scenario needs a target (fsrouter's outbound listener) or a switch")
        switch = Switch(target, time_scale=time_scale, seed=spec.get("seed"))
    try:
        for phone in phones:
            switch.add_agent(phone)
        started = switch.clock.now()
        placed = []
        for planned in calls:
            switch.clock.sleep(started + planned.start - switch.clock.now())
            placed.append((planned.group, switch.place_call(planned.script)))
        deadline = None if timeout is None else time.monotonic() + timeout
        for _, call in placed:
            call.wait(None if deadline is None else max(0.0, deadline - time.monotonic()))
        return Report([summarize(group, call) for group, call in placed])
    finally:
        if own:
            switch.close()
