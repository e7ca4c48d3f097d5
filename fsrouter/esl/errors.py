"""Exceptions raised by fsrouter's ESL layer.

One hierarchy for the whole `fsrouter.esl` package so callers can catch
`ESLError` at the boundary.  Each class says whose fault it was: the peer sent
garbage (`ESLProtocolError`), the peer went away (`ESLConnectionClosed`), the
peer was too slow (`ESLTimeout`), or the peer refused what we asked
(`ESLCommandError`).  This module is pure (no gevent) so the sans-IO codec can
raise from it.
"""

from __future__ import annotations


class ESLError(Exception):
    """Base class of every error raised by `fsrouter.esl`."""


class ESLProtocolError(ESLError):
    """The peer sent bytes that are not ESL (remote protocol error).

    Examples: a header line without ``": "``, a non-numeric or oversized
    Content-Length, a header block over 64 KiB.  The connection that produced
    it cannot be resynchronised and must be closed.
    """


class ESLConnectionClosed(ESLError, ConnectionError):
    """The connection ended (EOF, reset, or closed locally) before an answer came."""


class ESLTimeout(ESLError, TimeoutError):
    """No answer within the caller's timeout; the request's waiter was removed."""


class ESLCommandError(ESLError):
    """FreeSWITCH answered ``-ERR ...``; `reply` is the full Reply-Text (or api body)."""

    def __init__(self, command: str, reply: str) -> None:
        super().__init__(f"{command!r} failed: {reply}")
        self.command = command
        self.reply = reply

    @classmethod
    def check(cls, command: str, reply: str) -> None:
        """Raise if `reply` (a Reply-Text or an api result) is FreeSWITCH's ``-ERR ...``."""
        if reply.startswith("-ERR"):
            raise cls(command, reply.strip())


class ESLAuthError(ESLCommandError, ValueError):
    """FreeSWITCH refused the inbound password (also a ValueError, as greenswitch raised)."""
