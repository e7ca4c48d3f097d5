"""fsrouter.sim: a FreeSWITCH stand-in that speaks real ESL over real sockets.

It places scripted calls into fsrouter's outbound listener the way the
``socket`` dialplan application does, runs the applications fsrouter asks
for with realistic durations, and serves an inbound event socket -- framing,
sequencing and replying as FreeSWITCH 1.10.12 does in the recorded
transcripts (tests/fixtures/esl-transcripts).  Used by tests, ``fsrouter
simulate`` and benchmarks.
"""

from fsrouter.sim.agent import AgentScript, CustomerScript
from fsrouter.sim.call import AppRun, SimCall, WireMessage
from fsrouter.sim.caller import CallerScript, HangUp, Press
from fsrouter.sim.dist import Distribution
from fsrouter.sim.inbound import InboundListener
from fsrouter.sim.scenario import Report, ScenarioError, load_scenario, run_scenario
from fsrouter.sim.switch import Switch

__all__ = [
    "AgentScript",
    "AppRun",
    "CallerScript",
    "CustomerScript",
    "Distribution",
    "HangUp",
    "InboundListener",
    "Press",
    "Report",
    "ScenarioError",
    "SimCall",
    "Switch",
    "WireMessage",
    "load_scenario",
    "run_scenario",
]
