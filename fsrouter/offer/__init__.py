"""Offers and bridges as sans-IO machines (transitions as data, drawn from the same table).

* `machine.OfferMachine`: one ACD offer, from dialling the agent through the
  whisper and the bridge to the end of the call (or the miss, or the cancel);
* `bridging.BridgingMachine`: a call runner's side of the bridge (media held
  back, timers paused, the outcome turned into flow events);
* `messages`: what the queue runtime tells a call's runner;
* `transfer`: where a warm transfer goes and the context it adds;
* `table`: the shared table lookup, its error and the diagrams.

Like `flow/` and `acd/`, nothing here imports gevent, sockets or databases;
`runtime/offer_driver.py` and `runtime/call_runner.py` carry the commands out.
"""

from fsrouter.offer.bridging import BridgingMachine, bridging_diagram
from fsrouter.offer.machine import OfferMachine, OfferState, offer_diagram
from fsrouter.offer.table import FORMATS, InvalidTransition

MACHINES = {"offer": offer_diagram, "bridging": bridging_diagram}
"""What `fsrouter graph` draws besides the rules' flows."""

__all__ = ["FORMATS", "MACHINES", "BridgingMachine", "InvalidTransition", "OfferMachine", "OfferState",
           "bridging_diagram", "offer_diagram"]
