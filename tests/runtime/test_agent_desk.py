"""The agent desk: each change checked, stored, then applied (never half),
states restored at start and kept over reloads, skills set at run time."""

from __future__ import annotations

import pytest

from fsrouter.acd import AgentState, AgentStateChanged
from fsrouter.rules import compile_source
from fsrouter.runtime.agent_desk import AgentDesk, BadValue, NoSuchAgent, StateForbids, StoreDown
from fsrouter.runtime.queue_runtime import QueueRuntime
from fsrouter.store import StoreUnavailable, open_store

from runtime_fakes import RULES, Clock, FakeInbound

AUTO = RULES.replace('"1002": {name: Bob, dial: user/1002, skills: {support: 5}}',
                     '"1002": {name: Bob, dial: user/1002, skills: {support: 5}, login: auto}')


class Desk:
    """A queue runtime on a fake switch, its desk and a real SQLite store."""

    def __init__(self, path, rules=AUTO, store=None):
        self.store = store or open_store(f"sqlite://{path}/desk.db")
        self.runtime = QueueRuntime(compile_source(rules), FakeInbound(), clock=Clock(),
                                    spawn=lambda f, *a: f(*a))
        self.desk = AgentDesk(self.runtime, self.store, spawn=lambda f, *a: f(*a))
        self.desk.restore()

    def state(self, agent_id):
        status = self.desk.status(agent_id)
        return str(status.state), status.reason


@pytest.fixture
def desk(tmp_path):
    made = Desk(tmp_path)
    yield made
    made.store.close()


def test_agents_start_logged_out_unless_the_rules_log_them_in(desk):
    assert desk.state("1001") == ("logged_out", "")
    assert desk.state("1002") == ("available", "")
    assert desk.store.agent_states() == {}  # the rules' default is not a choice


def test_a_change_is_stored_and_applied(desk):
    desk.desk.change("1001", "login")
    desk.desk.change("1002", "pause", "lunch")
    assert desk.state("1001") == ("available", "")
    assert desk.state("1002") == ("paused", "lunch")
    stored = desk.store.agent_states()
    assert (stored["1001"].state, stored["1002"].state, stored["1002"].reason) == ("available", "paused", "lunch")


def test_a_restart_restores_what_was_chosen_over_the_rules(tmp_path):
    first = Desk(tmp_path)
    first.desk.change("1001", "login")
    first.desk.change("1002", "logout")  # login: auto, but Bob chose to go
    first.desk.change("1001", "pause", "training")
    second = Desk(tmp_path, store=first.store)
    assert second.state("1001") == ("paused", "training")
    assert second.state("1002") == ("logged_out", "")


class BrokenStore:
    """Reads, but every write fails as a locked database does."""

    def __init__(self, store):
        self._store = store

    def agent_states(self):
        return self._store.agent_states()

    def close(self):
        self._store.close()

    def save_agent_state(self, *args):
        raise StoreUnavailable("database is locked")


def test_a_store_fault_refuses_the_change_and_nothing_is_applied(tmp_path):
    made = Desk(tmp_path, store=BrokenStore(open_store(f"sqlite://{tmp_path}/desk.db")))
    with pytest.raises(StoreDown, match="not changed.*database is locked") as refused:
        made.desk.change("1002", "pause", "lunch")
    assert refused.value.status == 503
    assert made.state("1002") == ("available", "")
    assert made.desk.feature_code("1001", "login") == "refused"
    assert made.state("1001") == ("logged_out", "")


def test_an_unreadable_store_at_start_leaves_the_rules_to_decide(tmp_path, caplog):
    class Unreadable:
        def agent_states(self):
            raise StoreUnavailable("no such file")

    made = Desk(tmp_path, store=Unreadable())
    assert made.state("1002") == ("available", "")
    assert "agent states cannot be read" in caplog.text


@pytest.mark.parametrize("agent_id, action, reason, error, status", [
    ("9999", "login", "", NoSuchAgent, 404),
    ("1001", "dance", "", BadValue, 400),
    ("1002", "pause", "bad\nreason", BadValue, 400),
    ("1001", "pause", "lunch", StateForbids, 409),     # logged out: log in first
    ("1001", "unpause", "", StateForbids, 409),
])
def test_refusals_say_why_and_change_nothing(desk, agent_id, action, reason, error, status):
    before = desk.store.agent_states()
    with pytest.raises(error) as refused:
        desk.desk.change(agent_id, action, reason)
    assert refused.value.status == status
    assert desk.store.agent_states() == before


def test_login_while_paused_is_refused_with_the_way_out(desk):
    desk.desk.change("1002", "pause", "lunch")
    with pytest.raises(StateForbids, match="unpause instead"):
        desk.desk.change("1002", "login")


