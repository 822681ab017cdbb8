"""The multi-run commands: ``ensemble``, ``sweep`` and ``sensitivity`` (sim/experiments/).

Each handler imports the experiments when it runs, so building the parser stays light.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from typing import Any

from sim.cli.common import (
    UsageError,
    add_executor_arguments,
    add_outcome_argument,
    add_posterior_argument,
    add_scenario_arguments,
    executor_options,
    keyed_params,
    outcome_names,
    posterior_option,
    run_command,
    scenario_overrides,
)
from sim.scenario import load_scenario, prepare_scenario

# sim.experiments.methods.METHODS, named here so that building the parser loads no SALib
# (tests/test_cli.py checks they agree)
SENSITIVITY_METHODS = ("morris", "sobol")


# ---------------------------------------------------------------------------- ensemble


def resume_command(args: argparse.Namespace) -> str:
    """The ``killline <command> ... --resume`` line that finishes an interrupted ensemble,
    sweep or analysis: the same command with the same flags."""
    words = ["killline", args.command, args.scenario]
    if args.command == "sensitivity":
        words += ["--method", args.method]
    for flag in ("replicates", "samples", "levels", "seed", "users", "months", "out",
                 "workers", "scheduler", "posterior"):  # fmt: skip
        value = getattr(args, flag, None)
        if value is not None:
            words += [f"--{flag}", str(value)]
    for flag in ("set", "param", "outcome"):
        for item in getattr(args, flag, None) or []:
            words += [f"--{flag}", item]
    words += [
        flag
        for flag in ("--migration", "--second-order", "--no-plots", "--quiet")
        if getattr(args, flag[2:].replace("-", "_"), False)
    ]
    return shlex.join([*words, "--resume"])


def cmd_ensemble(args: argparse.Namespace) -> int:
    """``killline ensemble``: run the replicates, save the folder, print survival by tier."""
    from sim.experiments import run_ensemble
    from sim.folder import check_root

    scenario = load_scenario(args.scenario, scenario_overrides(args))
    posterior = posterior_option(args)
    root = check_root(args.out)

    def action() -> int:
        result = run_ensemble(
            scenario,
            args.replicates,
            out=root,
            resume=args.resume,
            migration=args.migration,
            plots=not args.no_plots,
            posterior=posterior,
            **executor_options(args),
        )
        facts = result.facts
        rate = facts.get("replicates_per_second")
        print(
            f"{scenario.title}  ({scenario.name}, {result.replicates} replicates, "
            f"{result.scenario.run.users:,} users, {result.scenario.run.months} months, "
            f"{facts['executor']} x{facts['workers']}, {facts['wall_seconds']:.1f} s"
            + (f", {rate:.2f} replicates/s)" if rate else ")")
        )
        if posterior is not None:
            print(f"  parameters drawn from {posterior.source} (parameters.parquet)")
        for row in result.tier_survival().itertuples():
            print(
                f"  {row.tier:12} in market at end {row.survival:6.1%}  "
                f"(95% {row.low:.1%} - {row.high:.1%}), crossed the kill line {row.crossed:.1%}"
            )
        damaged = facts.get("replicates_corrupt_rerun")
        if damaged:
            print(
                f"killline: replicates {', '.join(map(str, damaged))} were damaged on disk "
                "and were run again",
                file=sys.stderr,
            )
        print(f"results: {result.folder}")
        return 0

    return run_command(action, resume_command(args))


# ---------------------------------------------------------------------------- sweep


def cmd_sweep(args: argparse.Namespace) -> int:
    """``killline sweep``: run the grid, save the folder, print the mean outcomes per point."""
    from sim import folder
    from sim.experiments import sweep
    from sim.experiments.sweep import parse_sweep_param
    from sim.outcomes import OUTCOMES

    parameters = keyed_params(args.param, parse_sweep_param)
    outcomes = outcome_names(args)
    scenario = prepare_scenario(
        load_scenario(args.scenario, scenario_overrides(args)), replicates=args.replicates
    )
    posterior = posterior_option(args)
    root = folder.check_root(args.out)

    def action() -> int:
        result = sweep(
            scenario,
            parameters,
            outcomes=outcomes,
            out=root,
            resume=args.resume,
            plots=not args.no_plots,
            posterior=posterior,
            **executor_options(args),
        )
        written = result.folder
        means = result.means
        shown = means.pivot(index=["point", *parameters], columns="outcome", values="mean")
        print(
            f"{scenario.title}  ({scenario.name}, {result.points} points x "
            f"{scenario.run.replicates} replicates, {result.facts['run_seconds']:.1f} s)"
        )
        if posterior is not None:
            print(f"parameters drawn from {posterior.source} (parameters.parquet)")
        every = [name for name in OUTCOMES if name in shown.columns]
        columns = every[:6]
        print(shown[columns].to_string(float_format=lambda v: f"{v:.3f}"))
        if len(columns) < len(every):
            print(
                f"(showing {len(columns)} of {len(every)} outcomes; all of them, with 95% "
                "intervals, in summary.md and report.html)"
            )
        print(f"results: {written}")
        return 0

    return run_command(action, resume_command(args))


# ---------------------------------------------------------------------------- sensitivity


def cmd_sensitivity(args: argparse.Namespace) -> int:
    """``killline sensitivity``: run the analysis, save the folder, print the ranked indices."""
    from sim import folder
    from sim.experiments import sensitivity
    from sim.experiments.methods import INDEX_COLUMNS
    from sim.experiments.sensitivity import parse_bounds

    def key_and_range(text: str) -> tuple[str, tuple[float, float]]:
        key, lo, hi = parse_bounds(text)
        return key, (lo, hi)

    bounds = keyed_params(args.param, key_and_range)
    for flag, value in (
        ("--samples", args.samples),
        ("--replicates", args.replicates),
        ("--levels", args.levels),
    ):
        if value is not None and value < 1:
            raise UsageError(f"{flag} must be at least 1, not {value}")
    if args.method == "sobol" and args.samples is not None and args.samples & (args.samples - 1):
        raise UsageError(f"--samples must be a power of 2 for sobol (got {args.samples})")
    outcomes = outcome_names(args)
    scenario = load_scenario(args.scenario, scenario_overrides(args))
    root = folder.check_root(args.out)

    def action() -> int:
        result = sensitivity(
            scenario,
            bounds,
            method=args.method,
            samples=args.samples,
            replicates=args.replicates or 1,
            levels=args.levels or 4,
            second_order=args.second_order,
            outcomes=outcomes,
            out=root,
            resume=args.resume,
            plots=not args.no_plots,
            **executor_options(args),
        )
        written = result.folder
        facts = result.facts
        print(
            f"{scenario.title}  ({scenario.name}, {args.method}, {facts['sample_points']} "
            f"points x {facts['replicates']} replicates = {facts['runs']} runs, "
            f"{facts['run_seconds']:.1f} s)"
        )
        shown = list(INDEX_COLUMNS[args.method])
        for outcome, table in result.indices.groupby("outcome", sort=False):
            note = table["note"].iloc[0]
            print(f"{outcome}" + (f" ({note})" if note else ""))
            print(
                table[["rank", "parameter", *shown]].to_string(
                    index=False, float_format=lambda v: f"{v:.4f}"
                )
            )
        print(f"results: {written}")
        return 0

    return run_command(action, resume_command(args))


# ---------------------------------------------------------------------------- the parsers


def register(sub: Any) -> None:
    """Add ``ensemble``, ``sweep`` and ``sensitivity`` to the killline command line."""
    parser = sub.add_parser(
        "ensemble", help="run seeded replicates of a scenario, with percentiles and plots"
    )
    add_scenario_arguments(parser)
    parser.add_argument(
        "--replicates", type=int, help="number of replicates (default: the scenario's)"
    )
    add_executor_arguments(parser)
    parser.add_argument(
        "--resume", action="store_true", help="finish an interrupted ensemble of this scenario"
    )
    parser.add_argument(
        "--migration", action="store_true", help="keep the migration table of every replicate"
    )
    add_posterior_argument(parser, "parameters.parquet records what each replicate used")
    parser.add_argument("--no-plots", action="store_true", help="skip the plots")
    parser.set_defaults(handler=cmd_ensemble)

    parser = sub.add_parser(
        "sweep", help="run a grid of parameter values with replicates at every point"
    )
    add_scenario_arguments(parser)
    parser.add_argument(
        "--param",
        action="append",
        required=True,
        metavar="KEY.PATH=V1,V2,...",
        help="a parameter and the values to try (repeatable; the grid is their product)",
    )
    parser.add_argument(
        "--replicates", type=int, help="replicates per point (default: the scenario's)"
    )
    add_outcome_argument(parser, "keep")
    add_executor_arguments(parser)
    parser.add_argument(
        "--resume", action="store_true", help="finish an interrupted sweep of these settings"
    )
    add_posterior_argument(
        parser,
        "replicate i of every point gets the same draw, and a point's own --param values "
        "win over the draw for the keys it sweeps",
    )
    parser.add_argument("--no-plots", action="store_true", help="skip the plots")
    parser.set_defaults(handler=cmd_sweep)

    parser = sub.add_parser(
        "sensitivity", help="Morris or Sobol sensitivity of outcomes to parameter ranges (SALib)"
    )
    add_scenario_arguments(parser)
    parser.add_argument("--method", choices=SENSITIVITY_METHODS, default="morris")
    parser.add_argument(
        "--param",
        action="append",
        required=True,
        metavar="KEY.PATH=LO:HI",
        help="a parameter and its range (repeatable)",
    )
    add_outcome_argument(parser, "analyse")
    parser.add_argument(
        "--samples",
        type=int,
        help="Morris trajectories (default 10) or Sobol base samples, a power of 2 (default 64)",
    )
    parser.add_argument(
        "--replicates", type=int, help="seeds per sample point, outcomes averaged (default 1)"
    )
    parser.add_argument("--levels", type=int, help="Morris grid levels (default 4)")
    parser.add_argument(
        "--second-order", action="store_true", help="Sobol second-order indices too"
    )
    add_executor_arguments(parser)
    parser.add_argument(
        "--resume", action="store_true", help="finish an interrupted analysis of these settings"
    )
    parser.add_argument("--no-plots", action="store_true", help="skip the charts")
    parser.set_defaults(handler=cmd_sensitivity)
