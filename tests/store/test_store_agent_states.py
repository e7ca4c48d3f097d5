"""Agent states chosen at the desk (login, logout, pause with a reason)."""

from __future__ import annotations

import pytest

from fsrouter.store import AgentDeskState, StoreError
from fsrouter.store.gevent_wrapper import GeventStore


def test_agent_states_survive_reopening(backend, store):
    store.save_agent_state("1001", "paused", "lunch", 100.0)
    store.save_agent_state("1002", "available", "", 101.0)
    store.close()
    assert backend.open().agent_states() == {
        "1001": AgentDeskState("1001", "paused", "lunch", 100.0),
        "1002": AgentDeskState("1002", "available", "", 101.0),
    }


def test_the_last_state_chosen_replaces_the_one_before(store):
    store.save_agent_state("1001", "paused", "break", 100.0)
    store.save_agent_state("1001", "logged_out", "", 200.0)
    assert store.agent_states() == {"1001": AgentDeskState("1001", "logged_out", "", 200.0)}


def test_a_state_an_agent_cannot_choose_is_refused_and_nothing_written(store):
    with pytest.raises(ValueError, match="one of logged_out, available, paused"):
        store.save_agent_state("1001", "on_call", "", 100.0)
    assert store.agent_states() == {}


def test_a_closed_store_refuses_the_state_with_a_store_error(tmp_path):
    from fsrouter.store import open_store

    store = GeventStore(open_store(f"sqlite://{tmp_path}/x.db"))
    store.close()
    with pytest.raises(StoreError):
        store.save_agent_state("1001", "available", "", 1.0)
