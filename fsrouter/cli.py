"""The `fsrouter` command line.  Only this layer prints and exits: the core
raises or returns problems, and exit codes mean something (0 fine, 1 the
rules have errors, 2 usage)."""

from __future__ import annotations

from pathlib import Path

import click

from . import __version__
from .rules import analyse_path
from .rules import check as check_rules
from .rules.graph import FORMATS, graph_names, render


@click.group()
@click.version_option(__version__, prog_name="fsrouter")
def main() -> None:
    """fsrouter: call routing and queueing for FreeSWITCH."""


@main.command()
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--sounds",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Sounds directory (default: ./sounds, else PATH/../sounds).",
)
def check(path: Path, sounds: Path | None) -> None:
    """Check routing rules (a file, or a directory of *.yaml) and their prompts.

    Prints one line per problem, file:line:col first; exits 1 on errors.
    """
    problems = check_rules(path, sounds)
    for problem in problems:
        click.echo(str(problem))
    if any(p.severity == "error" for p in problems):
        raise SystemExit(1)


@main.command()
@click.argument("flow")
@click.option(
    "--rules", "rules", type=click.Path(exists=True, path_type=Path), default="config",
    show_default=True, help="Rules file or directory.",
)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="dot", show_default=True)
def graph(flow: str, rules: Path, fmt: str) -> None:
    """Print the compiled state machine of FLOW (or queue:NAME)."""
    result = analyse_path(rules)
    if result.plan is None:
        for problem in result.problems:
            click.echo(str(problem), err=True)
        raise SystemExit(1)
    names = graph_names(result.plan)
    if flow not in names:
        raise click.BadParameter(f'no flow "{flow}" (expected one of: {", ".join(names)})', param_hint="FLOW")
    click.echo(render(result.plan, flow, fmt), nl=False)
