"""Rules files a reload must refuse whatever `fsrouter check` says of them.

Each is the end-to-end rules (tests/rules/good/e2e.yaml) with one edit: the
inputs ISSUE 8 found passing `check` and then failing `run`, or failing
`check` itself with a traceback.  Shared by the reload unit tests and the
end-to-end SIGHUP test.
"""

from __future__ import annotations

from pathlib import Path

E2E_RULES = Path(__file__).resolve().parent / "rules" / "good" / "e2e.yaml"

EDITS = {
    "strategy typo": ("strategy: most_skilled", "strategy: longest_idel"),
    "relax of a skill not required": ("require: {billing: 2}", "require: {greek: 2}"),
    "empty agent id": ('agents:\n', 'agents:\n  "": {name: Nobody, dial: user/9999, skills: {support: 1}}\n'),
    "nesting 2,000 deep": ("flows:\n", "flows:\n  deep: " + "[" * 2000 + "]" * 2000 + "\n"),
    "5,000-digit integer": ("after: 2s", "after: 1" + "0" * 4999),
    "NUL byte": ("# Always open", "# Always\x00 open"),
    "music from a URL": ("music: queue/hold_music", "music: http://example.com/moh.mp3"),
    "300-character prompt name": ("- play: greeting/acme\n    - menu:",
                                  "- play: greeting/" + "p" * 300 + "\n    - menu:"),
}
"""name -> (text replaced, replacement): one bad input each."""


def bad_rules(name: str) -> str:
    """The e2e rules with the edit called `name`."""
    old, new = EDITS[name]
    text = E2E_RULES.read_text()
    assert text.count(old) == 1, f"{name}: {old!r} is not in the e2e rules once"
    return text.replace(old, new)
