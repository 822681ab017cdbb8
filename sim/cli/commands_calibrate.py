"""``killline calibrate``: fit the uncertain parameters to the 2024-25 history (ABC-SMC).

    killline calibrate [--generations N] [--particles N] [--users N]
                       [--replicates-per-eval N] [--workers K | --scheduler ADDRESS]
                       [--seed S] [--fit-until YYYY-MM] [--out DIR] [--resume DIR]
                       [--predictive-draws N] [--write-seeds]

Defaults are seeds/inference.toml's. Writes ``<out>/calibration/<run-id>/`` (posterior.toml,
the fit tables, plots, report) and prints the fit; ``--write-seeds`` also copies
posterior.toml to seeds/posterior.toml. The handler imports pyabc and the model when it
runs.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

from sim.cli.common import UsageError, add_executor_arguments, executor_options, run_command

MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
# flag -> (settings field, smallest value)
SIZES = {
    "generations": ("--generations", 1),
    "particles": ("--particles", 2),
    "users": ("--users", 100),
    "replicates_per_eval": ("--replicates-per-eval", 1),
    "seed": ("--seed", 0),
    "predictive_draws": ("--predictive-draws", 2),
}


def _changes(args: argparse.Namespace) -> dict[str, Any]:
    """The settings the flags change, checked (one-line UsageError)."""
    changes: dict[str, Any] = {}
    for name, (flag, least) in SIZES.items():
        value = getattr(args, name)
        if value is not None and value < least:
            raise UsageError(f"{flag} must be at least {least}, not {value}")
        changes[name] = value
    if args.fit_until is not None:
        if not MONTH.match(args.fit_until):
            raise UsageError(f"--fit-until {args.fit_until!r}: give a month as YYYY-MM")
        changes["fit_until"] = args.fit_until
    return changes


def cmd_calibrate(args: argparse.Namespace) -> int:
    """``killline calibrate``: run (or resume) the fit, save the folder, print the fit."""
    changes = _changes(args)
    options = executor_options(args)
    if args.resume is not None and not Path(args.resume).is_dir():
        raise UsageError(f"--resume {args.resume}: no such folder")

    from sim.inference.calibrate import ResumeError, calibrate, resume_settings
    from sim.inference.settings import load_settings
    from sim.inference.smc import Fit

    try:
        if args.resume is not None:
            settings, _ = resume_settings(Path(args.resume), changes)
        else:
            settings = load_settings().replace(**changes)
        fit = Fit.prepare(settings)
    except ResumeError as exc:
        raise UsageError(str(exc)) from None
    if not fit.points:
        raise UsageError(f"--fit-until {settings.fit_until}: no observed point ends by then")

    def action() -> int:
        result = calibrate(
            settings,
            out=args.out,
            resume=args.resume,
            workers=options["workers"],
            scheduler=options["scheduler"],
            progress=options["progress"],
            write_seeds=args.write_seeds,
        )
        _print(result)
        return 0

    resume = "killline calibrate --resume <that folder>"
    return run_command(action, resume=resume)


def _print(result: Any) -> None:
    import pandas as pd

    from sim.inference.predictive import overall_error

    folder = result.folder
    fit = pd.read_csv(folder / "fit.csv")
    summary = pd.read_csv(folder / "posterior_summary.csv")
    weights = dict(result.settings.weights)
    meta = result.posterior.meta
    print(
        f"calibration: {meta['generations']} generations of {meta['particles']} particles, "
        f"{sum(meta['evaluations']):,} evaluations at {meta['users']:,} users, "
        f"fit {result.facts['fit_wall_seconds']:.0f} s, final ESS {result.posterior.ess:.1f}"
    )
    for part in ("fitted", "held out"):
        before, after = overall_error(fit, weights, part)
        if before == before:
            print(f"  distance ({part} points): {before:.3f} at the point values -> {after:.3f}")
    for row in summary.itertuples():
        print(
            f"  {row.parameter:30} median {row.median:8.4g}  90% {row.q05:8.4g} - {row.q95:8.4g}"
            f"  ({row.width_of_prior:.0%} of the prior)"
        )
    print(f"results: {folder}")


def register(sub: Any) -> None:
    """Add ``calibrate`` to the killline command line."""
    parser = sub.add_parser(
        "calibrate", help="fit the uncertain parameters to the 2024-25 history (ABC-SMC)"
    )
    parser.add_argument("--generations", type=int, help="ABC-SMC generations, the prior's first")
    parser.add_argument("--particles", type=int, help="particles per generation")
    parser.add_argument("--users", type=int, help="simulated users per history run")
    parser.add_argument(
        "--replicates-per-eval", type=int, help="model runs per evaluation (their median)"
    )
    parser.add_argument("--seed", type=int, help="the calibration's seed")
    parser.add_argument(
        "--predictive-draws", type=int, help="posterior-predictive runs of the whole history"
    )
    parser.add_argument(
        "--fit-until", metavar="YYYY-MM", help="fit the points ending by then; report the rest"
    )
    parser.add_argument("--out", type=Path, help="results root folder (default: ./results)")
    parser.add_argument(
        "--resume", metavar="DIR", help="continue a calibration folder (partial or finished)"
    )
    parser.add_argument(
        "--write-seeds", action="store_true", help="also copy posterior.toml to seeds/"
    )
    add_executor_arguments(parser)
    parser.set_defaults(handler=cmd_calibrate)
