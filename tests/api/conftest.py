"""Make the runtime tests' fakes (tests/runtime/runtime_fakes.py) importable:
resources are tested over a real queue runtime on a fake switch."""

import sys
from pathlib import Path

for _path in (Path(__file__).resolve().parents[1] / "runtime", Path(__file__).resolve().parents[1]):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))
