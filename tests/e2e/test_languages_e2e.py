"""End to end: callers hear the queue in their own language and grammar.

The queue first learns its handle time: five agents each take a call of
13 s (real seconds: the estimate is fsrouter's own measure, which the
simulator's clock cannot hurry), then four of them unregister their phones.
With one serving agent, busy, and 13 s per call, the estimate is
position x 13 s: 2 minutes for positions 5 to 9.  Then, in one queue:

- a Russian caller (the line's language) at position 5 hears "Ваш номер в
  очереди: пять. Примерное время ожидания: две минуты", numbers/5, the
  feminine numbers/2f and the genitive singular queue/minutes_few;
- an Arabic caller at position 6 hears the dual "دقيقتان" alone
  (queue/minutes_two, no number before it);
- a caller who picks Russian in a menu ("9": set language ru) hears Russian;
- an English caller at position 8 is offered a callback with "press 3",
  the queue's key, not "press 1".

Every file they were sent exists under sounds/<lang>/ (the simulator opens it).
"""

from __future__ import annotations

import json
from pathlib import Path

import gevent

from fsrouter.sim import CallerScript, Press
from fsrouter.sim.agent import AgentScript
from fsrouter.sim.scenario import prompt_id

RULES = Path(__file__).parent / "rules" / "languages.yaml"
HANDLE_SECONDS = 13.0
AGENTS = ("6001", "6002", "6003", "6004", "6005")


def heard(call) -> list[str]:
    """What the caller heard, as "<lang>/<prompt id>"."""
    return [f"{sound.split('/')[-4]}/{prompt_id(sound)}" for sound in call.sounds if "://" not in sound]


def announcement(call, language: str) -> list[str]:
    """The first announcement: from "you are caller" to "thank you", without the language."""
    said = heard(call)
    start = said.index(f"{language}/queue/you_are_caller")
    end = said.index(f"{language}/queue/thank_you", start)
    assert all(s.startswith(f"{language}/") for s in said[start:end + 1]), said
    return [s.split("/", 1)[1] for s in said[start:end + 1]]


def teach_handle_time(fsrouter) -> None:
    """Five calls of HANDLE_SECONDS at once, then only agent 6001 stays reachable."""
    scale = fsrouter.time_scale
    for agent in AGENTS:
        fsrouter.switch.add_agent(AgentScript(endpoint=f"user/{agent}", answer_after=0.1,
                                              hang_up_after=HANDLE_SECONDS / scale))
    calls = [fsrouter.switch.place_call(CallerScript(destination="5100")) for _ in AGENTS]
    for call in calls:
        assert call.wait(HANDLE_SECONDS + 10), fsrouter.log_text()
        assert call.bridged_with, fsrouter.log_text()
    for agent in AGENTS[1:]:
        fsrouter.switch.unregister(f"user/{agent}")
    fsrouter.wait_until(lambda: fsrouter.log_text().count("phone not registered") >= len(AGENTS) - 1, 5,
                        "the unregistrations were not heard")


def test_russian_and_arabic_callers_hear_their_grammar_and_the_offer_names_its_key(start_fsrouter):
    fsrouter = start_fsrouter(rules=RULES)
    teach_handle_time(fsrouter)
    patience = 1.5 / fsrouter.time_scale  # 1.5 s: one announcement each, then they hang up
    # 6001 is kept busy while the others wait and hear their first announcement.
    fsrouter.switch.add_agent(AgentScript(endpoint="user/6001", answer_after=0.1, hang_up_after=3 / fsrouter.time_scale))
    busy = fsrouter.switch.place_call(CallerScript(destination="5100"))
    fsrouter.wait_until(lambda: busy.bridged_with is not None, 5, "6001 was not bridged")
    waiting = []
    for script in [
        *(CallerScript(destination="5100", patience=patience) for _ in range(4)),  # positions 1-4
        CallerScript(destination="+74951234567", patience=patience),  # 5: Russian
        CallerScript(destination="+97143123456", patience=patience),  # 6: Arabic
        CallerScript(destination="5200", patience=patience, actions=[Press("9", after_prompt="menu/main")]),  # 7
        CallerScript(destination="5100", patience=patience),  # 8: offered a callback
    ]:
        waiting.append(fsrouter.switch.place_call(script))
        gevent.sleep(0.5 if script.destination == "5200" else 0.1)  # the menu takes a moment
    for call in waiting:
        assert call.wait(10), fsrouter.log_text()
    russian, arabic, chose_russian, english = waiting[4:]

    assert announcement(russian, "ru") == [
        "queue/you_are_caller", "numbers/5", "queue/estimated_wait", "numbers/2f", "queue/minutes_few",
        "queue/thank_you"]
    assert announcement(arabic, "ar") == [
        "queue/you_are_caller", "numbers/6", "queue/estimated_wait", "queue/minutes_two", "queue/thank_you"]
    assert announcement(chose_russian, "ru")[:5] == [
        "queue/you_are_caller", "numbers/7", "queue/estimated_wait", "numbers/2f", "queue/minutes_few"]
    assert heard(chose_russian)[0] == "en/menu/main"  # English until the choice
    assert announcement(english, "en") == [
        "queue/you_are_caller", "numbers/8", "queue/estimated_wait", "numbers/2", "queue/minutes",
        "callback/offer", "keys/press", "numbers/3", "callback/keep_place", "queue/thank_you"]
    assert [call.missing_sounds for call in waiting] == [[]] * len(waiting)
    assert busy.wait(5)  # a call still up would hold fsrouter's stop back


def test_the_whisper_is_spoken_in_the_agents_language_by_its_voice(start_fsrouter):
    """Ivan (language: ru) hears the queue's Russian whisper, its wait in
    Russian, spoken by the voice `freeswitch.tts` gives Russian."""
    fsrouter = start_fsrouter(rules=RULES)
    fsrouter.kill()
    config = json.loads(fsrouter.config.read_text())
    config["freeswitch"]["tts"] = {"default": "flite|kal", "ru": "tts_commandline|ru"}
    fsrouter.config.write_text(json.dumps(config))
    fsrouter.start()
    fsrouter.switch.add_agent(AgentScript(endpoint="user/6101", answer_after=0.1, hang_up_after=20))
    call = fsrouter.switch.place_call(CallerScript(destination="5300"))
    assert call.wait(10), fsrouter.log_text()
    [leg] = fsrouter.switch.agent_calls
    assert [app.arg for app in leg.apps if app.name == "speak"] == [
        "tts_commandline|ru|Languages; ожидание меньше минуты"]
    assert call.bridged_with == leg.uuid


def test_the_callers_own_language_from_the_dialplan_where_the_line_can_speak_it(start_fsrouter):
    """`fsrouter_language=ru` set by the dialplan: Russian from the first
    prompt on the line whose menu offers Russian; ignored on a line that
    never speaks it (its prompts were not checked in Russian)."""
    fsrouter = start_fsrouter(rules=RULES)
    russian = {"fsrouter_language": "ru"}
    chooser = fsrouter.switch.place_call(CallerScript(destination="5200", variables=russian,
                                                      actions=[Press("0", after_prompt="menu/main")], patience=10))
    english_only = fsrouter.switch.place_call(CallerScript(destination="5300", variables=russian, patience=10))
    for call in (chooser, english_only):
        assert call.wait(10), fsrouter.log_text()
    assert heard(chooser)[:2] == ["ru/menu/main", "ru/queue/hold_music"]
    assert heard(english_only)[0] == "en/queue/hold_music"
