"""Rules reloads that can never take the service down.

A reload is three steps: compile the rules, map the plan to the ACD's layout,
check that the layout can run (`prepare`).  They are pure and run on a worker
thread, so the hub goes on serving calls while a big file compiles (the GIL
still hands the hub its time slices; bench/reload_stall.py measures the
longest stall).  Only when all three succeed is anything swapped, on the hub,
in one step: first the ACD is reconfigured (which checks again and raises
before changing anything), then new calls get the new plan.  Calls in
progress keep the plan they started with (their `CallMachine` holds it).

Any failure, of whatever kind (a rules error, a mapping the ACD refuses, a
recursion, a YAML reader error, an OSError on a sounds path...), refuses the
reload: one log line per problem, its file:line:col first where known, and
the running plan stays in force.  The same `prepare` runs at start-up, where
the CLI prints the problems and exits.
"""

from __future__ import annotations

import gc
import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import gevent

from fsrouter import rules
from fsrouter.acd.from_plan import AcdPlan, from_plan
from fsrouter.acd.memory import Layout, compile_layout
from fsrouter.logs import escape_controls
from fsrouter.rules.loader import rules_files
from fsrouter.rules.problems import Position, Problem, Report, RulesError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Prepared:
    """A plan ready to run: compiled, mapped and checked."""

    plan: rules.Plan
    layout: AcdPlan
    compiled: Layout
    """The ACD layout compiled (stages, who each queue admits): the costly
    part of reconfiguring the ACD, done here, off the hub."""
    digest: str = ""
    """`rules_digest` of the files, read just before they were compiled."""


@dataclass(frozen=True)
class ReloadOutcome:
    """What the last reload did (the admin API answers with it)."""

    applied: bool
    at: float
    problems: tuple[Problem, ...] = ()
    """Why it was refused: the errors, each with its position."""


def prepare(rules_path: str, sounds_dir: str | None) -> Prepared:
    """Compile, map and check the rules; `RulesError` listing the problems
    for any failure, whatever raised it."""
    try:
        digest = rules_digest(rules_path)
        plan = rules.load_plan(rules_path, sounds_dir=sounds_dir)
        layout = from_plan(plan)
        compiled = compile_layout(layout.queues, layout.agents)
    except RulesError:
        raise
    except Exception as exc:  # noqa: BLE001 - anything the rules can provoke refuses them
        raise RulesError((_problem_at(rules_path, exc),)) from exc
    return Prepared(plan, layout, compiled, digest)


def _problem_at(rules_path: str, exc: Exception) -> Problem:
    """`check` reports every mistake with its position, and a checked plan
    maps; what still raises is a bug, placed at the rules path."""
    return Problem(Position(str(rules_path)), "error", describe(exc))


def rules_digest(rules_path: str) -> str:
    """A SHA-256 of the rules files (names relative to `rules_path`, and
    contents), so an operator can tell which rules run: the same files give
    the same digest on every host.  A file that cannot be read counts by its
    name alone (compiling it then fails anyway)."""
    root = Path(rules_path)
    digest = hashlib.sha256()
    for path in rules_files(root, Report()):
        name = path.relative_to(root) if root.is_dir() else Path(path.name)
        digest.update(str(name).encode("utf-8", "surrogateescape") + b"\0")
        try:
            digest.update(hashlib.sha256(path.read_bytes()).digest())
        except OSError:
            digest.update(b"unreadable")
    return digest.hexdigest()


def describe(exc: BaseException) -> str:
    """One log-safe line saying what went wrong."""
    if isinstance(exc, RecursionError):
        text = "the rules are nested too deeply to be read"
    else:
        text = f"{type(exc).__name__}: {exc}"
    return _one_line(text)


def _one_line(text: str) -> str:
    """Whitespace runs to one space, other control characters escaped (as
    the log formatter does, but this also reaches the CLI's stderr): a
    message never forges a line or hides part of itself."""
    return escape_controls(" ".join(text.split()))


