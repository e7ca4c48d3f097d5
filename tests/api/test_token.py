"""Where the admin API's token comes from, and which hosts need one."""

from __future__ import annotations

import stat

import pytest

from fsrouter.api.token import TokenError, authorized, is_loopback, read_token


def test_a_missing_token_file_is_created_private_by_the_service_only(tmp_path):
    path = tmp_path / "var" / "api-token"
    with pytest.raises(TokenError, match="cannot read the API token file"):
        read_token(str(path), None, create=False)
    token = read_token(str(path), None, create=True)
    assert len(token) >= 40
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_token(str(path), None, create=False) == token  # the CLI reads the same


def test_an_empty_token_file_is_refused(tmp_path):
    path = tmp_path / "token"
    path.write_text("\n")
    with pytest.raises(TokenError, match="is empty"):
        read_token(str(path), None, create=True)


def test_the_environment_wins_over_the_file(tmp_path, monkeypatch):
    path = tmp_path / "token"
    path.write_text("from-file\n")
    monkeypatch.setenv("API_TOKEN", " from-env ")
    assert read_token(str(path), "API_TOKEN", create=True) == "from-env"
    monkeypatch.setenv("API_TOKEN", "")
    assert read_token(str(path), "API_TOKEN", create=True) == "from-file"


def test_no_token_configured_is_none():
    assert read_token(None, None, create=True) is None


@pytest.mark.parametrize("header, ok", [
    ("Bearer abc", True), ("bearer abc", True), ("Bearer abcd", False), ("Basic abc", False),
    ("abc", False), (None, False), ("", False)])
def test_authorized(header, ok):
    assert authorized(header, "abc") is ok
    assert authorized(header, None) is True


@pytest.mark.parametrize("host, loopback", [
    ("127.0.0.1", True), ("127.1.2.3", True), ("::1", True), ("localhost", True),
    ("0.0.0.0", False), ("::", False), ("192.0.2.1", False), ("no-such-host.invalid", False)])
def test_is_loopback(host, loopback):
    assert is_loopback(host) is loopback