def test_feature_code_outcomes(desk):
    assert desk.desk.feature_code("1002", "toggle_pause", "lunch") == "paused"
    assert desk.desk.feature_code("1002", "toggle_pause", "lunch") == "unpaused"
    assert desk.desk.feature_code("1001", "login") == "logged_in"
    assert desk.desk.feature_code("1001", "login") == "logged_in"  # again: nothing to do
    assert desk.desk.feature_code("1001", "logout") == "logged_out"
    assert desk.desk.feature_code("1001", "pause") == "refused"
    assert desk.desk.feature_code("4242", "login") == "unknown"


def test_a_pause_the_acd_makes_after_missed_offers_is_stored(desk):
    desk.runtime.set_agent_state("1002", AgentState.PAUSED, "missed 3 offers in a row")
    desk.desk.on_events([AgentStateChanged(agent_id="1002", at=1.0, old=AgentState.AVAILABLE,
                                           new=AgentState.PAUSED, reason="missed 3 offers in a row")])
    assert desk.store.agent_states()["1002"].reason == "missed 3 offers in a row"


def test_an_unpause_made_before_the_acds_pause_is_stored_wins(tmp_path):
    later = []
    made = Desk(tmp_path)
    made.desk._spawn = lambda f, *a: later.append((f, a))  # the storing greenlet runs late
    try:
        made.runtime.set_agent_state("1002", AgentState.PAUSED, "missed 3 offers in a row")
        made.desk.on_events([AgentStateChanged(agent_id="1002", at=1.0, old=AgentState.AVAILABLE,
                                               new=AgentState.PAUSED, reason="missed 3 offers in a row")])
        assert later  # the ACD's own pause, to be stored
        made.desk.change("1002", "unpause")  # took the lock first
        for function, args in later:
            function(*args)
        assert made.state("1002") == ("available", "")
        assert made.store.agent_states()["1002"].state == "available"
    finally:
        made.store.close()


def test_run_time_skills_count_for_the_next_offer_and_a_reload_that_changes_them_wins(desk):
    desk.desk.set_skills("1001", {"sales": 7, "support": 0})
    assert dict(desk.desk.status("1001").skills) == {"sales": 7}
    runtime = desk.runtime
    desk.desk.change("1001", "login")
    assert runtime.acd.is_staffed("sales", runtime.now())  # nobody served sales before
    unchanged = compile_source(AUTO.replace("Alice", "Alicia"))
    previous = runtime.plan.agents
    runtime.reconfigure(unchanged)
    desk.desk.after_reload(previous, unchanged)
    assert dict(desk.desk.status("1001").skills) == {"sales": 7}  # the rules kept 1001's skills
    changed = compile_source(AUTO.replace('Alice, dial: user/1001, skills: {support: 5}',
                                          'Alice, dial: user/1001, skills: {support: 8}'))
    previous = runtime.plan.agents
    runtime.reconfigure(changed)
    desk.desk.after_reload(previous, changed)
    assert dict(desk.desk.status("1001").skills) == {"support": 8}


@pytest.mark.parametrize("skills, message", [
    ({}, "no skills given"),
    ({"billing": 11}, "integer 1-10"),
    ({"billing": "7"}, "integer 1-10"),
    ({"support": False}, "integer 1-10"),  # JSON false is not 0: it does not remove the skill
    ({"support": 0.0}, "integer 1-10"),
    ({"support": 7.0}, "integer 1-10"),
    ({"support": True}, "integer 1-10"),
    ({"bad name!": 3}, "bad skill name"),
])
def test_bad_skills_are_refused(desk, skills, message):
    with pytest.raises(BadValue, match=message):
        desk.desk.set_skills("1001", skills)
    assert dict(desk.desk.status("1001").skills) == {"support": 5}


def test_an_agent_a_reload_adds_starts_as_the_rules_say(desk):
    added = compile_source(AUTO.replace("agents:\n", 'agents:\n  "1003": {dial: user/1003, login: auto}\n'))
    previous = desk.runtime.plan.agents
    desk.runtime.reconfigure(added)
    desk.desk.after_reload(previous, added)
    assert desk.state("1003") == ("available", "")
    assert desk.state("1002") == ("available", "")


def test_a_pause_asked_for_during_a_call_waits_for_its_end_and_keeps_its_reason(desk):
    runtime = desk.runtime
    acd = runtime.acd
    acd.enqueue("c1", "support", runtime.now())
    offer, = acd.dispatch(runtime.now())
    acd.answered(offer.offer_id, runtime.now())
    on_call = offer.agent_id
    desk.desk.change(on_call, "pause", "lunch")
    status = desk.desk.status(on_call)
    assert (str(status.state), status.pending) == ("on_call", "pause")
    assert desk.desk.chosen(on_call).reason == "lunch"
    assert desk.store.agent_states()[on_call].reason == "lunch"
    assert desk.desk.feature_code(on_call, "pause", "lunch") == "paused"  # nothing new to store or apply
