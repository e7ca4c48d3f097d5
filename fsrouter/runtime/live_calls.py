"""The calls the service is handling now, for `GET /calls` and `fsrouter calls`.

A call is added when FreeSWITCH hands it over (the outbound session) and
dropped when its runner ends, whatever ended it.  Its state is read from
its own machine (the flow step, "queued", "connected") and, while the queue
runtime holds it, its queue and agent from there: nothing is copied, so a
listing is one pass over the calls, O(calls), and always current.

Callback legs the callback dialler originates are not outbound sessions:
they are listed as the callbacks they are (`GET /queues/{name}`), not here.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fsrouter.flow import CallMachine
    from fsrouter.runtime.queue_runtime import QueueRuntime


@dataclass(frozen=True)
class _Call:
    caller: str
    line: str
    since: float
    machine: CallMachine


class LiveCalls:
    def __init__(self) -> None:
        self._calls: dict[str, _Call] = {}

    def __len__(self) -> int:
        return len(self._calls)

    @contextmanager
    def handling(self, uuid: str, variables: Mapping[str, str], machine: CallMachine, now: float) -> Iterator[None]:
        """Listed while the `with` block runs (the call's runner)."""
        self._calls[uuid] = _Call(variables.get("caller_id_number", ""), variables.get("destination_number", ""),
                                  now, machine)
        try:
            yield
        finally:
            self._calls.pop(uuid, None)

    def listing(self, queues: QueueRuntime) -> list[dict]:
        """Every call, oldest first: uuid, caller, line, state, queue and
        agent (while the queue runtime holds it), since (epoch seconds)."""
        calls = []
        for uuid, call in self._calls.items():  # insertion order: oldest first
            held = queues.caller(uuid)
            agent = held.offer.offer.agent_id if held is not None and held.offer is not None else None
            calls.append({"uuid": uuid, "caller": call.caller, "line": call.line, "state": call.machine.state,
                          "queue": held.acd_queue if held is not None else None, "agent": agent,
                          "since": round(call.since, 3)})
        return calls
