"""The core is sans-IO: importing it must not pull in IO libraries."""

import subprocess
import sys

FORBIDDEN = ("gevent", "greenlet", "socket", "select", "asyncio", "threading", "psycopg", "sqlite3")


def test_importing_the_acd_pulls_in_no_io_modules():
    probe = (
        "import sys; import fsrouter.acd; "
        f"print(','.join(m for m in {FORBIDDEN!r} if m in sys.modules))"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == ""
