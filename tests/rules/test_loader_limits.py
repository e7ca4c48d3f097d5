"""Hostile or pathological rules files are refused with a positioned error,
never an exception: size, nesting depth, alias expansion, huge integers,
characters YAML refuses, encodings, and files that are not files."""

from __future__ import annotations

import os
import sys

import pytest

from fsrouter.rules import analyse_path, analyse_source
from fsrouter.rules.loader import MAX_DEPTH, MAX_FILE_BYTES, MAX_FILES, load_file, load_text
from fsrouter.rules.problems import Report


def load(text: str):
    report = Report()
    return load_text(text, "r.yaml", report), [str(p) for p in report.problems]


def nested_flow(depth: int) -> str:
    """A mapping holding a flow sequence nested `depth` levels (the root counts one)."""
    return "a: " + "[" * (depth - 1) + "x" + "]" * (depth - 1) + "\n"


def test_nesting_at_the_limit_loads():
    tree, problems = load(nested_flow(MAX_DEPTH))
    assert problems == [] and tree is not None


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 2000, 100_000])
def test_nesting_past_the_limit_is_refused_where_it_crosses(depth):
    tree, problems = load(nested_flow(depth))
    assert tree is None
    # The root mapping is level 1; the sequence opening at column 4 + 63 is level 65.
    assert problems == [
        f"r.yaml:1:{4 + MAX_DEPTH - 1}: error: nested more than {MAX_DEPTH} levels deep"
        f" (expected at most {MAX_DEPTH} levels of nested mappings and lists)"
    ]


def test_block_nesting_past_the_limit_is_refused():
    text = "".join("  " * i + "k:\n" for i in range(2000)) + "  " * 2000 + "v\n"
    tree, problems = load(text)
    assert tree is None
    assert problems[0].startswith(f"r.yaml:{MAX_DEPTH + 1}:{2 * MAX_DEPTH + 1}: error: nested more than")


def test_nesting_is_checked_with_aliases_expanded():
    anchors = ["a0: &a0 " + "[" * 40 + "x" + "]" * 40]
    anchors += [f"a{i}: &a{i} " + "[" * 40 + f"*a{i - 1}" + "]" * 40 for i in range(1, 60)]
    tree, problems = load("\n".join(anchors) + "\n")
    assert problems and all("nested more than 64 levels deep (aliases expanded)" in p for p in problems)
    assert len(problems) == len(set(problems))  # each place once, however often it is expanded


def test_alias_bomb_is_bounded():
    lines = ['a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    lines += [f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]"
              for p, c in zip("abcdefgh", "bcdefghi")]
    _, problems = load("\n".join(lines) + "\n")
    assert problems == ["r.yaml:1:18: error: document too large (aliases expand too far)"]


@pytest.mark.parametrize("written", ["9" * 5000, "-" + "9" * 5000, "!!int " + "9" * 5000])
def test_a_huge_integer_is_a_positioned_error(written):
    _, problems = load(f"a: 1\nb: {written}\n")
    assert problems == [
        "r.yaml:2:4: error: number too long: 5,000 digits (expected at most 1,000 digits, or quotes if it is text)"
    ]


def test_long_numbers_within_the_limit_and_quoted_ones_are_fine():
    tree, problems = load(f"a: {'9' * 1000}\nb: '{'9' * 5000}'\n")
    assert problems == []
    assert tree.get("a").value == int("9" * 1000) and tree.get("b").value == "9" * 5000


@pytest.mark.parametrize("char", ["\0", "\x07", "\ufffe"])
def test_characters_yaml_refuses_are_positioned(char):
    tree, problems = load(f"a: 1\nbb: x{char}y\n")
    assert tree is None
    assert problems == [
        f"r.yaml:2:6: error: invalid YAML: character U+{ord(char):04X} is not allowed"
        " (expected printable Unicode text (no NUL or other control characters))"
    ]


def test_a_very_long_line_loads(tmp_path):
    path = tmp_path / "long.yaml"
    path.write_text("a: " + "x" * (MAX_FILE_BYTES - 100) + "\n")
    report = Report()
    tree = load_file(path, report)
    assert report.problems == [] and len(tree.get("a").value) == MAX_FILE_BYTES - 100


def test_an_oversized_file_is_refused_before_it_is_read(tmp_path, monkeypatch):
    path = tmp_path / "big.yaml"
    with path.open("wb") as f:  # sparse: 23 MB that is never parsed
        f.truncate(23_000_000)
    monkeypatch.setattr(type(path), "open", lambda *a, **k: pytest.fail("the file was opened"))
    report = Report()
    assert load_file(path, report) is None
    assert [str(p) for p in report.problems] == [
        f"{path}: error: file too large: 23,000,000 bytes (expected at most {MAX_FILE_BYTES:,} bytes)"
    ]


