"""Rules plus sounds: what `fsrouter check` reports and what the service loads."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from .compiler import analyse_path
from .plan import Plan
from .problems import Problem, Report, RulesError
from .sounds import check_sounds


def default_sounds_dir(rules: Path) -> Path:
    """`./sounds` if it exists, else `sounds` beside the rules directory."""
    here = Path("sounds")
    if here.is_dir():
        return here
    base = rules if rules.is_dir() else rules.parent
    return base.parent / "sounds"


def check(rules: Path | str, sounds: Path | str | None = None) -> tuple[Problem, ...]:
    """Every error and warning for the rules at `rules`, prompt files included,
    in file order."""
    return _analyse(Path(rules), Path(sounds) if sounds else default_sounds_dir(Path(rules)))[1]


def load_plan(rules: Path | str, sounds_dir: Path | str | None = None) -> Plan:
    """The plan for the rules at `rules`, refusing rules whose prompts are
    missing under `sounds_dir` (not checked when None).  Raises `RulesError`
    with every problem; the plan's `warnings` hold the warnings."""
    plan, problems = _analyse(Path(rules), Path(sounds_dir) if sounds_dir else None)
    if plan is None or any(p.severity == "error" for p in problems):
        raise RulesError(problems)
    return replace(plan, warnings=problems)


def _analyse(rules: Path, sounds: Path | None) -> tuple[Plan | None, tuple[Problem, ...]]:
    result = analyse_path(rules)
    report = Report()
    report.problems.extend(result.problems)
    if sounds is not None and result.prompts:
        check_sounds(result, sounds, report)
    return result.plan, report.sorted()
