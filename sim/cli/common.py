"""What every command shares: scenario flags, executor flags, outcome names, --param
values, and turning a multi-run command's failures into one line and an exit code.

Nothing heavy is imported here at module level: ``killline --help``, ``list`` and
``validate`` stay instant.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from sim.schema import ScenarioError

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """Bad input that is not a scenario problem (a missing result folder, a bad flag)."""


def bad_input(exc: BaseException) -> int | None:
    """The exit code of an error the user can act on, said in one line: bad output
    locations and results folders 2, a write that failed part-way (a full disk) 1;
    None for anything else (a bug: its traceback is shown)."""
    from sim.folder import FolderInvalid, OutputError, WriteFailed

    if isinstance(exc, OutputError | FolderInvalid):
        return EXIT_BAD_INPUT
    if isinstance(exc, WriteFailed):
        return EXIT_FAILED
    return None


def out_path(text: str) -> Path:
    """``--out``: a folder path, not empty."""
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty path; give a folder for the results")
    return Path(text)


# ---------------------------------------------------------------------------- scenarios


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
    parser.add_argument("--out", type=out_path, help="results root folder (default: ./results)")


# ---------------------------------------------------------------------------- executors


def add_executor_arguments(parser: argparse.ArgumentParser) -> None:
    """``--workers K`` or ``--scheduler ADDRESS``, and ``--quiet``."""
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--workers", type=int, help="local worker processes (default: one per core; 1: serial)"
    )
    where.add_argument(
        "--scheduler", metavar="ADDRESS", help="a Dask scheduler, e.g. tcp://host:8786"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def executor_options(args: argparse.Namespace) -> dict[str, Any]:
    """The executor keywords of run_ensemble, sweep and sensitivity from the flags."""
    if args.workers is not None and args.workers < 1:
        raise UsageError(f"--workers must be at least 1, not {args.workers}")
    return {
        "workers": args.workers,
        "scheduler": args.scheduler,
        "progress": False if args.quiet else None,
    }


# ---------------------------------------------------------------------------- posterior

POSTERIOR_HELP = (
    "draw each replicate's parameters from a calibration posterior file (no FILE, or "
    "'default': seeds/posterior.toml); replicate i gets the same draw on every executor, "
    "and a key the scenario or --set moves from its default keeps that value"
)


def add_posterior_argument(parser: argparse.ArgumentParser, more: str = "") -> None:
    """``--posterior [FILE]``: replicate i runs with the posterior's draw for it."""
    parser.add_argument(
        "--posterior",
        nargs="?",
        const="default",
        metavar="FILE",
        help=POSTERIOR_HELP + (f"; {more}" if more else ""),
    )


def posterior_option(args: argparse.Namespace) -> Any:
    """The ``--posterior`` file read and checked (None without the flag).

    Raises:
        ScenarioError: a missing or bad file (one line, exit 2).
    """
    if getattr(args, "posterior", None) is None:
        return None
    from sim.posterior import as_posterior

    return as_posterior(args.posterior)


# ---------------------------------------------------------------------------- outcomes


class OutcomeOption(argparse.Action):
    """``--outcome NAME`` (repeatable). Its help lists the outcomes of sim/outcomes.py,
    read only when the help is shown, so building the parser loads no pandas."""

    def __init__(self, option_strings: list[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, **kwargs)

    @property
    def help(self) -> str:  # type: ignore[override]
        from sim.outcomes import OUTCOMES

        return f"outcomes to {self.purpose} (repeatable; default all: {', '.join(OUTCOMES)})"

    @help.setter
    def help(self, purpose: str | None) -> None:
        self.purpose = purpose

    def __call__(self, parser: Any, namespace: Any, values: Any, option: Any = None) -> None:
        found = list(getattr(namespace, self.dest, None) or [])
        setattr(namespace, self.dest, [*found, values])


def add_outcome_argument(parser: argparse.ArgumentParser, purpose: str) -> None:
    """``--outcome NAME`` (repeatable), for the outcomes to ``purpose`` (keep, analyse)."""
    parser.add_argument("--outcome", action=OutcomeOption, metavar="NAME", help=purpose)


def outcome_names(args: argparse.Namespace) -> list[str] | None:
    """The ``--outcome`` names, checked (None: all of them)."""
    from sim.outcomes import check_names

    try:
        return check_names(args.outcome) if args.outcome else None
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def keyed_params(texts: Iterable[str], parse: Callable[[str], tuple[str, Any]]) -> dict[str, Any]:
    """The ``--param`` values by key path, each read by ``parse`` into ``(key, value)``; text
    it cannot read (ValueError) and a key given twice are usage errors."""
    found: dict[str, Any] = {}
    for text in texts:
        try:
            key, value = parse(text)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        if key in found:
            raise UsageError(f"--param {key}: given twice")
        found[key] = value
    return found


# ---------------------------------------------------------------------------- failures


def run_command(action: Callable[[], int], resume: str = "") -> int:
    """Run a multi-run command, turning its failures into one line and an exit code:
    a failed run 1, Ctrl-C 130 (with ``resume``, the command that finishes the work), an
    unreachable scheduler or a waiting partial ensemble 2."""
    from sim.experiments import EnsembleInterrupted, PartialEnsembleExists, RunFailed
    from sim.experiments.store import WorkLost

    try:
        return action()
    except RunFailed as exc:
        print(f"killline: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except WorkLost as exc:
        print(f"killline: error: {exc}", file=sys.stderr)
        if exc.folder is not None and resume:
            print(f"killline: to finish them: {resume}", file=sys.stderr)
        return EXIT_FAILED
    except (ConnectionError, PartialEnsembleExists) as exc:
        raise UsageError(str(exc)) from None
    except EnsembleInterrupted as exc:
        if exc.folder is not None and exc.finished:
            print(
                f"killline: interrupted: {exc.finished} of {exc.total} {exc.unit} kept in "
                f"{exc.folder}\nkillline: to finish them: {resume}",
                file=sys.stderr,
            )
        else:
            print("killline: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
