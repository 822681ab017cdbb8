"""The commands on one run: ``run``, ``list``, ``validate``, ``plot``.

Each handler imports what it needs (the model, pandas, matplotlib) when it runs, so the
light commands stay instant.
"""

from __future__ import annotations

import argparse
from typing import Any

from sim.cli.common import UsageError, add_scenario_arguments, parse_sets, scenario_overrides
from sim.scenario import list_scenarios, load_scenario
from sim.schema import ScenarioError


def cmd_run(args: argparse.Namespace) -> int:
    import contextlib
    import os
    import time

    began = time.perf_counter()

    from sim.folder import check_root

    scenario = load_scenario(args.scenario, scenario_overrides(args))
    check_root(args.out)  # before the run, not after it
    plots = not args.no_plots
    # With a second core, a spawned painter imports the plotting stack while the model
    # runs here, then draws half of the plots.
    with contextlib.ExitStack() as stack:
        painter = None
        if plots and (os.cpu_count() or 1) > 1:
            from sim.plots.painter import Painter

            painter = stack.enter_context(Painter())
        from sim import api
        from sim.reports import format_outcomes

        result = api.run(scenario)
        folder = api.save(result, args.out, plots=plots, csv=args.csv, painter=painter)
    print(
        f"{scenario.title}  ({scenario.name}, seed {result.seed}, {result.users:,} users, "
        f"{scenario.run.months} months, simulation {result.wall_seconds:.2f} s, "
        f"{time.perf_counter() - began:.2f} s in all)"
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
    from sim import api

    try:
        saved = api.replot(args.folder, args.out)
    except (FileNotFoundError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    for path in saved:
        print(path)
    return 0


def register(sub: Any) -> None:
    """Add the one-run commands to the killline command line."""
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
    plot.add_argument("folder", help="a run or ensemble folder (an ensemble draws its own charts)")
    plot.add_argument("--out", help="where to write the PNGs (default: FOLDER/plots)")
    plot.set_defaults(handler=cmd_plot)
