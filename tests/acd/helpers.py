"""Builders for ACD tests: short specs with the defaults that do not matter."""

from __future__ import annotations

from fsrouter.acd import AgentPolicy, AgentSpec, InMemoryAcd, Offer, QueueSpec

QUICK = AgentPolicy(wrap_up=5.0, ring_timeout=20.0, no_answer_delay=30.0, busy_delay=60.0, reject_delay=10.0)


def agent(agent_id: str, policy: AgentPolicy = QUICK, **skills: int) -> AgentSpec:
    return AgentSpec(agent_id, f"Agent {agent_id}", f"user/{agent_id}", skills, policy)


def queue(name: str, require: dict[str, int] | None = None, **options) -> QueueSpec:
    options.setdefault("max_wait", 900.0)
    options.setdefault("max_wait_destination", "voicemail")
    return QueueSpec(name, require or {}, **options)


def login(acd: InMemoryAcd, *agent_ids: str, now: float = 0.0) -> None:
    for agent_id in agent_ids:
        acd.set_agent_state(agent_id, "available", now)


def only_offer(offers: list[Offer]) -> Offer:
    assert len(offers) == 1, offers
    return offers[0]


def serve(acd: InMemoryAcd, entry_id: str, queue_name: str, now: float, talk: float = 60.0) -> Offer:
    """Enqueue, dispatch, answer and end one call; returns the offer."""
    acd.enqueue(entry_id, queue_name, now)
    offer = only_offer(acd.dispatch(now))
    acd.answered(offer.offer_id, now)
    acd.call_ended(offer.offer_id, now + talk)
    return offer
