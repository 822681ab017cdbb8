"""The ``killline`` command line: every command and flag, a thin layer over the Python API.

    killline run SCENARIO [--seed N] [--set key.path=value]... [--users N] [--months N] [--out DIR]
    killline list
    killline validate SCENARIO [--set ...]
    killline plot RUN_FOLDER
    killline compare SOURCE SOURCE... [--metric M] [--replicates N]
    killline ensemble SCENARIO [--replicates N] [--workers K | --scheduler ADDRESS] [--resume]
    killline sweep SCENARIO --param key.path=v1,v2,... [--replicates N]
    killline sensitivity SCENARIO --method morris|sobol --param key.path=lo:hi [--samples N]
    killline dashboard [SCENARIO] [--port N]

Exit codes: 0 done; 1 a run of an ensemble, sweep or analysis failed; 2 bad input (a
malformed scenario, an unknown key, a value out of range, a missing file: one line naming
the file, the key path and what is allowed); 130 interrupted (Ctrl-C).

The one-run commands are in commands_run.py, the multi-run ones in commands_batch.py,
``compare`` and ``dashboard`` in commands_explore.py, what they share in common.py.
Handlers import the model, pandas and plotting when they run: ``--help``, ``list`` and
``validate`` load none of them.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from sim.cli import commands_batch, commands_explore, commands_run
from sim.cli.common import EXIT_BAD_INPUT, EXIT_INTERRUPTED, UsageError
from sim.schema import ScenarioError

__all__ = ["UsageError", "build_parser", "main"]


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    """The killline parser with every command."""
    parser = Parser(
        prog="killline",
        description="Agent-based simulation of China's AI-model market and its kill line.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands_run.register(sub)
    commands_batch.register(sub)
    commands_explore.register(sub)
    return parser


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
        return EXIT_INTERRUPTED
