"""End to end: a caller id made of FreeSWITCH syntax and newlines is only text.

The caller id reaches `set` (the rules copy it into a variable), the agent's
originate (its caller id) and the whisper.  Before, the `${system(...)}`
arrived in `set`'s argument, which FreeSWITCH expands when the application
runs, and the newline made fsrouter's codec refuse the command, so the call
fell to the dialplan fallback.  Now the call is queued, whispered and
bridged as any other, and fsrouter's log keeps one line per record.
"""

from __future__ import annotations

import re
from pathlib import Path

from fsrouter.sim import CallerScript
from fsrouter.sim.agent import AgentScript

RULES = Path(__file__).parent / "rules" / "hostile.yaml"
HOSTILE_NUMBER = "${system(touch /tmp/x)}\n2026-12-06 ERROR forged"
HOSTILE_NAME = "$${hostname},{x=1}|'\r\x1b[2J"


def test_a_hostile_caller_id_is_set_whispered_and_bridged_as_plain_text(start_fsrouter):
    fsrouter = start_fsrouter(rules=RULES)
    fsrouter.switch.add_agent(AgentScript(endpoint="user/3001", answer_after=0.2, hang_up_after=20))
    call = fsrouter.switch.place_call(CallerScript(destination="5100", caller_id_number=HOSTILE_NUMBER,
                                                   caller_id_name=HOSTILE_NAME))
    assert call.wait(20), fsrouter.log_text()
    assert not call.continued_dialplan, fsrouter.log_text()  # no fallback: fsrouter kept the call
    assert call.bridged_with is not None, fsrouter.log_text()

    sets = [run.arg for run in call.esl_apps if run.name == "set" and run.arg.startswith("fsrouter_who=")]
    assert sets == ["fsrouter_who={system(touch /tmp/x)} 2026-12-06 ERROR forged {hostname},{x=1}|'  [2J"]
    args = " ".join(run.arg or "" for run in call.esl_apps)
    assert not re.search(r"\$\{|\$\$\{|[\r\n\x00]", args)

    leg = fsrouter.switch.agent_call(call.bridged_with)
    assert leg.endpoint == "user/3001"
    assert leg.origination["origination_caller_id_number"] == "systemtouch/tmp/x2026-12-06ERRORforged"
    whisper = [s for s in leg.sounds if s.startswith("tts:")]
    assert whisper == ["tts:caller system touch tmp x 2026-12-06 ERROR forged hostname ; x 1 2J; Billing"]

    log = fsrouter.log_text()
    assert not any(line.startswith("2026-12-06 ERROR forged") for line in log.splitlines())
    assert "from ${system(touch /tmp/x)}\\n2026-12-06 ERROR forged to 5100" in log
