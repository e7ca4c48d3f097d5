"""The CLI's side of the admin API: a running service on this box (or
another, with `--api URL`) is asked, never its database behind its back.

The URL and the token come from the service configuration, so the CLI finds
them where the service does; `--api` overrides the URL only.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from fsrouter.api.token import read_token
from fsrouter.config import ServiceConfig


class ClientError(Exception):
    """The service did not do what was asked; the message says why, in one line."""

    def __init__(self, message: str, status: int | None = None, detail: Any = None) -> None:
        super().__init__(message)
        self.status = status
        #: The service's decoded answer (an error may say more than its message).
        self.detail = detail


@dataclass(frozen=True)
class ApiClient:
    url: str
    token: str | None = None
    timeout: float = 10.0

    @classmethod
    def from_config(cls, config: ServiceConfig, url: str | None = None) -> ApiClient:
        if url is None:
            if config.api_port is None:
                raise ClientError("the configuration has no api.port: give --api URL")
            host = "127.0.0.1" if config.api_host in ("0.0.0.0", "::", "") else config.api_host
            url = f"http://[{host}]:{config.api_port}" if ":" in host else f"http://{host}:{config.api_port}"
        return cls(url.rstrip("/"), read_token(config.api_token_file, config.api_token_env, create=False))

    def get(self, path: str) -> Any:
        return self.call("GET", path)

    def post(self, path: str, body: dict | None = None) -> Any:
        return self.call("POST", path, body or {})

    def delete(self, path: str) -> Any:
        return self.call("DELETE", path)

    def call(self, method: str, path: str, body: dict | None = None) -> Any:
        """The decoded JSON answer; `ClientError` with the service's own
        message on an error status, or why the service could not be reached."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if self.token is not None:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                return _decode(answer.read())
        except urllib.error.HTTPError as exc:
            detail = _decode(exc.read())
            message = detail.get("error") if isinstance(detail, dict) else None
            raise ClientError(f"{method} {path}: {exc.code} {message or exc.reason}", exc.code, detail) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ClientError(f"cannot reach the fsrouter API at {self.url}: {reason}") from None


def _decode(data: bytes) -> Any:
    try:
        return json.loads(data) if data.strip() else None
    except ValueError:
        return data.decode(errors="replace")