def prepare_uncollected(rules_path: str, sounds_dir: str | None) -> Prepared:
    """`prepare` without the cyclic garbage collector, then freeze what is
    alive (the new plan among it) out of the collector's reach.

    Why: compiling a big file keeps a large tree of loader objects alive,
    and a full collection triggered meanwhile walks all of it holding the
    GIL (1.8 s at 20k lines), which no thread can hide from the hub.  The
    loader's objects are freed by reference counting when `prepare`
    returns; the plan's would make the hub's next collection walk them
    all, unless frozen.  A replaced plan is still freed by reference
    counting once its last call ends (a plan holds no cycles).  What the
    freeze also catches of the process's cyclic garbage of the moment is
    never collected: a little, once per reload.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        prepared = prepare(rules_path, sounds_dir)
        gc.freeze()  # not on failure: the traceback still holds the loader's objects
        return prepared
    finally:
        if enabled:
            gc.enable()


def off_hub(function: Callable, *args):
    """Run `function(*args)` on the hub's thread pool and return its result
    (or raise its exception) in the calling greenlet, which waits while the
    hub goes on.  The exception is carried back by hand: one raised inside
    the pool would also be printed as a traceback by the hub."""

    def attempt():
        try:
            return function(*args), None
        except Exception as exc:  # noqa: BLE001 - re-raised in the caller below
            return None, exc

    result, error = gevent.get_hub().threadpool.apply(attempt)
    if error is not None:
        raise error
    return result


class PlanHolder:
    """The current compiled plan; swapped whole, never edited in place.

    `apply` is called with each `Prepared` plan before it is swapped in (the
    service reconfigures its ACD there); if it raises, the reload is refused
    and nothing is swapped.
    """

    def __init__(self, rules_path: str, sounds_dir: str | None, *,
                 prepare_in: Callable = off_hub, prepared: Prepared | None = None) -> None:
        """Compiles the rules at once (`RulesError` on any problem) unless
        given them `prepared` (the service builds its ACD from them too);
        `prepare_in(prepare, path, sounds)` runs reloads' compilations
        (tests pass one that runs them inline)."""
        self._rules_path = rules_path
        self._sounds_dir = sounds_dir
        self._prepare_in = prepare_in
        prepared = prepare(rules_path, sounds_dir) if prepared is None else prepared
        self.current = prepared.plan
        self.loaded_at = time.time()
        self.digest = prepared.digest
        """`rules_digest` of the rules the current plan was compiled from."""
        self.last: ReloadOutcome | None = None
        """The latest reload's outcome (None before the first)."""
        self.reloads = {"ok": 0, "refused": 0}
        """Reloads so far by outcome (for /metrics)."""
        self.apply: Callable[[Prepared], None] = lambda prepared: None
        self._wanted = False
        self._worker: gevent.Greenlet | None = None

    def request_reload(self) -> None:
        """The SIGHUP handler: reload in a greenlet of its own, never two at
        once; a request arriving meanwhile reloads again afterwards (the
        file may have changed since the running reload read it)."""
        self._wanted = True
        if self._worker is None or self._worker.dead:
            self._worker = gevent.spawn(self._reload_while_wanted)

    def wait_reloaded(self, timeout: float | None = None) -> None:
        """Until no reload is running (for tests and the bench)."""
        if self._worker is not None:
            self._worker.join(timeout)

    @property
    def reloading(self) -> bool:
        """Whether a reload is running (or asked for and about to)."""
        return self._worker is not None and not self._worker.dead

    def _reload_while_wanted(self) -> None:
        while self._wanted:
            self._wanted = False
            self.reload()

    def reload(self) -> bool:
        """Swap in the rules as they are on disk now; on any failure keep the
        running plan and log why, one line per problem.  `last` says what
        happened, `reloads` counts it."""
        started = time.monotonic()
        try:
            prepared = self._prepare_in(prepare_uncollected, self._rules_path, self._sounds_dir)
            self.apply(prepared)
        except RulesError as exc:
            errors = [p for p in exc.problems if p.severity == "error"] or list(exc.problems)
            for problem in errors:
                log.error("reload refused: %s", _one_line(str(problem)))
            return self._refused(tuple(errors))
        except Exception as exc:  # noqa: BLE001 - a reload must never end the service
            log.error("reload refused: %s: error: %s", Path(self._rules_path), describe(exc))
            log.debug("reload failure", exc_info=True)
            return self._refused((_problem_at(self._rules_path, exc),))
        self.current = prepared.plan
        self.loaded_at = time.time()
        self.digest = prepared.digest
        self.last = ReloadOutcome(True, self.loaded_at)
        self.reloads["ok"] += 1
        log.info("rules reloaded from %s in %.2f s", self._rules_path, time.monotonic() - started)
        return True

    def _refused(self, problems: tuple[Problem, ...]) -> bool:
        log.error("reload refused: the running plan stays in force")
        self.last = ReloadOutcome(False, time.time(), problems)
        self.reloads["refused"] += 1
        return False
