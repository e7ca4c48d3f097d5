"""Rules reloads: refused whole on any failure, or applied to plan and ACD together.

`PlanHolder` runs its compilations inline here (`prepare_in`), except in the
test of the thread pool itself; `QueueRuntime.reconfigure` runs over the
fake inbound connection with offers run inline.
"""

from __future__ import annotations

import logging
from dataclasses import replace

import gevent
import pytest
from bad_rules import EDITS, E2E_RULES, bad_rules
from runtime_fakes import RULES, Clock, FakeInbound

from fsrouter.acd import AgentState, SpecError
from fsrouter.acd.from_plan import from_plan
from fsrouter.rules import RulesError
from fsrouter.rules.compiler import compile_source
from fsrouter.runtime.queue_runtime import QueueRuntime
from fsrouter.runtime.reload import PlanHolder, off_hub, prepare, rules_digest
from fsrouter.offer.messages import BridgeFailed, Bridged, Bridging, NoAgents

SOUNDS = E2E_RULES.parents[3] / "sounds"
CALLER = "caller-uuid-1"


def inline(function, *args):
    return function(*args)


@pytest.fixture
def rules_file(tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_text(E2E_RULES.read_text())
    return path


def holder(rules_file, applied=None):
    plans = PlanHolder(str(rules_file), str(SOUNDS), prepare_in=inline)
    if applied is not None:
        plans.apply = applied.append
    return plans


@pytest.mark.parametrize("name", sorted(EDITS))
def test_every_bad_file_is_refused_with_its_position_and_the_plan_stays(rules_file, name, caplog):
    applied = []
    plans = holder(rules_file, applied)
    running = plans.current
    rules_file.write_text(bad_rules(name))
    with caplog.at_level(logging.ERROR):
        assert plans.reload() is False
    assert plans.current is running and applied == []
    refused = [r.getMessage() for r in caplog.records if "reload refused" in r.getMessage()]
    assert refused[-1] == "reload refused: the running plan stays in force"
    assert all(line.startswith(f"reload refused: {rules_file}") for line in refused[:-1]), refused
    assert len(refused) >= 2 and all("\n" not in line and "\x00" not in line for line in refused)
    # What the admin API answers: refused, with every error and its position.
    assert plans.last.applied is False and plans.reloads == {"ok": 0, "refused": 1}
    assert plans.last.problems and all(p.severity == "error" and p.pos.file == str(rules_file)
                                       for p in plans.last.problems)


def test_a_problem_quoting_a_newline_stays_on_its_log_line(rules_file, caplog):
    plans = holder(rules_file)
    rules_file.write_text(rules_file.read_text().replace("flows:\n", 'flows:\n  "two\\nlines": 5\n'))
    with caplog.at_level(logging.ERROR):
        assert plans.reload() is False
    refused = [r.getMessage() for r in caplog.records if "reload refused" in r.getMessage()]
    assert len(refused) >= 2 and all("\n" not in line for line in refused), refused
    assert any('bad flow name "two lines"' in line for line in refused), refused  # the newline as a space


def test_a_strategy_typo_is_refused_at_its_line(rules_file, caplog):
    plans = holder(rules_file)
    rules_file.write_text(bad_rules("strategy typo"))
    with caplog.at_level(logging.ERROR):
        plans.reload()
    line = rules_file.read_text().splitlines().index("    strategy: longest_idel") + 1
    assert f'reload refused: {rules_file}:{line}:15: error: unknown strategy "longest_idel"' in caplog.text


def test_a_character_yaml_cannot_read_is_placed_by_line_and_column(rules_file, caplog):
    plans = holder(rules_file)
    rules_file.write_text(bad_rules("NUL byte"))  # "# Always\x00 open" on line 1
    with caplog.at_level(logging.ERROR):
        plans.reload()
    assert f"reload refused: {rules_file}:1:9: error: invalid YAML: character U+0000 is not allowed" in caplog.text


def test_anything_else_that_raises_refuses_the_rules_at_their_path(rules_file, monkeypatch):
    from fsrouter.runtime import reload as module

    def broken(plan):
        raise ValueError("a bug\nin two lines")

    monkeypatch.setattr(module, "from_plan", broken)
    with pytest.raises(RulesError) as caught:
        prepare(str(rules_file), str(SOUNDS))
    assert str(caught.value) == f"{rules_file}: error: ValueError: a bug in two lines"


def test_an_apply_that_fails_refuses_the_reload_and_swaps_nothing(rules_file, caplog):
    plans = holder(rules_file)
    running = plans.current

    def refuse(prepared):
        raise SpecError("queue 'x' is declared twice")

    plans.apply = refuse
    rules_file.write_text(rules_file.read_text().replace("brand: acme", "brand: other"))
    with caplog.at_level(logging.ERROR):
        assert plans.reload() is False
    assert plans.current is running
    assert f"reload refused: {rules_file}: error: SpecError: queue 'x' is declared twice" in caplog.text
    assert [str(p) for p in plans.last.problems] == [f"{rules_file}: error: SpecError: queue 'x' is declared twice"]


def test_a_good_file_is_applied_then_swapped(rules_file):
    applied = []
    plans = holder(rules_file, applied)
    before, loaded = plans.digest, plans.loaded_at
    rules_file.write_text(rules_file.read_text().replace("require: {support: 1}", "require: {support: 7}"))
    assert plans.reload() is True
    assert plans.last.applied and plans.last.problems == () and plans.reloads == {"ok": 1, "refused": 0}
    assert plans.digest != before and plans.loaded_at >= loaded
    assert [p.plan for p in applied] == [plans.current]
    assert dict(plans.current.queues["support"].require) == {"support": 7}
    assert {q.name: dict(q.require) for q in applied[0].layout.queues}["support"] == {"support": 7}


def test_prepare_at_start_up_raises_rules_error_for_anything(rules_file):
    rules_file.write_text(bad_rules("nesting 2,000 deep"))
    with pytest.raises(RulesError) as caught:
        PlanHolder(str(rules_file), str(SOUNDS), prepare_in=inline)
    assert "nested more than 64 levels deep" in str(caught.value)


def test_off_hub_returns_or_raises_in_the_caller_without_a_traceback(rules_file, capfd):
    assert off_hub(prepare, str(rules_file), str(SOUNDS)).plan.queues["support"]
    rules_file.write_text(bad_rules("NUL byte"))
    with pytest.raises(RulesError):
        off_hub(prepare, str(rules_file), str(SOUNDS))
    gevent.sleep(0.05)  # the hub would print a pool exception on its next turn
    assert "Traceback" not in capfd.readouterr().err


def test_the_hub_keeps_running_while_a_reload_compiles(rules_file):
    ticks, during = [], []
    ticker = gevent.spawn(lambda: [ticks.append(gevent.sleep(0.001)) for _ in iter(int, 1)])

    def counted(function, *args):  # ticks seen from inside the compilation
        def compile_counting(*args):
            start = len(ticks)
            result = function(*args)
            during.append(len(ticks) - start)
            return result
        return off_hub(compile_counting, *args)

    plans = PlanHolder(str(rules_file), str(SOUNDS), prepare_in=counted)
    rules_file.write_text(rules_file.read_text() + "# reloaded\n" * 20000)  # a longer file
    plans.request_reload()
    plans.wait_reloaded(30)
    ticker.kill()
    assert during and during[0] > 0, during  # the hub ticked while the rules compiled


def test_requests_during_a_reload_are_run_once_afterwards(rules_file, monkeypatch):
    plans = holder(rules_file)
    runs = []

    def slow_reload():
        runs.append(1)
        if len(runs) == 1:
            plans.request_reload()  # a SIGHUP arriving mid-reload
            plans.request_reload()
            gevent.sleep(0)
        return True

    monkeypatch.setattr(plans, "reload", slow_reload)
    plans.request_reload()
    plans.wait_reloaded(5)
    assert len(runs) == 2


# -- QueueRuntime.reconfigure ----------------------------------------------


def runtime(plan, inbound):
    rt = QueueRuntime(plan, inbound, clock=Clock(), spawn=lambda f, *a: f(*a))
    inbound.on_event = rt.on_event
    for agent in plan.agents:
        rt.set_agent_state(agent, AgentState.AVAILABLE)
    return rt


def offered_agent(inbound):
    cmd = [c[1] for c in inbound.commands if c[0] == "bgapi"][-1]
    return cmd.rpartition("}")[2].split()[0]


def test_new_skills_pick_the_agent_for_the_next_offer():
    inbound = FakeInbound("+OK\n")
    rt = runtime(compile_source(RULES), inbound)
    new = RULES.replace("require: {support: 1}\n    max_wait: {after: 2m",
                        "require: {greek: 3}\n    max_wait: {after: 2m", 1)
    new = new.replace('"1002": {name: Bob, dial: user/1002, skills: {support: 5}}',
                      '"1002": {name: Bob, dial: user/1002, skills: {support: 5, greek: 4}}')
    rt.reconfigure(compile_source(new))
    assert rt.join(CALLER, "support", {}, lambda m: None)
    rt.step()
    assert offered_agent(inbound) == "user/1002"


def test_agents_keep_their_state_and_new_ones_start_logged_out():
    inbound = FakeInbound()
    rt = runtime(compile_source(RULES), inbound)
    rt.set_agent_state("1001", AgentState.PAUSED, "lunch")
    added = RULES + '  "1003": {name: Cy, dial: user/1003, skills: {sales: 5}}\n'
    rt.reconfigure(compile_source(added))
    assert rt.acd.agent_status("1001").state is AgentState.PAUSED
    assert rt.acd.agent_status("1003").state is AgentState.LOGGED_OUT  # the agent desk logs them in
    rt.set_agent_state("1003", AgentState.AVAILABLE)
    assert rt.join(CALLER, "sales", {}, lambda m: None)  # "sales" refused callers before: nobody sold


def test_the_next_offer_whispers_the_reloaded_text():
    inbound = FakeInbound("+OK\n")
    rt = runtime(compile_source(RULES), inbound)
    rt.reconfigure(compile_source(RULES.replace('whisper: "{brand}, {queue}', 'whisper: "new {brand}, {queue}')))
    rt.join(CALLER, "billing", {"brand": "acme", "topic": "t"}, lambda m: None)
    rt.step()
    assert "'speak:flite|kal|new acme; Billing; t;" in inbound.commands[0][1]


def test_a_queue_the_reload_removed_takes_no_new_callers_but_keeps_its_own():
    inbound = FakeInbound()
    plan = compile_source(RULES)
    rt = runtime(plan, inbound)
    rt.set_agent_state("1001", AgentState.PAUSED)
    rt.set_agent_state("1002", AgentState.PAUSED)
    assert rt.join("waiting", "billing", {}, lambda m: None)
    without = RULES.split("  billing:")[0] + "agents:" + RULES.split("\nagents:")[1]
    rt.reconfigure(compile_source(without))
    assert rt.join(CALLER, "billing", {}, lambda m: None) is False  # a call still on the old plan
    assert rt.status("waiting").position == 1  # still in line


def test_a_layout_the_acd_refuses_changes_nothing():
    inbound = FakeInbound()
    plan = compile_source(RULES)
    rt = runtime(plan, inbound)
    layout = from_plan(plan)
    doubled = replace(layout, queues=layout.queues + layout.queues[:1])
    with pytest.raises(SpecError):
        rt.reconfigure(compile_source(RULES.replace("Billing", "Other")), doubled)
    assert rt.plan is plan and rt.layout is not doubled


# -- callers in an ACD queue a reload retired ----------------------------------

LANGUAGES = """
settings: {timezone: UTC, language: en}
lines:
  "5000": {brand: acme, language: en, flow: main}
flows:
  main:
    - queue: billing
queues:
  billing:
    require: {billing: 1, "lang_{language}": 1}
    max_wait: {after: 10m, then: {hangup: NORMAL_CLEARING}}
agents:
  "1001": {name: Alice, dial: user/1001, skills: {billing: 5, lang_de: 5}}
  "1002": {name: Bob, dial: user/1002, skills: {billing: 5, lang_en: 5}}
"""
"""billing[language=de] exists while Alice, the only German speaker, is declared."""

NO_GERMAN = LANGUAGES.replace(', lang_de: 5', '')
GERMAN = {"language": "de"}


def retire_german_while_ringing(rt, rules):
    """An originate answered while a reload retires billing[language=de] (and Alice)."""
    def answer():
        rt.reconfigure(compile_source(rules))
        return "+OK\n"
    return answer


def test_a_caller_whose_queue_variant_a_reload_retired_goes_back_in_line_in_the_new_queue():
    inbound = FakeInbound()
    rt = runtime(compile_source(LANGUAGES), inbound)
    inbound.originates.append(retire_german_while_ringing(rt, NO_GERMAN))
    inbound.api_errors["uuid_bridge"] = "-ERR No such channel!"
    told = []
    assert rt.join(CALLER, "billing", GERMAN, told.append)
    assert [o.queue for o in rt.step()] == ["billing[language=de]"]
    assert told == [Bridging("1001"), BridgeFailed("1001")]
    assert rt.acd.position(CALLER, rt.now()) == 1  # back in line, where the new plan puts them
    assert rt.status(CALLER) is not None


def test_a_caller_whose_rules_queue_a_reload_removed_goes_to_no_agents_after_a_failed_bridge():
    inbound = FakeInbound()
    rt = runtime(compile_source(LANGUAGES), inbound)
    other = LANGUAGES.replace("- queue: billing", "- queue: other").replace("  billing:", "  other:")
    inbound.originates.append(retire_german_while_ringing(rt, other))
    inbound.api_errors["uuid_bridge"] = "-ERR No such channel!"
    told = []
    rt.join(CALLER, "billing", GERMAN, told.append)
    rt.step()
    assert told == [Bridging("1001"), BridgeFailed("1001"), NoAgents("billing")]
    assert not rt.acd.has_entry(CALLER)


def test_a_waiting_caller_whose_queue_variant_a_reload_retired_moves_to_the_new_queue():
    inbound = FakeInbound("+OK\n")
    rt = runtime(compile_source(LANGUAGES), inbound)
    for agent in ("1001", "1002"):
        rt.set_agent_state(agent, AgentState.PAUSED)
    told = []
    assert rt.join(CALLER, "billing", GERMAN, told.append)
    # Alice, the only German speaker, leaves; billing asks for no language now.
    rt.reconfigure(compile_source(NO_GERMAN.replace('require: {billing: 1, "lang_{language}": 1}',
                                                    "require: {billing: 1}")))
    gevent.sleep(0)  # what the reload causes runs in a greenlet of its own
    rt.set_agent_state("1002", AgentState.AVAILABLE)
    # Left in the retired billing[language=de] (billing 1, lang_de 1), nobody
    # could ever serve them; in billing, Bob can.
    assert [(o.entry_id, o.agent_id, o.queue) for o in rt.step()] == [(CALLER, "1002", "billing")]
    assert told == [Bridging("1002"), Bridged("1002")]


def test_nothing_the_reconfigured_acd_causes_runs_before_new_calls_get_the_new_plan(rules_file):
    plans = holder(rules_file)
    rt = runtime(plans.current, FakeInbound())
    plans.apply = lambda prepared: rt.reconfigure(prepared.plan, prepared.layout, prepared.compiled)
    seen = []

    def handle(events):  # hanging a cancelled offer's leg up yields: others would see this plan
        seen.append(plans.current)

    rt.handle = handle
    rules_file.write_text(rules_file.read_text().replace("brand: acme", "brand: other"))
    assert plans.reload() is True
    gevent.sleep(0)
    assert seen == [plans.current]


def test_the_service_maps_and_compiles_its_rules_once_at_start(rules_file, monkeypatch):
    from fsrouter.acd import memory
    from fsrouter.runtime import queue_runtime

    prepared = prepare(str(rules_file), str(SOUNDS))
    plans = PlanHolder(str(rules_file), str(SOUNDS), prepared=prepared)

    def again(*args):
        raise AssertionError("mapped or compiled a second time")

    monkeypatch.setattr(queue_runtime, "from_plan", again)
    monkeypatch.setattr(memory, "compile_layout", again)
    rt = QueueRuntime(prepared.plan, FakeInbound(), layout=prepared.layout, compiled=prepared.compiled)
    assert plans.current is rt.plan and rt.layout is prepared.layout
    assert rt.acd.queue_status("support", rt.now()).waiting == 0  # the ACD runs the prepared layout


def test_the_rules_digest_follows_names_and_content_not_the_place(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    for folder in (one, two):
        folder.mkdir()
        (folder / "a.yaml").write_text("lines: {}\n")
        (folder / "b.yaml").write_text("flows: {}\n")
    digest = rules_digest(str(one))
    assert len(digest) == 64 and rules_digest(str(two)) == digest
    (two / "b.yaml").rename(two / "c.yaml")
    assert rules_digest(str(two)) != digest
    (one / "a.yaml").write_text("lines: {}  \n")
    assert rules_digest(str(one)) not in (digest, rules_digest(str(two)))
