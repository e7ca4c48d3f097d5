"""The admin API of a running `fsrouter run`: the token it wrote is needed."""

from __future__ import annotations

import gevent
import pytest

from fsrouter.api.client import ApiClient, ClientError


def test_the_api_wants_the_token_the_service_wrote(fsrouter):
    token = fsrouter.token_file.read_text().strip()
    url = f"http://127.0.0.1:{fsrouter.api_port}"
    with pytest.raises(ClientError) as refused:
        gevent.get_hub().threadpool.apply(ApiClient(url).get, ("/status",))
    assert refused.value.status == 401
    status = gevent.get_hub().threadpool.apply(ApiClient(url, token).get, ("/status",))
    assert status["freeswitch_inbound_connected"] is True
    assert fsrouter.api("GET", "/status")["calls_started"] == 0
