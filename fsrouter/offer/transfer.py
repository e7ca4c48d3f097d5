"""Where a warm transfer sends a bridged caller, and the context it adds.

Sans-IO: the queue runtime (`runtime/transfers.py`) asks `decide` with the
settings of the queue the call is in, the queue asked for, the note (a
reason code's text, or an operator's note) and the call's variables, and
carries the answer out.  The call's variables keep the transfer's context
for the next agent's whisper and the flow:

* `transfers`: how many times the call has been transferred, this one included;
* `transfer_from`: who sent it on: the agent, or "supervisor" from the API;
* `transfer_note`: the note;
* `previous_agents`: the names of every agent who had the call, in order.

Past the cap (`max_transfers` of the queue the call is in) the call goes to
the queue's `over_cap` queue instead; with none declared the transfer is
refused and the agent keeps the call.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from fsrouter.rules.plan import TransferSettings

DEFAULT_MAX_TRANSFERS = TransferSettings.max_transfers
"""The cap of a queue without a `transfer` block (transfers from the API)."""


@dataclass(frozen=True)
class Decision:
    """`queue` is where the call goes (None: refused, see `refusal`)."""

    queue: str | None
    variables: Mapping[str, str]
    over_cap: bool = False
    refusal: str = ""


def decide(settings: TransferSettings | None, queue: str, note: str, context: Mapping[str, str],
           agent: str, by: str) -> Decision:
    """A transfer of a call whose variables are `context`, talking to agent
    `agent` (their name), asked for by `by`, to rules queue `queue` with `note`."""
    done = _count(context.get("transfers", ""))
    cap = settings.max_transfers if settings is not None else DEFAULT_MAX_TRANSFERS
    over_cap = done >= cap
    if over_cap:
        queue = settings.over_cap if settings is not None else None
        if queue is None:
            return Decision(None, {}, True, f"the call was transferred {done} time{'s' * (done != 1)} already (max_transfers {cap})")
    agents = [name for name in context.get("previous_agents", "").split(", ") if name]
    variables = {
        "transfers": str(done + 1),
        "transfer_from": by,
        "transfer_note": note,
        "previous_agents": ", ".join([*agents, agent]),
    }
    return Decision(queue, variables, over_cap)


def _count(text: str) -> int:
    return int(text) if text.isdigit() else 0
