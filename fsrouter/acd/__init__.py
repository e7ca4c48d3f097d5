"""The ACD core: queues, agents, skills, strategies, positions and EWT.

Sans-IO: nothing here reads a clock, opens a socket or touches a database
(a test checks the imports).  The IO layer feeds reports with the time and
acts on the events returned.  Start with `interface.Acd` for the contract,
`docs/acd.md` for the model.
"""

from fsrouter.acd.accuracy import EwtAccuracy
from fsrouter.acd.agents import TRANSITIONS, state_diagram
from fsrouter.acd.errors import (
    AcdError,
    ClockWentBack,
    DuplicateEntry,
    InvalidTransition,
    SpecError,
    UnknownAgent,
    UnknownEntry,
    UnknownOffer,
    UnknownQueue,
)
from fsrouter.acd.events import (
    Abandoned,
    AgentMissed,
    AgentStateChanged,
    Answered,
    Event,
    EwtPromise,
    LeftEmpty,
    Offer,
    OfferCancelled,
    Outcome,
    Queued,
    Refused,
    RelaxStepActive,
    Removed,
    TimedOut,
    Transferred,
)
from fsrouter.acd.ewt import Bucket, Estimate
from fsrouter.acd.interface import Acd
from fsrouter.acd.memory import InMemoryAcd
from fsrouter.acd.model import (
    AgentPolicy,
    AgentSpec,
    AgentState,
    EwtPolicy,
    MissReason,
    QueueSpec,
    RelaxStep,
    Strategy,
)
from fsrouter.acd.views import AgentStatus, QueueStatus

__all__ = [
    "Abandoned", "Acd", "AcdError", "AgentMissed", "AgentPolicy", "AgentSpec", "AgentState",
    "AgentStateChanged", "AgentStatus", "Answered", "Bucket", "ClockWentBack", "DuplicateEntry",
    "Estimate", "Event", "EwtAccuracy", "EwtPolicy", "EwtPromise", "InMemoryAcd", "InvalidTransition",
    "LeftEmpty", "MissReason", "Offer", "OfferCancelled", "Outcome", "QueueSpec", "QueueStatus",
    "Queued", "Refused", "RelaxStep", "RelaxStepActive", "Removed", "SpecError", "Strategy",
    "TRANSITIONS", "TimedOut", "Transferred", "UnknownAgent", "UnknownEntry", "UnknownOffer",
    "UnknownQueue", "state_diagram",
]
