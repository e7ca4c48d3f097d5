"""The core is sans-IO: importing it must not pull in IO libraries, and
`rules` stands apart from `acd` (shared pieces live in leaf modules)."""

import importlib
import pkgutil
import subprocess
import sys

import pytest

import fsrouter.rules

FORBIDDEN = ("gevent", "greenlet", "socket", "select", "asyncio", "threading", "psycopg", "sqlite3")


def loaded_after(imports: str, prefixes: tuple[str, ...]) -> list[str]:
    """The modules starting with one of `prefixes` that a fresh interpreter
    has loaded after running `imports`."""
    probe = (
        f"import sys; {imports}; "
        f"print(','.join(sorted(m for m in sys.modules if m.startswith({prefixes!r}))))"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return [m for m in loaded.stdout.strip().split(",") if m]


def with_submodules(name: str) -> list[str]:
    """`name` and, for a package, every module under it (walked, so a new
    module is checked without being listed here)."""
    module = importlib.import_module(name)
    if not hasattr(module, "__path__"):
        return [name]
    return [name, *sorted(m.name for m in pkgutil.walk_packages(module.__path__, f"{name}."))]


@pytest.mark.parametrize("package, allowed", [
    # acd.from_plan reads the rules' plan, which loads phonenumbers (its metadata lock: no IO).
    ("fsrouter.acd", ("threading",)),
    # phonenumbers (callback numbers) takes a threading lock for its metadata: no IO.
    ("fsrouter.flow", ("threading",)),
    # The bridging machine feeds flow events; importing `flow` loads `logging`, which loads `threading`.
    ("fsrouter.offer", ("threading",)),
    ("fsrouter.speech", ()),
    # notices use the rules' plan and scopes, which load phonenumbers again.
    ("fsrouter.notices", ("threading",)),
])
def test_importing_the_core_pulls_in_no_io_modules(package, allowed):
    modules = with_submodules(package)
    imports = "; ".join(f"import {m}" for m in modules)
    forbidden = tuple(m for m in FORBIDDEN if m not in allowed)
    assert [m for m in loaded_after(imports, forbidden) if m.split(".")[0] in forbidden] == []


def test_rules_import_nothing_from_the_acd_nor_io_modules():
    modules = sorted(f"fsrouter.rules.{m.name}" for m in pkgutil.iter_modules(fsrouter.rules.__path__))
    assert "fsrouter.rules.queue_settings" in modules
    imports = "; ".join(f"import {m}" for m in modules)
    assert loaded_after(imports, ("fsrouter.acd",)) == []
    # phonenumbers (callback numbers) takes a threading lock for its metadata: no IO
    io_modules = tuple(m for m in FORBIDDEN if m != "threading")
    assert [m for m in loaded_after(imports, io_modules) if m.split(".")[0] in io_modules] == []


def test_the_callback_number_policy_is_a_leaf():
    assert loaded_after("import fsrouter.callback_numbers", ("fsrouter.",)) == ["fsrouter.callback_numbers"]


def test_the_figures_are_a_leaf():
    assert loaded_after("import fsrouter.figures", ("fsrouter.",)) == ["fsrouter.figures"]
