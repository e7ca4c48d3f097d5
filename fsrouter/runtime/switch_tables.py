"""FreeSWITCH's ``show <table> as json`` answers, read.

mod_commands' show_function (src/mod/applications/mod_commands/mod_commands.c)
runs ``select * from <table>`` on the core database and, ``as json``, writes
each row as an object of strings, column name to value (NULL as ""), with
``cJSON_PrintUnformatted``: ``{"row_count":2,"rows":[{...},{...}]}``.  With no
rows it writes ``{"row_count": 0}`` and a newline instead, without ``rows``.
With the core database off it answers ``-ERR SQL disabled, no data
available!``, which `InboundClient.api` already raises as an error.
"""

from __future__ import annotations

import json


class ShowError(ValueError):
    """The answer is not what show_function writes ``as json``."""


def show_rows(body: str) -> list[dict[str, str]]:
    """The rows of a ``show ... as json`` answer; `ShowError` if it is not one."""
    try:
        answer = json.loads(body)
    except ValueError:
        raise ShowError(f"not a JSON answer: {body[:80]!r}") from None
    if not isinstance(answer, dict) or not isinstance(answer.get("row_count"), int):
        raise ShowError(f"no row_count in the answer: {body[:80]!r}")
    rows = answer.get("rows", [])
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise ShowError(f"rows is not a list of objects: {body[:80]!r}")
    return [{str(k): str(v) for k, v in row.items()} for row in rows]
