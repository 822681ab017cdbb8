"""The commands for exploring: ``compare`` (sim/compare.py) and ``dashboard``
(sim/dashboard/).

    killline compare A B [...] [--metric M] [--replicates N] [--seed N] [--users N]
    killline dashboard [SCENARIO] [--port N]

Building the parser loads neither pandas nor the dashboard: the handlers import them.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from sim.cli.common import UsageError, add_executor_arguments, parse_sets
from sim.compare import METRICS

DEFAULT_PORT = 8765  # assumption: a free port above the registered range's busy ones


# ---------------------------------------------------------------------------- compare


def resolve(source: str, args: argparse.Namespace) -> Any:
    """One compare argument as a result: a results folder read back, or a scenario run
    now (once, or as an ensemble with ``--replicates``)."""
    from sim import api

    path = Path(source)
    if path.is_dir():
        try:
            return api.open_folder(path)
        except (FileNotFoundError, ValueError) as exc:
            raise UsageError(str(exc)) from None
    scenario = api.load(source, parse_sets(args.set))
    if args.replicates:
        from sim.experiments import run_ensemble

        options = {"workers": args.workers, "scheduler": args.scheduler, "progress": False}
        return run_ensemble(
            scenario,
            args.replicates,
            users=args.users,
            months=args.months,
            seed=args.seed,
            plots=False,
            **options,
        )
    return api.run(scenario, seed=args.seed, users=args.users, months=args.months)


def cmd_compare(args: argparse.Namespace) -> int:
    """``killline compare``: the sides' outcomes, paired differences, final values, plots."""
    from sim import compare
    from sim.folder import default_root

    if args.replicates is not None and args.replicates < 1:
        raise UsageError(f"--replicates must be at least 1, not {args.replicates}")
    results = [resolve(source, args) for source in args.sources]
    try:
        compared = compare.sides(results)
        tables = compare.comparison_tables(compared, args.metric)
    except compare.CompareError as exc:
        raise UsageError(str(exc)) from None
    for one in compared:
        print(
            f"{one.label}: {one.scenario.title} ({one.kind}, {len(one.seeds)} "
            f"{'replicate' if len(one.seeds) == 1 else 'replicates'}, "
            f"{one.scenario.run.users:,} users, {one.scenario.run.months} months)"
        )
    number = lambda value: f"{value:.3f}"  # noqa: E731
    print("\noutcomes (a run's value, an ensemble's mean; ': never' = share never crossed)")
    print(tables["outcomes"].to_string(index=False, float_format=number))
    if "paired" in tables:
        print("\npaired differences over the shared seeds (second - first, 95% interval)")
        print(tables["paired"].to_string(index=False, float_format=number))
    print(f"\n{args.metric} at the horizon")
    print(tables["final"].to_string(index=False, float_format=number))
    written = compare.save_comparison(
        compared,
        args.out if args.out is not None else default_root(),
        metric=args.metric,
        plots=not args.no_plots,
    )
    print(f"results: {written}")
    return 0


# ---------------------------------------------------------------------------- dashboard


def cmd_dashboard(args: argparse.Namespace) -> int:
    """``killline dashboard``: serve the dashboard on 127.0.0.1 until Ctrl-C."""
    from sim.dashboard.server import serve

    if not 0 < args.port < 65536:
        raise UsageError(f"--port must be between 1 and 65535, not {args.port}")
    serve(args.scenario, port=args.port, overrides=parse_sets(args.set))
    return 0


# ---------------------------------------------------------------------------- the parsers


def register(sub: Any) -> None:
    """Add ``compare`` and ``dashboard`` to the killline command line."""
    parser = sub.add_parser(
        "compare",
        help="scenarios, run folders or ensemble folders side by side",
        description="Compare scenarios (run now), run folders or ensemble folders: outcome "
        "differences, paired differences with 95%% intervals for two ensembles on the same "
        "seeds, final firm values, and side-by-side plots of shares, kill-line distances and "
        "survival, written to a compare-<time>/ folder.",
    )
    parser.add_argument(
        "sources",
        nargs="+",
        metavar="SOURCE",
        help="a scenario, a run folder or an ensemble folder",
    )
    parser.add_argument(
        "--metric",
        default="share",
        choices=METRICS,
        metavar="METRIC",
        help=f"firm metric of the final-values table (default share; one of: {', '.join(METRICS)})",
    )
    parser.add_argument(
        "--replicates", type=int, help="run each scenario given as an ensemble of N replicates"
    )
    parser.add_argument("--seed", type=int, help="seed of the scenarios run now")
    parser.add_argument("--users", type=int, help="simulated users of the scenarios run now")
    parser.add_argument("--months", type=int, help="horizon of the scenarios run now")
    parser.add_argument(
        "--set", action="append", metavar="KEY.PATH=VALUE", help="override a scenario parameter"
    )
    parser.add_argument("--out", type=Path, help="results root folder (default: ./results)")
    parser.add_argument("--no-plots", action="store_true", help="skip the plots")
    add_executor_arguments(parser)
    parser.set_defaults(handler=cmd_compare)

    parser = sub.add_parser(
        "dashboard", help="an interactive dashboard in the browser, on 127.0.0.1"
    )
    parser.add_argument(
        "scenario", nargs="?", default="sprint_race", help="scenario (default: sprint_race)"
    )
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})"
    )
    parser.add_argument(
        "--set", action="append", metavar="KEY.PATH=VALUE", help="override a scenario parameter"
    )
    parser.set_defaults(handler=cmd_dashboard)
