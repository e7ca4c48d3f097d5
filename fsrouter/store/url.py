"""Choose and open a backend from a URL, the one setting a sysadmin writes.

- `sqlite:///var/lib/fsrouter/fsrouter.db`: everything after `sqlite://` is
  the path, so three slashes mean an absolute path; `sqlite:relative.db` is
  relative to the working directory (the service configuration makes it
  relative to the configuration file first, with `resolve_url`);
  `sqlite:///:memory:` is a private in-memory database (tests).  The
  file's directory is created if missing.
- `postgresql://user@host/db` (or `postgres://`): handed to libpq as is, so
  every libpq parameter works, e.g. `postgresql:///fsrouter?host=/run/postgresql`.

The PostgreSQL backend is imported only when asked for, so that importing
`fsrouter.store` before `gevent.monkey.patch_all()` cannot make psycopg
choose blocking waits.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from fsrouter.store.errors import UnsupportedURL
from fsrouter.store.interface import Store


def open_store(url: str, **options: Any) -> Store:
    """Open (and migrate) the store at `url`.

    `options` go to the backend's constructor: `synchronous=`, `busy_timeout=`
    for SQLite; `min_size=`, `max_size=`, `timeout=` for PostgreSQL.
    """
    scheme = _scheme(url)
    if scheme == "sqlite":
        from fsrouter.store.sqlite import SqliteStore

        return SqliteStore(sqlite_path(url), **options)
    if scheme in ("postgresql", "postgres"):
        from fsrouter.store.postgres import PostgresStore

        return PostgresStore(url, **options)
    raise UnsupportedURL(
        f"unsupported store URL {redacted(url)!r}: use sqlite:///path/to/file.db or postgresql://…"
    )


def redacted(url: str) -> str:
    """`url` fit for a log or an error line: a password, in the user part
    or as a `password=` parameter, replaced by `***`."""
    netloc = urlsplit(url).netloc
    user, at, host = netloc.rpartition("@")
    if at and ":" in user:
        url = url.replace(netloc, f"{user.partition(':')[0]}:***@{host}", 1)
    return re.sub(r"([?&]password=)[^&#]*", r"\1***", url)


def sqlite_path(url: str) -> str:
    """The file path a `sqlite:` URL names."""
    parts = urlsplit(url)
    if parts.netloc or parts.query or parts.fragment:
        raise UnsupportedURL(
            f"bad SQLite URL {url!r}: expected sqlite:///absolute/path.db,"
            " sqlite:relative.db or sqlite:///:memory:"
        )
    path = unquote(parts.path)
    if path == "/:memory:":
        return ":memory:"
    if not path:
        raise UnsupportedURL(f"SQLite URL {url!r} names no file")
    return path


def resolve_url(url: str, base_dir: str | os.PathLike[str]) -> str:
    """`url` with a relative SQLite path made absolute against `base_dir`.

    The service configuration passes its own directory, so that a relative
    database path means the same file whatever directory fsrouter is
    started from.  Other URLs come back unchanged; a malformed SQLite URL
    raises `UnsupportedURL`.
    """
    if _scheme(url) != "sqlite":
        return url
    path = sqlite_path(url)
    if path == ":memory:" or os.path.isabs(path):
        return url
    return "sqlite://" + quote(str((Path(base_dir) / path).resolve()))


def _scheme(url: str) -> str:
    return url.partition(":")[0].lower()