def test_a_file_just_under_the_limit_is_read(tmp_path):
    path = tmp_path / "ok.yaml"
    path.write_text("#" * (MAX_FILE_BYTES - 1) + "\n")
    report = Report()
    assert load_file(path, report) is not None and report.problems == []


def test_not_utf8_is_a_clear_error(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("a: café\n".encode("latin-1"))
    report = Report()
    assert load_file(path, report) is None
    assert [str(p) for p in report.problems] == [
        f"{path}: error: not UTF-8 text: invalid continuation byte at byte 6 (expected a file saved as UTF-8)"
    ]


def errors(path) -> list[str]:
    return [str(p) for p in analyse_path(path).problems]


def test_a_fifo_named_like_a_rules_file_is_refused_without_blocking(tmp_path):
    (tmp_path / "rules.yaml").write_text("lines: {}\n")
    os.mkfifo(tmp_path / "pipe.yaml")
    assert f"{tmp_path / 'pipe.yaml'}: error: not a regular file" in "\n".join(errors(tmp_path))


def test_a_symlink_loop_is_reported(tmp_path):
    os.symlink(tmp_path / "loop.yaml", tmp_path / "loop.yaml")
    assert errors(tmp_path) == [f"{tmp_path / 'loop.yaml'}: error: cannot read: Too many levels of symbolic links"]


def test_a_directory_link_loop_is_not_followed(tmp_path):
    (tmp_path / "a.yaml").write_text("lines: {}\n")
    os.symlink(tmp_path, tmp_path / "again")
    assert errors(tmp_path) == [f"{tmp_path}/a.yaml:1:1: error: no lines and no routes: no call can reach a flow"
                                " (expected a lines or routes section)"]


def test_an_unreadable_file_is_reported(tmp_path, monkeypatch):
    path = tmp_path / "secret.yaml"
    path.write_text("lines: {}\n")

    def denied(*args, **kwargs):  # chmod 0 does not stop root, who runs these tests in CI
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(type(path), "open", denied)
    assert errors(path) == [f"{path}: error: cannot read: Permission denied"]


def test_too_many_files_are_refused_before_any_is_read(tmp_path):
    for i in range(MAX_FILES + 1):
        (tmp_path / f"r{i}.yaml").write_text("oops: [\n")  # never parsed
    assert errors(tmp_path) == [
        f"{tmp_path}: error: too many rules files: more than {MAX_FILES:,} (expected at most {MAX_FILES:,} *.yaml files)"
    ]


def test_a_very_deep_directory_tree_is_walked_without_recursion(tmp_path):
    folder = tmp_path
    for _ in range(sys.getrecursionlimit() // 2 + 10):
        folder = folder / "d"
    os.makedirs(folder)
    (folder / "r.yaml").write_text("lines: {}\n")
    assert len(errors(tmp_path)) == 1


def test_keys_that_are_not_text_are_positioned_errors():
    tree, problems = load("? [a, b]\n: 1\n? {c: d}\n: 2\nok: 3\n")
    assert problems == ["r.yaml:1:3: error: a mapping key must be text", "r.yaml:3:3: error: a mapping key must be text"]
    assert [k.text for k, _ in tree.entries] == ["ok"]


def test_a_megabyte_key_gives_a_short_message():
    problems = analyse_source("? " + "k" * 1_000_000 + "\n: 1\n", "r.yaml").problems
    assert [str(p)[:36] for p in problems] == ["r.yaml:1:1: error: no lines and no r", 'r.yaml:1:3: error: unknown key "kkkk']
    assert len(str(problems[0])) < 1200


def test_a_big_file_without_aliases_is_not_taken_for_an_alias_bomb():
    tree, problems = load("a: [" + "1, " * 150_000 + "1]\n")
    assert problems == [] and len(tree.get("a").items) == 150_001


def test_a_link_to_a_rules_file_is_read(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "real.yaml").write_text("lines: {}\n")
    (tmp_path / "rules").mkdir()
    os.symlink(elsewhere / "real.yaml", tmp_path / "rules" / "link.yaml")
    assert errors(tmp_path) == [f"{tmp_path}/rules/link.yaml:1:1: error: no lines and no routes: no call can reach"
                                " a flow (expected a lines or routes section)"]
