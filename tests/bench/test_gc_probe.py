"""bench/gc_probe: what `capacity.py --gc-probe` reads from inside `fsrouter run`."""

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bench"))

from capacity import gc_figures  # noqa: E402


def probed(tmp_path: Path, code: str) -> Path:
    log = tmp_path / "gc.jsonl"
    env = dict(os.environ, PYTHONPATH=str(REPO / "bench" / "gc_probe"), FSROUTER_GC_PROBE=str(log),
               FSROUTER_GC_PROBE_COUNT_AT="0")
    subprocess.run([sys.executable, "-c", code], env=env, check=True, cwd=REPO)
    return log


def test_an_fsrouter_process_logs_its_full_collections_and_what_each_call_keeps(tmp_path):
    log = probed(tmp_path, "import gc, socket\n"
                           "gc.disable()\n"  # the one full collection: the explicit one, calls up
                           "from fsrouter.cli import main\n"  # the probe's mark: an fsrouter process
                           "from fsrouter.esl.connection import Connection\n"
                           "pairs = [socket.socketpair() for _ in range(3)]\n"
                           "calls = [Connection(a, name='x') for a, _ in pairs]\n"
                           "gc.collect()\n")
    figures = gc_figures(log)
    assert figures["full_collections"] and all(c["ms"] >= 0 and c["tracked"] > 0
                                               for c in figures["full_collections"])
    assert figures["calls_when_counted"] == 3
    assert figures["tracked_per_call_by_type"]["fsrouter.esl.connection.Connection"] == 1.0


def test_other_processes_are_not_probed(tmp_path):
    log = probed(tmp_path, "import gc; gc.collect()")
    assert not log.exists()
