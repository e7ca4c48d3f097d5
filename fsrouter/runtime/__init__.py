"""The running service's moving parts: the room where machines meet IO.

`esl/` is the wire and nothing else; the decisions are sans-IO machines in
`flow/`, `acd/` and `offer/`.  This package wires them together in gevent greenlets:
the `Service` (what `fsrouter run` builds), each call's runner, the queue
runtime that carries out offers and bridges, the callback dialler, and the
trackers of agent legs and phone registrations.
"""
