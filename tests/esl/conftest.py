"""Make the transcript loader (tests/fixtures) and the fake peers (tests/esl) importable; the `serve` fixture."""

import sys
from pathlib import Path

for _path in (Path(__file__).resolve().parent, Path(__file__).resolve().parents[1]):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))


import pytest  # noqa: E402

from fsrouter.esl.outbound import OutboundServer  # noqa: E402


@pytest.fixture
def serve():
    """serve(handler=None, **kw) -> a started OutboundServer on loopback.

    `server.handled` lists the Unique-IDs of the calls handed to the handler.
    Every server is stopped after the test.
    """
    servers = []

    def start(handler=None, **kwargs) -> OutboundServer:
        handled = []

        def record(call) -> None:
            handled.append(call.uuid)
            if handler is not None:
                handler(call)

        server = OutboundServer("127.0.0.1", 0, record, **kwargs)
        server.handled = handled
        server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop(timeout=0.5)
