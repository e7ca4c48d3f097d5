"""The core must not pull in IO libraries: checked in a fresh interpreter."""

import subprocess
import sys

FORBIDDEN = ("gevent", "socket", "psycopg", "greenswitch", "sqlite3", "select")


def test_flow_and_plan_import_no_io_modules():
    code = (
        "import sys, fsrouter.flow, fsrouter.rules.plan\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
