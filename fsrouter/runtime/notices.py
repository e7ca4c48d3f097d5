"""The service's notices: the board every call reads, kept in step with the store.

Notices are loaded from the store at start; each change is committed to the
store first and then put on the board, so a notice the operator was told is
on survives a restart, and one the store refused was never heard.  A call
asks the board at its `notice:` step (`prompt_for`): one dict lookup, no
store access on the call's path.

One process's board follows its own changes only: several fsrouter
processes sharing a PostgreSQL store see each other's notices at their next
start (scale-out is not built yet).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from fsrouter.notices import (
    Notice, NoticeBoard, NoticeError, check_prompt_id, check_scope_in_plan, expiry, parse_scope,
)
from fsrouter.rules import Plan
from fsrouter.rules.sounds import missing_files, prompts_in
from fsrouter.store import Store

log = logging.getLogger(__name__)

#: Where the prompts an operator picks from live, under each language.
NOTICE_FOLDER = "notices"


@dataclass(frozen=True)
class SwitchedOn:
    notice: Notice
    replaced: Notice | None
    warnings: list[str]


class NoticeDesk:
    def __init__(self, store: Store, plan: Callable[[], Plan], sounds_dir: str,
                 clock: Callable[[], float] = time.time) -> None:
        """`store` a `GeventStore`; `plan()` the plan new calls get (notices
        are checked against it); `sounds_dir` the prompts as `check` sees them."""
        self._store = store
        self._plan = plan
        self._sounds = Path(sounds_dir)
        self._clock = clock
        self._board = NoticeBoard()
        self.prompt_for = self._board.prompt_for
        """(key, now) -> prompt id: what `CallMachine` asks at a `notice:` step."""

    def load(self) -> None:
        for notice in self._store.notices_on():
            self._board.put(notice)
        live = self.live()
        if live:
            log.info("notices on: %s", ", ".join(f"{n.id} ({n.scope}: {n.prompt})" for n in live))

    def switch_on(self, scope: str, prompt: str, *, until: str | None = None,
                  lasting: str | None = None) -> SwitchedOn:
        """Check everything, then store and put on the board; `NoticeError`
        for bad input (nothing stored), `StoreError` if the store fails."""
        parsed = parse_scope(scope)
        check_prompt_id(prompt)
        plan = self._plan()
        warnings = check_scope_in_plan(parsed, plan)
        languages = sorted(plan.known.get("language", ()) or {plan.settings.language})
        if missing_files(self._sounds, prompt, languages):
            there = prompts_in(self._sounds, NOTICE_FOLDER, languages)
            raise NoticeError(f'no prompt "{prompt}" in every language of the rules ({", ".join(languages)});'
                              f" the {NOTICE_FOLDER} prompts there are: {', '.join(there) or 'none'}")
        now = self._clock()
        ends = expiry(now, plan.settings.tz, until=until, lasting=lasting)
        notice = self._store.add_notice(parsed.key, prompt, now, ends)
        # Scope and prompt were checked above: nothing in them can forge a log line.
        log.info("notice %d on for %s: %s, until %s", notice.id, notice.scope, notice.prompt,
                 self.ends(notice) or "cleared")
        return SwitchedOn(notice, self._board.put(notice), warnings)

    def clear(self, *, notice_id: int | None = None, scope: str | None = None) -> list[Notice]:
        """Clear by id or scope; returns what was on (empty: nothing was)."""
        key = None if scope is None else parse_scope(scope).key
        cleared = self._store.clear_notices(self._clock(), notice_id=notice_id, scope=key)
        for notice in cleared:
            self._board.remove(notice)
            log.info("notice %d cleared (%s: %s)", notice.id, notice.scope, notice.prompt)
        return cleared

    def live(self) -> list[Notice]:
        return self._board.live(self._clock())

    def ends(self, notice: Notice) -> str | None:
        """When it ends, in the rules' time zone ("2026-12-07 18:00 EET")."""
        if notice.expires_at is None:
            return None
        return datetime.fromtimestamp(notice.expires_at, self._plan().settings.tz).strftime("%Y-%m-%d %H:%M:%S %Z")
