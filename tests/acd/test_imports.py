"""The core is sans-IO: importing it must not pull in IO libraries."""

import subprocess
import sys

import pytest

FORBIDDEN = ("gevent", "greenlet", "socket", "select", "asyncio", "threading", "psycopg", "sqlite3")


@pytest.mark.parametrize("package, allowed", [
    ("fsrouter.acd", ()),
    # The bridging machine feeds flow events; importing `flow` loads `logging`, which loads `threading`.
    ("fsrouter.offer", ("threading",)),
])
def test_importing_the_core_pulls_in_no_io_modules(package, allowed):
    probe = (
        f"import sys; import {package}; "
        f"print(','.join(m for m in {FORBIDDEN!r} if m in sys.modules and m not in {allowed!r}))"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == ""
