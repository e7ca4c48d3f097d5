"""The offer and bridging machines are drawn from their tables, by `fsrouter graph` and in docs/offer.md."""

from pathlib import Path

import pytest
from click.testing import CliRunner

from fsrouter.cli import main
from fsrouter.offer import bridging_diagram, offer_diagram
from fsrouter.offer.machine import TRANSITIONS

DOC = Path(__file__).resolve().parents[2] / "docs" / "offer.md"


@pytest.mark.parametrize("diagram", [offer_diagram, bridging_diagram])
def test_the_documented_diagrams_are_generated_from_the_tables(diagram):
    assert f"```mermaid\n{diagram('mermaid')}```" in DOC.read_text()


@pytest.mark.parametrize("name, diagram", [("offer", offer_diagram), ("bridging", bridging_diagram)])
@pytest.mark.parametrize("fmt", ["dot", "mermaid"])
def test_fsrouter_graph_draws_the_machines_without_reading_rules(tmp_path, name, diagram, fmt):
    result = CliRunner().invoke(main, ["graph", name, "--rules", str(tmp_path), "--format", fmt])
    assert result.exit_code == 0, result.output
    assert result.output == diagram(fmt)


def test_every_move_of_the_table_is_drawn():
    drawn = offer_diagram("dot")
    moves = sum(len(entry) if isinstance(entry, dict) else 1 for entry in TRANSITIONS.values())
    assert drawn.count(" -> ") == moves + 1  # and the start arrow
    assert '"whisper" -> "callback" [label="LegParked (callback) / connect_callback"];' in drawn
