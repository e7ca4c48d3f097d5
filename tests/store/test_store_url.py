"""`open_store` URLs, and the database URL of the service configuration."""

from __future__ import annotations

from pathlib import Path

import pytest

from fsrouter.config import load_config
from fsrouter.rules import RulesError
from fsrouter.store import StoreError, UnsupportedURL, open_store, resolve_url
from fsrouter.store.sqlite import SqliteStore
from fsrouter.store.url import redacted, sqlite_path


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


@pytest.mark.parametrize(
    "url, resolved",
    [
        ("sqlite:../var/fsrouter.db", "sqlite:///etc/var/fsrouter.db"),
        ("sqlite:data/my%20file.db", "sqlite:///etc/fsrouter/data/my%20file.db"),
        ("sqlite:///var/lib/fsrouter/fsrouter.db", "sqlite:///var/lib/fsrouter/fsrouter.db"),
        ("sqlite:///:memory:", "sqlite:///:memory:"),
        ("postgresql:///fsrouter?host=/run/postgresql", "postgresql:///fsrouter?host=/run/postgresql"),
    ],
)
def test_relative_sqlite_paths_resolve_against_a_directory(url, resolved):
    assert resolve_url(url, "/etc/fsrouter") == resolved


def test_resolve_refuses_bad_sqlite_urls():
    with pytest.raises(UnsupportedURL):
        resolve_url("sqlite://host/x.db", "/etc/fsrouter")


def test_opening_creates_the_database_directory(tmp_path):
    path = tmp_path / "var" / "lib" / "fsrouter.db"
    with open_store(f"sqlite://{path}") as store:
        assert store.schema_version() >= 1
    assert path.is_file()


def test_unusable_database_directory_is_a_store_error(tmp_path):
    (tmp_path / "a-file").write_text("")
    with pytest.raises(StoreError, match="cannot open SQLite database"):
        open_store(f"sqlite://{tmp_path}/a-file/fsrouter.db")


def test_config_database_url_is_relative_to_the_config_file(tmp_path, monkeypatch):
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    (config_dir / "fsrouter.yaml").write_text("database:\n  url: sqlite:../var/fsrouter.db\n")
    monkeypatch.chdir("/")
    config = load_config(config_dir / "fsrouter.yaml")
    assert config.database_url == f"sqlite://{tmp_path}/var/fsrouter.db"


def test_shipped_config_uses_a_writable_git_ignored_database():
    config = load_config(Path(__file__).parents[2] / "config" / "fsrouter.yaml")
    assert config.database_url == f"sqlite://{Path(__file__).parents[2]}/var/fsrouter.db"


def test_config_refuses_a_bad_database_url(tmp_path):
    (tmp_path / "fsrouter.yaml").write_text("database:\n  url: sqlite://host/x.db\n")
    with pytest.raises(RulesError) as raised:
        load_config(tmp_path / "fsrouter.yaml")
    [problem] = raised.value.problems
    assert "fsrouter.yaml:2:" in str(problem) and "database.url" in str(problem)


@pytest.mark.parametrize("url, shown", [
    ("postgresql://fsr:s3cret@db.example/fsrouter", "postgresql://fsr:***@db.example/fsrouter"),
    ("postgresql://fsr:s3cret@db/x?sslmode=require&password=two", "postgresql://fsr:***@db/x?sslmode=require&password=***"),
    ("postgresql:///fsrouter?host=/run/postgresql", "postgresql:///fsrouter?host=/run/postgresql"),
    ("sqlite:///var/lib/fsrouter/fsrouter.db", "sqlite:///var/lib/fsrouter/fsrouter.db"),
])
def test_a_url_is_shown_without_its_password(url, shown):
    assert redacted(url) == shown
