"""dialplan/fsrouter_agents.xml and the example rules agree on the feature
codes: every code the dialplan sends is a line whose flow starts with an
`agent:` step, and it goes to the same socket as the callers' calls."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from fsrouter.rules import compile_rules
from fsrouter.rules.plan import AgentDesk

ROOT = Path(__file__).resolve().parent.parent


def _socket(path: Path) -> str:
    (data,) = [a.get("data") for a in ET.parse(path).getroot().iter("action") if a.get("application") == "socket"]
    return data


def test_the_feature_codes_reach_agent_steps_on_the_callers_socket():
    root = ET.parse(ROOT / "dialplan" / "fsrouter_agents.xml").getroot()
    (condition,) = root.iter("condition")
    expression = condition.get("expression")
    plan = compile_rules(ROOT / "config" / "rules")
    codes = [number for number in plan.lines if re.fullmatch(expression, number)]
    assert codes == ["*50", "*51", "*52", "*53"]
    for code in codes:
        first = plan.nodes[plan.flows[plan.lines[code].flow]]
        assert isinstance(first.step, AgentDesk), code
    assert not re.fullmatch(expression, "5000")
    assert _socket(ROOT / "dialplan" / "fsrouter_agents.xml") == _socket(ROOT / "dialplan" / "fsrouter.xml")
    apps = [a.get("application") for a in condition.findall("action")]
    assert apps.index("socket") < apps.index("hangup") and "transfer" not in apps  # no operator fallback


def test_the_caller_id_of_a_feature_code_is_the_authenticated_user_not_the_from_header():
    (condition,) = ET.parse(ROOT / "dialplan" / "fsrouter_agents.xml").getroot().iter("condition")
    actions = [(a.get("application"), a.get("data")) for a in condition.findall("action")]
    assert actions.index(("set_profile_var", "caller_id_number=${user_name}")) < [a for a, _ in actions].index("socket")
