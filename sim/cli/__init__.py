"""The ``killline`` command line: every command and flag, a thin layer over the Python API.

    killline run SCENARIO [--seed N] [--set key.path=value]... [--users N] [--months N] [--out DIR]
    killline list
    killline validate SCENARIO [--set ...]
    killline plot RUN_FOLDER
    killline compare SOURCE SOURCE... [--metric M] [--replicates N]
    killline ensemble SCENARIO [--replicates N] [--workers K | --scheduler ADDRESS] [--resume]
    killline sweep SCENARIO --param key.path=v1,v2,... [--replicates N]
    killline sensitivity SCENARIO --method morris|sobol --param key.path=lo:hi [--samples N]
    killline check [--replicates N] [--claim ID]... [--screen] [--scheduler ADDRESS]
    killline calibrate [--generations N] [--particles N] [--fit-until YYYY-MM] [--resume DIR]
    killline dashboard [SCENARIO] [--port N]

Exit codes: 0 done; 1 a run of an ensemble, sweep or analysis failed; 2 bad input (a
malformed scenario, an unknown key, a value out of range, a missing file: one line naming
the file, the key path and what is allowed); 130 interrupted (Ctrl-C).

The one-run commands are in commands_run.py, the multi-run ones in commands_batch.py,
``calibrate`` in commands_calibrate.py, ``compare`` and ``dashboard`` in
commands_explore.py, what they share in common.py.
Handlers import the model, pandas and plotting when they run: ``--help``, ``list`` and
``validate`` load none of them.
"""

from __future__ import annotations

import os
import signal
import sys


def _interrupted_while_starting(signum: int, frame: object) -> None:
    """Ctrl-C before the command runs (while the modules load): one line, exit 130."""
    sys.stderr.write("killline: interrupted\n")
    sys.stderr.flush()
    os._exit(130)


if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
    signal.signal(signal.SIGINT, _interrupted_while_starting)

import argparse  # noqa: E402
from collections.abc import Sequence  # noqa: E402

from sim.cli import (  # noqa: E402
    commands_batch,
    commands_calibrate,
    commands_check,
    commands_explore,
    commands_run,
)
from sim.cli.common import (  # noqa: E402
    EXIT_BAD_INPUT,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    UsageError,
    bad_input,
)
from sim.schema import ScenarioError  # noqa: E402

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
    commands_check.register(sub)
    commands_calibrate.register(sub)
    commands_explore.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``killline`` console command."""
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
    except KeyboardInterrupt:
        print("killline: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    if signal.getsignal(signal.SIGINT) is _interrupted_while_starting:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return args.handler(args)
    except (ScenarioError, UsageError) as exc:
        print(f"killline: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("killline: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:
        code = bad_input(exc)
        if code is None:
            raise
        print(f"killline: error: {exc}", file=sys.stderr)
        return code if code else EXIT_FAILED
