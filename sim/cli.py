"""The ``killline`` command line: a thin layer over sim.api.

    killline run SCENARIO [--seed N] [--set key.path=value]... [--users N] [--months N] [--out DIR]
    killline list
    killline validate SCENARIO [--set ...]
    killline plot RUN_FOLDER
    killline compare RUN_FOLDER RUN_FOLDER...

Bad input (a malformed scenario, an unknown key, a value out of range, a missing file)
prints one line naming the file, the key path and what is allowed, and exits with code 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from sim.scenario import list_scenarios, load_scenario
from sim.schema import ScenarioError

EXIT_BAD_INPUT = 2


class UsageError(Exception):
    """Bad input that is not a scenario problem (a missing result folder, a bad flag)."""


def parse_sets(items: Sequence[str] | None) -> dict[str, str]:
    """``["a.b=1", ...]`` -> ``{"a.b": "1"}``; values are read as TOML later."""
    overrides: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ScenarioError("--set", item, "expected key.path=value")
        overrides[key.strip()] = value.strip()
    return overrides


def scenario_overrides(args: argparse.Namespace) -> dict[str, object]:
    """--set plus the shortcut flags (--seed, --users, --months) as overrides."""
    overrides: dict[str, object] = dict(parse_sets(getattr(args, "set", None)))
    for flag, key in (("seed", "run.seed"), ("users", "run.users"), ("months", "run.months")):
        value = getattr(args, flag, None)
        if value is not None:
            overrides[key] = value
    return overrides


def add_scenario_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments every command that runs a scenario takes."""
    parser.add_argument("scenario", help="scenario file, or a name in scenarios/")
    parser.add_argument("--seed", type=int, help="random seed (default: the scenario's)")
    parser.add_argument(
        "--set",
        action="append",
        metavar="KEY.PATH=VALUE",
        help="override a parameter, e.g. --set kill_line.runway_months=4 (repeatable)",
    )
    parser.add_argument("--users", type=int, help="simulated users (default: the scenario's)")
    parser.add_argument("--months", type=int, help="horizon in months (default: the scenario's)")
    parser.add_argument("--out", type=Path, help="results root folder (default: ./results)")


# ---------------------------------------------------------------------------- commands


def cmd_run(args: argparse.Namespace) -> int:
    from sim import api
    from sim.summary import format_outcomes

    scenario = load_scenario(args.scenario, scenario_overrides(args))
    result = api.run(scenario)
    folder = api.save(result, args.out, csv=args.csv, with_plots=not args.no_plots)
    print(
        f"{scenario.title}  ({scenario.name}, seed {result.seed}, {result.users:,} users, "
        f"{scenario.run.months} months, {result.wall_seconds:.2f} s)"
    )
    print(format_outcomes(result.outcomes()))
    if args.profile:
        print(format_profile(result.stage_seconds, result.wall_seconds))
    print(f"results: {folder}")
    return 0


def format_profile(stage_seconds: dict[str, float], wall_seconds: float) -> str:
    """Time of the set-up (month 0) and of each stage of the month over all months,
    largest first, with shares of the simulation's time; the rest is building the tables."""
    total = sum(stage_seconds.values())
    lines = [f"{'stage':14} {'seconds':>9} {'share':>7}"]
    for name, seconds in sorted(stage_seconds.items(), key=lambda kv: -kv[1]):
        lines.append(f"{name:14} {seconds:9.3f} {seconds / total:7.1%}")
    lines.append(f"{'all stages':14} {total:9.3f}")
    lines.append(f"{'tables + rest':14} {wall_seconds - total:9.3f}")
    return "\n".join(lines)


