"""The admin API's bearer token, and where the API may listen without one.

The token comes from an environment variable or a file, both named in
`fsrouter.yaml` (`api.token_env`, `api.token_file`), so it never sits in the
configuration itself and the CLI finds it in the same place as the service.
A named file that does not exist yet is created with a random token,
readable by its owner only: the quick start needs no secret chosen by hand,
and an operator reads the token from the file.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import secrets
import socket
from pathlib import Path


class TokenError(Exception):
    """The token cannot be had; the message says why, in one line."""


def read_token(token_file: str | None, token_env: str | None, *, create: bool) -> str | None:
    """The configured token, or None when none is configured.

    The environment variable wins when it is set and not empty.  With
    `create` (the service), a missing `token_file` is made; without it (the
    CLI), a missing file is an error: the service has not run yet.
    """
    if _from_environment(token_env):
        return os.environ[token_env].strip()
    if token_file is None:
        if token_env:
            raise TokenError(f"the environment variable {token_env} (api.token_env) is not set")
        return None
    path = Path(token_file)
    try:
        if create and not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_urlsafe(32) + "\n")
        token = path.read_text().strip()
    except OSError as exc:
        raise TokenError(f"cannot read the API token file {path}: {exc.strerror or exc}") from None
    if not token:
        raise TokenError(f"the API token file {path} is empty")
    return token


def _from_environment(token_env: str | None) -> bool:
    """Whether the token comes from the environment (it wins when set and not empty)."""
    return bool(token_env and os.environ.get(token_env, "").strip())


def token_file_problem(token_file: str | None, token_env: str | None = None) -> str | None:
    """Why the service could neither read nor create `token_file`, or None
    (also when there is none, or the environment gives the token instead).

    `fsrouter check` asks this before `run` would fail on it: an installed
    configuration keeps a relative `../var/api-token` that lands in a
    read-only `/etc` (systemd's `ProtectSystem=strict`).  Run the check as
    the service's user for the answer to hold for the service.
    """
    if token_file is None or _from_environment(token_env):
        return None
    path = Path(token_file)
    if path.exists():
        if path.is_file() and os.access(path, os.R_OK):
            return None
        return f"the API token file {path} (api.token_file) cannot be read"
    existing = path.parent
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if existing.is_dir() and os.access(existing, os.W_OK | os.X_OK):
        return None
    return (f"the API token file {path} (api.token_file) does not exist and cannot be created: "
            f"{existing} is not a writable directory")


def authorized(header: str | None, token: str | None) -> bool:
    """Whether an `Authorization` header carries `token` (always, without one)."""
    if token is None:
        return True
    scheme, _, given = (header or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


def is_loopback(host: str) -> bool:
    """Whether `host` names only this machine (127.0.0.0/8, ::1, localhost)."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except OSError:
        return False
    return bool(addresses) and all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses)
