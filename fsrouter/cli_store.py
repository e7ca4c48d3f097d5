"""Opening the store from the command line (`--database URL`), for the
commands that work on it directly (`callbacks`, `report`): a URL naming no
database yet, or a store that fails, is one line and exit status 1 (a URL
that is no store URL at all, 2)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from .store import Store, StoreError, UnsupportedURL, open_store
from .store.url import sqlite_path


@contextmanager
def opened(url: str) -> Iterator[Store]:
    """The store at `url`; store errors become one-line messages (exit 1)."""
    _require_existing_sqlite_file(url)
    try:
        store = open_store(url)
    except UnsupportedURL as exc:
        raise click.BadParameter(str(exc), param_hint="--database") from None
    except StoreError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        yield store
    except StoreError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        store.close()


def _require_existing_sqlite_file(url: str) -> None:
    """Opening a SQLite URL creates the file: refuse a path that names no
    database yet, which is a typo or the wrong configuration."""
    if not url.lower().startswith("sqlite:"):
        return
    try:
        path = sqlite_path(url)
    except UnsupportedURL as exc:
        raise click.BadParameter(str(exc), param_hint="--database") from None
    if path != ":memory:" and not Path(path).is_file():
        raise click.ClickException(f"no database at {path} (has fsrouter run with this configuration?)")
