"""Per-call state machines over the compiled plan: events in, commands out."""

from .machine import CallMachine, FlowError

__all__ = ["CallMachine", "FlowError"]
