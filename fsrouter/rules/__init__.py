"""Routing rules: YAML with positions -> checks -> an immutable `Plan`."""

from .checker import check, load_plan
from .compiler import Compilation, analyse_path, analyse_source, compile_rules, compile_source
from .plan import Plan, RouteDecision
from .problems import Position, Problem, RulesError

__all__ = [
    "Compilation", "Plan", "Position", "Problem", "RouteDecision", "RulesError",
    "analyse_path", "analyse_source", "check", "compile_rules", "compile_source", "load_plan",
]
