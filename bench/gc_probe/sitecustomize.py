"""What the cyclic collector does inside `fsrouter run` (bench/capacity.py --gc-probe FILE).

Python imports `sitecustomize` at start-up from PYTHONPATH; capacity.py puts
this directory there for the fsrouter process only.  Every full collection
appends a JSON line to $FSROUTER_GC_PROBE: how long it took and how many
objects it left tracked.  The first one that leaves at least
$FSROUTER_GC_PROBE_COUNT_AT objects (default 100,000) also writes the tracked
objects by type, so that a type's count divided by the live connections'
is what each call keeps for the collector to walk.
"""

import collections
import gc
import json
import os
import time

_PATH = os.environ.get("FSROUTER_GC_PROBE")
if _PATH and b"fsrouter.cli" in open("/proc/self/cmdline", "rb").read():
    _COUNT_AT = int(os.environ.get("FSROUTER_GC_PROBE_COUNT_AT", "100000"))
    _state = {"started": 0.0, "counted": False}

    def _on_collection(phase: str, info: dict) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            _state["started"] = time.perf_counter()
            return
        line = {"at": time.time(), "full_ms": round((time.perf_counter() - _state["started"]) * 1000, 1)}
        tracked = gc.get_objects()
        line["tracked"] = len(tracked)
        if not _state["counted"] and len(tracked) >= _COUNT_AT:
            _state["counted"] = True
            types = collections.Counter(f"{type(o).__module__}.{type(o).__qualname__}" for o in tracked)
            line["by_type"] = dict(types)
        del tracked
        with open(_PATH, "a") as out:
            out.write(json.dumps(line) + "\n")

    gc.callbacks.append(_on_collection)
