"""The `fsrouter` command line.  Only this layer prints and exits: the core
raises or returns problems, and exit codes mean something (0 fine, 1 the
rules have errors, 2 usage)."""

from __future__ import annotations

from pathlib import Path

import click

from . import __version__
from .cli_agents import agents
from .cli_callbacks import callbacks
from .cli_report import report
from .cli_live import calls, queues, rules, transfer
from .cli_notices import notice
from .api.token import token_file_problem
from .config import load_config
from .rules import RulesError, analyse_path
from .rules.problems import Position, Problem
from .rules import check as check_rules
from .offer import MACHINES
from .rules.graph import FORMATS, graph_names, render


@click.group()
@click.version_option(__version__, prog_name="fsrouter")
def main() -> None:
    """fsrouter: call routing and queueing for FreeSWITCH."""


main.add_command(agents)
main.add_command(callbacks)
main.add_command(report)
main.add_command(queues)
main.add_command(calls)
main.add_command(transfer)
main.add_command(rules)
main.add_command(notice)


@main.command()
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--sounds",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Sounds directory (default: the service configuration's, else ./sounds, else PATH/../sounds).",
)
def check(path: Path, sounds: Path | None) -> None:
    """Check the service configuration and routing rules, and their prompts.

    PATH is a rules file, a directory of *.yaml, or the service configuration
    (fsrouter.yaml, or a directory holding it), whose rules and sounds are
    then the ones checked.  Prints one line per problem, file:line:col
    first; exits 1 on errors.
    """
    problems: list = []
    config_path = path / "fsrouter.yaml" if path.is_dir() else path
    if config_path.name == "fsrouter.yaml" and config_path.is_file():
        try:
            config = load_config(config_path)
        except RulesError as exc:
            problems.extend(exc.problems)  # its rules path is unknown: nothing more to check
        else:
            path = Path(config.rules_path)
            sounds = sounds or Path(config.sounds_dir)
            problems.extend(_config_problems(config, config_path))
    if not problems:
        problems.extend(check_rules(path, sounds))
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
    """Print the compiled state machine of FLOW (or queue:NAME), or one of
    the runtime's own machines: `offer` (an offer to an agent, whisper and
    bridge) or `bridging` (a call's side of the bridge)."""
    if flow in MACHINES:  # drawn from their transition tables: no rules needed
        click.echo(MACHINES[flow](fmt), nl=False)
        return
    result = analyse_path(rules)
    if result.plan is None:
        for problem in result.problems:
            click.echo(str(problem), err=True)
        raise SystemExit(1)
    names = graph_names(result.plan) + list(MACHINES)
    if flow not in names:
        raise click.BadParameter(f'no flow "{flow}" (expected one of: {", ".join(names)})', param_hint="FLOW")
    click.echo(render(result.plan, flow, fmt), nl=False)


@main.command()
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False),
              default="config/fsrouter.yaml", show_default=True, help="Service configuration.")
@click.option("--simulator", type=click.Choice(["auto", "always", "never"]), default=None,
              help="Stand in for FreeSWITCH (default: the configuration's simulator.mode).")
def run(config_path: str, simulator: str | None) -> None:
    """Run the service until SIGTERM/SIGINT; SIGHUP reloads the rules."""
    import signal

    from . import logs
    from .runtime.heap import settle_heap
    from .runtime.reload import describe
    from .runtime.service import Service, StartupError
    from .store.errors import StoreError
    from .store.url import redacted

    config = _load_or_exit(config_path)
    logs.setup(config.log_level, config.log_format)  # caller values escaped: one record, one line
    # A reload asked for while starting (`systemctl reload` right after
    # start) must not end the process, SIGHUP's default; the rules are read
    # as they are now anyway.  The service installs its handler once started.
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    # Whatever stops the start is said in one line (the rules: one per problem).
    standin = None
    try:
        try:
            service = Service(config)
            standin = _stand_in(config, simulator, service)
            service.start()
        except BaseException:
            _stop(standin)
            raise
    except RulesError as exc:
        _print_problems(exc)
        raise SystemExit(1) from None
    except StoreError as exc:
        click.echo(f"error: cannot open the database {redacted(config.database_url)}: {exc}", err=True)
        raise SystemExit(1) from None
    except StartupError as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(1) from None
    except click.UsageError:
        raise
    except Exception as exc:  # noqa: BLE001 - the unforeseen too, without a traceback
        click.echo(f"error: cannot start: {describe(exc)}", err=True)
        raise SystemExit(1) from None
    if standin is not None:
        standin.start(service.outbound.address)
    settle_heap()  # started: from here on the collector walks calls, not start-up (runtime/heap.py)
    try:
        service.serve_forever()
    finally:
        _stop(standin)


def _stand_in(config, simulator: str | None, service):
    """The simulator standing in for FreeSWITCH, listening already, when the
    mode asks for one; None otherwise.  Before the service starts, so its
    inbound connection finds the switch at once."""
    from .sim.standin import StandIn, freeswitch_answers

    mode = simulator or config.simulator_mode
    if not (mode == "always" or (mode == "auto" and not freeswitch_answers(config.inbound_host,
                                                                           config.inbound_port))):
        return None
    if config.simulator_scenario is None:
        raise click.UsageError("simulator.scenario is not set in the configuration")
    standin = StandIn((config.inbound_host, config.inbound_port), config.inbound_password,
                      config.simulator_scenario, time_scale=config.simulator_time_scale,
                      every=config.simulator_every, sounds_dir=config.sounds_dir,
                      agent_dial_strings=[a.dial for a in service.plans.current.agents.values()])
    standin.listen()
    return standin


def _stop(standin) -> None:
    if standin is not None:
        standin.stop()


@main.command()
@click.argument("scenario", type=click.Path(exists=True, dir_okay=False))
@click.option("--target", default="127.0.0.1:8084", show_default=True,
              help="fsrouter's outbound listener, HOST:PORT.")
@click.option("--time-scale", type=float, default=1.0, show_default=True,
              help="Shrink every media duration (0.1 = ten times faster).")
def simulate(scenario: str, target: str, time_scale: float) -> None:
    """Place SCENARIO's simulated calls against a running fsrouter and report."""
    from .sim.scenario import ScenarioError, load_scenario, run_scenario

    host, _, port = target.rpartition(":")
    if not host or not port.isdigit():
        raise click.BadParameter("expected HOST:PORT", param_hint="--target")
    try:
        spec = load_scenario(scenario)
    except ScenarioError as exc:
        raise click.UsageError(str(exc)) from None
    report = run_scenario(spec, (host, int(port)), time_scale)
    click.echo(report.format())


def _config_problems(config, config_path: Path) -> list[Problem]:
    """What `run` would fail on that loading the configuration cannot see."""
    reason = token_file_problem(config.api_token_file, config.api_token_env)
    if reason is None:
        return []
    return [Problem(Position(str(config_path)), "error", f"{reason}; `run` would fail",
                    "a token_file under a directory the service can write, e.g. /var/lib/fsrouter/api-token")]


def _load_or_exit(path: str):
    try:
        return load_config(path)
    except RulesError as exc:
        _print_problems(exc)
        raise SystemExit(1) from None


def _print_problems(exc: RulesError) -> None:
    for problem in exc.problems:
        click.echo(str(problem), err=True)