def cmd_list(args: argparse.Namespace) -> int:
    from sim.scenario import load_defaults

    print("scenarios:")
    for path in list_scenarios():
        try:
            scenario = load_scenario(path)
            print(f"  {path.stem:20} {scenario.title}  [{', '.join(scenario.claims)}]")
        except ScenarioError as exc:
            print(f"  {path.stem:20} INVALID: {exc}")
    tree, _ = load_defaults()
    print("firms:")
    for firm_id, firm in tree["firms"].items():
        print(f"  {firm_id:10} {firm['name']:22} {firm['tier']:12} {firm['owner']}")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    scenario = load_scenario(args.scenario, parse_sets(args.set))
    print(
        f"{args.scenario}: valid ({len(scenario.firms)} firms, {len(scenario.events)} events, "
        f"{scenario.run.months} months from {scenario.run.start})"
    )
    return 0


def cmd_plot(args: argparse.Namespace) -> int:
    from sim import plots
    from sim.results import read_tables
    from sim.scenario import read_toml

    folder = Path(args.folder)
    try:
        tables = read_tables(folder)
    except FileNotFoundError as exc:
        raise UsageError(str(exc)) from None
    resolved = read_toml(folder / "resolved.toml", what="resolved scenario")
    threshold = resolved.get("kill_line", {}).get("runway_months")
    out = Path(args.out) if args.out else folder / "plots"
    from sim.api import startup_targets

    saved = plots.save_run_plots(
        tables, out, runway_threshold=threshold, startup_targets=startup_targets()
    )
    for path in saved:
        print(path)
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    import pandas as pd

    from sim.results import read_manifest, read_tables

    columns = {}
    for folder in args.folders:
        try:
            tables = read_tables(folder)
        except FileNotFoundError as exc:
            raise UsageError(str(exc)) from None
        manifest = read_manifest(folder)
        label = f"{manifest['scenario']}:{manifest['seed']}:{Path(folder).name}"
        firms = tables["firms"]
        last = firms[firms["month"] == firms["month"].max()].set_index("firm")
        columns[label] = last[args.metric]
    table = pd.DataFrame(columns)
    print(table.to_string(float_format=lambda v: f"{v:.4f}"))
    return 0


# ---------------------------------------------------------------------------- parser

COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {}


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="killline",
        description="Agent-based simulation of China's AI-model market and its kill line.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run a scenario once and write its results folder")
    add_scenario_arguments(run)
    run.add_argument("--csv", action="store_true", help="write CSV beside the Parquet tables")
    run.add_argument("--no-plots", action="store_true", help="skip the plots")
    run.add_argument("--profile", action="store_true", help="print time per stage of the month")
    run.set_defaults(handler=cmd_run)

    lister = sub.add_parser("list", help="list the scenarios and the firms in the roster")
    lister.set_defaults(handler=cmd_list)

    validate = sub.add_parser("validate", help="check a scenario file without running it")
    validate.add_argument("scenario")
    validate.add_argument("--set", action="append", metavar="KEY.PATH=VALUE")
    validate.set_defaults(handler=cmd_validate)

    plot = sub.add_parser("plot", help="redraw the plots of a results folder")
    plot.add_argument("folder", help="a results folder written by 'killline run'")
    plot.add_argument("--out", help="where to write the PNGs (default: FOLDER/plots)")
    plot.set_defaults(handler=cmd_plot)

    compare = sub.add_parser("compare", help="final firm metrics of several runs side by side")
    compare.add_argument("folders", nargs="+")
    compare.add_argument("--metric", default="share", help="a column of the firm table")
    compare.set_defaults(handler=cmd_compare)

    for register in _extensions():
        register(sub)
    return parser


def _extensions() -> list[Callable]:
    """Commands defined beside their concept (ensembles, sensitivity, claims)."""
    found = []
    for module in ("sim.ensemble", "sim.sensitivity", "sim.claims"):
        try:
            imported = __import__(module, fromlist=["register_commands"])
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
            continue
        if hasattr(imported, "register_commands"):
            found.append(imported.register_commands)
    return found


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``killline`` console command."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except ScenarioError as exc:
        print(f"killline: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except UsageError as exc:
        print(f"killline: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("killline: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
