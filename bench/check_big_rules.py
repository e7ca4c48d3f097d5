"""How long `fsrouter check` (the same loader and checker as `run` and a
reload) takes on big valid rules files, its peak memory, and how fast an
oversized file is refused.

    .venv/bin/python bench/check_big_rules.py
    .venv/bin/python bench/check_big_rules.py --lines 5000 20000 50000

Each file is generated in a temporary directory: a line per flow, every flow
a greeting and a menu whose options transfer, go back to the first flow, test the
caller id against a regex or hang up, and a few regex routes.  The largest
accepted file is also measured, grown to just under the size limit, and one
as big made of menus each leading to the next two (the graph analysis' worst
case).  Each
measurement runs in a fresh interpreter, so peak RSS is that of one check
(the interpreter and fsrouter's imports included).  Prints a table; no
assertions.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from fsrouter.rules.loader import MAX_FILE_BYTES

_FLOW = """\
  f{n}:
    - play: greeting/acme
    - menu:
        prompt: menu/main
        options:
          "1": {{transfer: "1{n:04d}"}}
          "2": {{goto: f0}}
          "3": [{{if: {{caller_id: {{regex: "^\\\\+30{n}\\\\d+$"}}}}, then: {{transfer: vip}}, else: {{hangup: USER_BUSY}}}}]
          "0": {{transfer: operator}}
        on_invalid: {{retries: 2, then: {{transfer: operator}}}}
        on_timeout: {{retries: 1, then: {{hangup: NORMAL_CLEARING}}}}
"""
_FLOW_LINES = _FLOW.count("\n")


def rules_text(lines: int | None = None, size: int | None = None) -> str:
    """Valid rules of about `lines` lines, or as many flows as fit in `size` bytes."""
    head = ["settings: {timezone: UTC, language: en}\n", "routes:\n"]
    head += [f'  - match: {{caller_id: {{regex: "^\\\\+3069{r}\\\\d{{7}}$"}}}}\n    flow: f{r}\n' for r in range(5)]
    lines_part, flows_part = ["lines:\n"], ["flows:\n"]
    n, total = 0, sum(map(len, head)) + 16
    while True:
        line = f'  "+302100{n:06d}": {{brand: acme, flow: f{n}}}\n'
        flow = _FLOW.format(n=n)
        if lines is not None and (n + 1) * (_FLOW_LINES + 1) > lines:
            break
        if size is not None and total + len(line) + len(flow) > size:
            break
        lines_part.append(line)
        flows_part.append(flow)
        total += len(line) + len(flow)
        n += 1
    return "".join(head + lines_part + flows_part)


def chained_menus_text(size: int) -> str:
    """As many flows as fit in `size` bytes, each a menu whose options go to
    the next two: the worst case for the graph analysis (menu depth, paths
    to a person), which must stay linear."""
    out, total, n = ['lines: {"5000": {flow: m0}}\nflows:\n'], 40, 0
    while True:
        flow = (f"  m{n}: [{{menu: {{prompt: menu/main, options: {{'1': {{goto: m{n + 1}}}, "
                f"'2': {{goto: m{n + 2}}}, '0': {{transfer: operator}}}}, default: {{transfer: operator}}}}}}]\n")
        if total + len(flow) + 200 > size:
            break
        out.append(flow)
        total += len(flow)
        n += 1
    out.append(f"  m{n}: [{{transfer: operator}}]\n  m{n + 1}: [{{transfer: operator}}]\n")
    return "".join(out)


_CHILD = """
import json, resource, sys, time
start = time.perf_counter()
from fsrouter.rules import check
problems = check(sys.argv[1])
elapsed = time.perf_counter() - start
print(json.dumps({"seconds": elapsed, "errors": [str(p) for p in problems if p.severity == "error"],
                  "rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def measure(path: Path) -> dict:
    done = subprocess.run([sys.executable, "-c", _CHILD, str(path)], capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, nargs="+", default=[5000, 20000, 50000])
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        cases = [(f"{n:,} lines", rules_text(lines=n)) for n in args.lines]
        cases.append(("largest accepted", rules_text(size=MAX_FILE_BYTES)))
        cases.append(("largest accepted, menus chained", chained_menus_text(MAX_FILE_BYTES)))
        for label, text in cases:
            path = Path(tmp) / "rules.yaml"
            path.write_text(text)
            result = measure(path)
            if result["errors"]:
                raise SystemExit(f"{label}: the generated rules have errors: {result['errors'][:3]}")
            rows.append((label, text.count("\n"), len(text.encode()), result))
        big = Path(tmp) / "big.yaml"
        with big.open("wb") as f:
            f.truncate(23_000_000)
        refused = measure(big)
        rows.append(("23 MB file (refused)", None, 23_000_000, refused))

    print(f"fsrouter check, Python {sys.version.split()[0]}; size limit {MAX_FILE_BYTES:,} bytes\n")
    print("| rules file | lines | bytes | check s | peak RSS MiB |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for label, lines, size, result in rows:
        shown = "–" if lines is None else f"{lines:,}"
        print(f"| {label} | {shown} | {size:,} | {result['seconds']:.2f} | {result['rss_kib'] / 1024:.0f} |")
    print(f"\nrefusal: {refused['errors'][0]}")


if __name__ == "__main__":
    main()
