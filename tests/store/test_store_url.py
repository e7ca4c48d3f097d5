"""`open_store` URLs."""

from __future__ import annotations

import pytest

from fsrouter.store import UnsupportedURL, open_store
from fsrouter.store.sqlite import SqliteStore
from fsrouter.store.url import sqlite_path


@pytest.mark.parametrize(
    "url, path",
    [
        ("sqlite:///var/lib/fsrouter/fsrouter.db", "/var/lib/fsrouter/fsrouter.db"),
        ("sqlite:///:memory:", ":memory:"),
        ("sqlite:data/fsrouter.db", "data/fsrouter.db"),
        ("sqlite:///with%20space.db", "/with space.db"),
    ],
)
def test_sqlite_paths(url, path):
    assert sqlite_path(url) == path


@pytest.mark.parametrize(
    "url", ["sqlite://host/file.db", "sqlite:///file.db?mode=ro", "sqlite://", "mysql://x/y"]
)
def test_bad_urls_are_refused(url):
    with pytest.raises(UnsupportedURL, match="URL"):
        open_store(url)


def test_memory_store_opens_migrated():
    with open_store("sqlite:///:memory:") as store:
        assert isinstance(store, SqliteStore) and store.schema_version() >= 1


def test_postgresql_url_opens_a_postgres_store(pg_shared_url):
    from fsrouter.store.postgres import PostgresStore

    with open_store(pg_shared_url, max_size=2) as store:
        assert isinstance(store, PostgresStore) and store.schema_version() >= 1
