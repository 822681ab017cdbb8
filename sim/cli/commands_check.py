"""``killline check``: every claim of seeds/claims.toml over paired, seeded replicates.

    killline check [--replicates N] [--users N] [--months N] [--claim C2]... [--screen]
                   [--workers K | --scheduler ADDRESS] [--out DIR] [--claims FILE]
                   [--posterior [FILE]]

Writes ``<out>/claims/<run-id>/`` (report.md, scorecard and per-claim charts, the tables)
and prints the scorecard. The handler imports the claims machinery when it runs.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from sim.cli.common import (
    UsageError,
    add_executor_arguments,
    add_posterior_argument,
    executor_options,
    posterior_option,
    run_command,
)


def cmd_check(args: argparse.Namespace) -> int:
    """``killline check``: run the claims, save the folder, print the scorecard."""
    from sim import folder
    from sim.claims import check_claims, load_claims

    for flag, value in (("--replicates", args.replicates), ("--users", args.users)):
        if value is not None and value < 1:
            raise UsageError(f"{flag} must be at least 1, not {value}")
    spec = load_claims(args.claims).select(args.claim)
    posterior = posterior_option(args)

    def action() -> int:
        result = check_claims(
            spec,
            replicates=args.replicates,
            users=args.users,
            months=args.months,
            seed=args.seed,
            screen=args.screen,
            posterior=posterior,
            **executor_options(args),
        )
        written = folder.save(result, args.out, plots=not args.no_plots)
        facts = result.facts
        print(
            f"claims check: {facts['replicates']} replicates, {facts['size']['run.users']:,} "
            f"users, {facts['size']['run.months']} months, {facts['runs']} runs, "
            f"{facts['wall_seconds']:.0f} s"
        )
        if posterior is not None:
            print(f"  parameters drawn from {posterior.source} (parameters.parquet)")
        for row in result.scorecard.itertuples():
            print(
                f"  {row.claim:4} {row.verdict:14} {row.probability:6.0%}  "
                f"(95% {row.low:.0%} - {row.high:.0%}, {row.decided} decided)"
            )
        print(f"results: {written}")
        return 0

    return run_command(action)


def register(sub: Any) -> None:
    """Add ``check`` to the killline command line."""
    parser = sub.add_parser(
        "check", help="check the article's claims (seeds/claims.toml) over seeded replicates"
    )
    parser.add_argument(
        "--replicates", type=int, help="replicates per claim (default: the claims file's)"
    )
    parser.add_argument("--users", type=int, help="simulated users (default: the claims file's)")
    parser.add_argument("--months", type=int, help="horizon in months (default: the file's)")
    parser.add_argument("--seed", type=int, help="ensemble seed of every run (default: scenario)")
    parser.add_argument(
        "--claim", action="append", metavar="ID", help="check only this claim (repeatable)"
    )
    parser.add_argument("--claims", type=Path, help="claims file (default: seeds/claims.toml)")
    parser.add_argument(
        "--screen", action="store_true", help="also run each claim's Morris screen (slow)"
    )
    parser.add_argument("--out", type=Path, help="results root folder (default: ./results)")
    add_executor_arguments(parser)
    add_posterior_argument(
        parser,
        "every role of a claim gets replicate i's draw (the pairs stay paired), a key a "
        "claim's run sets itself keeps that value, and --screen runs at the scenarios' values",
    )
    parser.add_argument("--no-plots", action="store_true", help="skip the charts")
    parser.set_defaults(handler=cmd_check)
