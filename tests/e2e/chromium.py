"""Headless Chromium for the wallboard test, driven from its command line.

No npm and no DevTools client: `--dump-dom` prints the DOM once the page's
scripts have run for `--virtual-time-budget` milliseconds of the page's own
clock (network fetches pause that clock, so every poll in the budget is
answered), and `--screenshot` saves what it shows.  Debian's `chromium`
package is expected at /usr/bin/chromium (`.ci/run` installs it when it is
missing); without it the test skips, except under CI (CI=true), where it
fails.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import gevent.subprocess
import pytest

#: Quiet, self-contained, and nothing fetched from the network but the page.
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync")


def chromium() -> str:
    """The browser's path; fails (CI) or skips (elsewhere) when there is none."""
    found = shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)
    if found is None:
        message = "chromium is not installed (apt-get install -y chromium; .ci/run does it)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return found


def run(url: str, *args: str, budget_ms: int = 3000, timeout: float = 60.0) -> str:
    """Load `url` in a fresh profile, run its scripts for `budget_ms` of
    virtual time, and return what Chromium printed (with `--dump-dom`, the DOM)."""
    with tempfile.TemporaryDirectory(prefix="fsrouter-chromium-") as profile:
        done = gevent.subprocess.run(
            [chromium(), *FLAGS, f"--user-data-dir={profile}", f"--virtual-time-budget={budget_ms}", *args, url],
            capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"chromium exited {done.returncode}:\n{done.stderr[-3000:]}"
    return done.stdout


def dump_dom(url: str, **options) -> str:
    return run(url, "--dump-dom", **options)


def screenshot(url: str, path: Path, size: str = "1600,500", **options) -> Path:
    run(url, f"--screenshot={path}", f"--window-size={size}", **options)
    return path


class BoardCells(HTMLParser):
    """The wallboard's cells from its DOM: {queue: {figure: (data-value, text)}},
    and the status line's text."""

    def __init__(self, dom: str) -> None:
        super().__init__()
        self.queues: dict[str, dict[str, tuple[str, str]]] = {}
        self.status = ""
        self._queue: str | None = None
        self._cell: tuple[str, str] | None = None
        self._text: list[str] = []
        self._in_status = False
        self.feed(dom)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "tr" and "data-queue" in attrs:
            self._queue = attrs["data-queue"]
            self.queues[self._queue] = {}
        elif tag == "td" and "data-figure" in attrs and self._queue is not None:
            self._cell, self._text = (attrs["data-figure"], attrs.get("data-value", "")), []
        elif attrs.get("id") == "status":
            self._in_status = True

    def handle_data(self, data):
        if self._cell is not None:
            self._text.append(data)
        if self._in_status:
            self.status += data

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None:
            figure, value = self._cell
            self.queues[self._queue][figure] = (value, "".join(self._text))
            self._cell = None
        elif tag == "div":
            self._in_status = False
