"""fsrouter: a call-routing engine (ACD) for FreeSWITCH.

The core (`rules`, `flow`, `acd`) is sans-IO: it never touches sockets,
databases or the clock.  IO lives in `esl`, `store`, `api` and `sim`.
"""

__version__ = "0.1.0"
