"""The sounds check looks each prompt up in its folder's listing, and stops
at a budget: a 14 KB file of many templated prompts kept `check` busy for
146 s, stat-ing 16.7 million paths."""

from __future__ import annotations

from fsrouter.rules import check
from fsrouter.rules import sounds as sounds_module

BRANDS = 5


def rules(prompts: int) -> str:
    lines = "".join(f'  "{n}": {{flow: main, brand: b{n}, language: en}}\n' for n in range(BRANDS))
    plays = "".join(f'    - play: ["p{n}/x_{{brand}}"]\n' for n in range(prompts))
    return f"lines:\n{lines}flows:\n  main:\n{plays}    - hangup: NORMAL_CLEARING\n"


def test_every_rendering_is_looked_for_and_the_missing_ones_named(tmp_path):
    (tmp_path / "rules.yaml").write_text(rules(1))
    folder = tmp_path / "sounds" / "en" / "p0"
    for rate in (8000, 16000):
        (folder / str(rate)).mkdir(parents=True)
        for n in range(BRANDS - 1):
            (folder / str(rate) / f"x_b{n}.wav").write_bytes(b"RIFF")
    problems = [str(p) for p in check(tmp_path / "rules.yaml", tmp_path / "sounds")]
    assert len(problems) == 1 and 'missing sound files for prompt "p0/x_{brand}"' in problems[0]
    assert "p0/8000/x_b4.wav" in problems[0] and "x_b3.wav" not in problems[0]


def test_past_the_budget_the_remaining_prompts_are_left_unchecked_with_a_warning(tmp_path, monkeypatch):
    monkeypatch.setattr(sounds_module, "MAX_LOOKUPS", 3 * BRANDS * 2)  # three prompts' worth
    (tmp_path / "rules.yaml").write_text(rules(6))
    (tmp_path / "sounds").mkdir()
    problems = [str(p) for p in check(tmp_path / "rules.yaml", tmp_path / "sounds")]
    assert [p.split(": ")[1] for p in problems] == ["error"] * 3 + ["warning"]
    assert 'prompt "p3/x_{brand}" and the prompts after it not checked' in problems[-1]
