"""The positioned YAML loader: values as a sysadmin means them, every node
with its place, and YAML's traps closed."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from fsrouter.rules.loader import load_text
from fsrouter.rules.problems import Position, Report
from fsrouter.rules.tree import Map, Scalar, Seq


def load(text: str):
    report = Report()
    return load_text(text, "r.yaml", report), [str(p) for p in report.problems]


def test_every_node_knows_its_position():
    tree, problems = load("a:\n  - x\n  - {b: 1}\n")
    assert problems == []
    assert tree.pos == Position("r.yaml", 1, 1)
    (key, seq), = tree.entries
    assert key.pos == Position("r.yaml", 1, 1)
    assert isinstance(seq, Seq) and seq.pos == Position("r.yaml", 2, 3)
    x, inner = seq.items
    assert (x.value, x.pos) == ("x", Position("r.yaml", 2, 5))
    assert isinstance(inner, Map) and inner.get("b").pos == Position("r.yaml", 3, 9)


def test_dtmf_keys_and_yaml_11_booleans_stay_text():
    tree, _ = load('0: a\n1: b\n"*": c\n"#": d\non: e\noff: f\nyes: g\nno: h\n01: i\ntrue: j\n')
    assert [k.text for k, _ in tree.entries] == ["0", "1", "*", "#", "on", "off", "yes", "no", "01", "true"]


def test_values_resolve_to_a_small_schema():
    tree, _ = load(
        "a: yes\nb: 0123\nc: 08:00\nd: 2026-12-25\ne: 5\nf: true\ng: ~\nh:\ni: 1.5\nj: '5'\nk: !!str 7\n"
    )
    values = {k.text: v.value for k, v in tree.entries}
    assert values == {
        "a": "yes", "b": "0123", "c": "08:00", "d": "2026-12-25", "e": 5, "f": True,
        "g": None, "h": None, "i": 1.5, "j": "5", "k": "7",
    }
    assert tree.get("b").text == "0123"


def test_duplicate_keys_name_both_lines():
    _, problems = load("a: 1\nb: 2\na: 3\n")
    assert problems == ['r.yaml:3:1: error: duplicate key "a" (first defined at r.yaml:1:1)']


def test_syntax_errors_have_a_position():
    tree, problems = load("a: [1, 2\nb: 3\n")
    assert tree is None
    assert problems == [
        "r.yaml:2:2: error: invalid YAML: while parsing a flow sequence, expected ',' or ']', but got ':'"
    ]


def test_no_python_objects_and_no_custom_tags():
    tree, problems = load("a: !!python/object:os.system ls\nb: !include x.yaml\n")
    assert problems == [
        "r.yaml:1:4: error: unsupported tag tag:yaml.org,2002:python/object:os.system "
        "(expected plain YAML without tags)",
        "r.yaml:2:4: error: unsupported tag !include (expected plain YAML without tags)",
    ]
    assert all(isinstance(v, Scalar) and isinstance(v.value, str) for _, v in tree.entries)


def test_a_single_document():
    tree, problems = load("a: 1\n---\nb: 2\n")
    assert tree is None
    assert problems[0].startswith("r.yaml:2:1: error: invalid YAML: expected a single document")


def test_empty_file_is_an_empty_mapping():
    tree, problems = load("# nothing yet\n")
    assert (tree.entries, problems) == ((), [])


def test_recursive_aliases_are_refused():
    _, problems = load("a: &x [1, *x]\n")
    assert problems == ["r.yaml:1:4: error: an alias refers to the node that contains it"]


def test_alias_bombs_are_cut_short():
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    _, problems = load("\n".join(lines) + "\n")
    assert problems == ["r.yaml:1:16: error: document too large (aliases expand too far)"]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab:-[]{}&*!|>'\"#\n 0\t,?%@`")), max_size=60))
def test_any_text_loads_or_reports(text):
    tree, problems = load(text)
    assert tree is not None or problems
