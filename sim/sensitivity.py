"""Global sensitivity analysis with SALib: which parameters drive an outcome.

    killline sensitivity sprint_race --method morris \\
        --param economics.legacy_margin=0.2:0.6 --param kill_line.runway_months=3:9 \\
        --outcome midtier_survival --samples 20 --replicates 4

Two methods (``--param key.path=lo:hi`` gives each parameter's range; the outcomes are
those of sim/outcomes.py):

* ``morris``: elementary-effects screening (Morris 1991, with Campolongo's mu*). ``N``
  trajectories of ``D + 1`` points each on a grid of ``levels`` levels: ``N * (D + 1)``
  sample points. ``mu*`` (mean absolute effect of moving one parameter across a step of
  the grid) ranks the parameters; ``sigma`` (spread of those effects) large against
  ``mu*`` means interactions or non-linear effects.
* ``sobol``: variance-based indices (Saltelli's sampling). ``N`` base samples (a power of 2)
  give ``N * (D + 2)`` points, or ``N * (2D + 2)`` with second-order indices. ``S1``: the
  share of the outcome's variance due to the parameter alone; ``ST``: with all its
  interactions. Confidence intervals by bootstrap.

Seeds. Every sample point runs with the same ``R`` seeds (``--replicates R``): those of
replicates 0 to R-1 of the scenario's ensemble, and its outcome is their mean. These common
random numbers keep luck from masquerading as a parameter's effect; with ``R = 1`` every
point sees one and the same draw of luck, so the indices describe that draw, and a larger
``R`` averages over luck. The sample itself is drawn with the scenario's seed, so an
analysis is reproducible. A parameter whose value in the scenario is an integer is rounded
to the nearest integer at every sample point (the analysis uses the unrounded sample).
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sim.ensemble import (
    BOOTSTRAP_RESAMPLES,
    CONFIDENCE,
    add_executor_arguments,
    add_outcome_argument,
    executor_options,
    keyed_params,
    outcome_names,
    prepare_scenario,
    run_command,
    run_points,
)
from sim.outcomes import OUTCOMES, check_names
from sim.results import (
    atomic_folder,
    default_root,
    manifest_for,
    run_id,
    write_manifest,
    write_resolved,
)
from sim.scenario import Scenario, load_scenario
from sim.schema import ScenarioError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

METHODS = ("morris", "sobol")
DEFAULT_SAMPLES = {"morris": 10, "sobol": 64}
INDEX_COLUMNS = {
    "morris": ("mu", "mu_star", "sigma", "mu_star_conf"),
    "sobol": ("S1", "S1_conf", "ST", "ST_conf"),
}


# ---------------------------------------------------------------------------- the problem


def parse_bounds(text: str) -> tuple[str, float, float]:
    """``key.path=lo:hi`` -> ``("key.path", lo, hi)``.

    Raises:
        ValueError: when the text is not of that form, or lo >= hi.
    """
    key, sep, span = text.partition("=")
    low, colon, high = span.partition(":")
    key = key.strip()
    try:
        lo, hi = float(low), float(high)
    except ValueError:
        lo = hi = math.nan
    if not sep or not colon or not key or not (lo < hi):
        raise ValueError(f"--param {text!r}: expected key.path=lo:hi with numbers lo < hi")
    return key, lo, hi


def value_at(scenario: Scenario, key: str) -> Any:
    """The scenario's value at a key path (``economics.legacy_margin``, ``firms.kimi.quality``)."""
    node: Any = scenario.to_dict()
    for part in key.split("."):
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def check_bounds(scenario: Scenario, bounds: Mapping[str, tuple[float, float]]) -> dict[str, bool]:
    """Check every parameter against the scenario: the key exists (else ScenarioError naming
    the nearest key), it is numeric, and both ends of its range are valid values. Returns
    which parameters are integers."""
    integers = {}
    for key, (lo, hi) in bounds.items():
        try:
            current = value_at(scenario, key)
        except (KeyError, IndexError, ValueError, TypeError):
            scenario.with_overrides({key: lo})  # names the nearest valid key
            raise ScenarioError("--param", key, "unknown key") from None
        if isinstance(current, bool) or not isinstance(current, int | float):
            raise ScenarioError("--param", key, "only numeric parameters can be analysed")
        if not lo < hi:
            raise ScenarioError("--param", key, f"range {lo:g}:{hi:g} is empty (lo must be < hi)")
        integers[key] = isinstance(current, int)
        for end in (lo, hi):
            scenario.with_overrides({key: round(end) if integers[key] else end})
    return integers


def problem_for(bounds: Mapping[str, tuple[float, float]]) -> dict[str, Any]:
    """SALib's problem definition."""
    return {
        "num_vars": len(bounds),
        "names": list(bounds),
        "bounds": [[float(lo), float(hi)] for lo, hi in bounds.values()],
    }


def sample_size(method: str, samples: int, dimensions: int, *, second_order: bool = False) -> int:
    """Sample points SALib draws: Morris ``N(D+1)``; Sobol ``N(D+2)``, or ``N(2D+2)`` with
    second-order indices."""
    if method == "morris":
        return samples * (dimensions + 1)
    if method == "sobol":
        return samples * (2 * dimensions + 2 if second_order else dimensions + 2)
    raise ValueError(f"unknown method {method!r}; choose from {', '.join(METHODS)}")


def draw_sample(
    problem: Mapping[str, Any],
    method: str,
    samples: int,
    *,
    levels: int = 4,
    second_order: bool = False,
    seed: int = 0,
) -> np.ndarray:
    """The SALib sample: one row per sample point, one column per parameter."""
    if method == "morris":
        from SALib.sample import morris

        return morris.sample(dict(problem), samples, num_levels=levels, seed=seed)
    if method == "sobol":
        if samples < 1 or samples & (samples - 1):
            raise ValueError(f"sobol: --samples must be a power of 2 (got {samples})")
        from SALib.sample import sobol

        return sobol.sample(dict(problem), samples, calc_second_order=second_order, seed=seed)
    raise ValueError(f"unknown method {method!r}; choose from {', '.join(METHODS)}")


# ---------------------------------------------------------------------------- the result


@dataclass
class SensitivityResult:
    """A finished analysis.

    Attributes:
        method: ``morris`` or ``sobol``.
        scenario: the base scenario.
        problem: SALib's problem (names and bounds).
        indices: one row per (outcome, parameter), most influential first: ``mu``,
            ``mu_star``, ``sigma``, ``mu_star_conf`` (Morris) or ``S1``, ``S1_conf``, ``ST``,
            ``ST_conf`` (Sobol); ``rank`` from 1.
        samples: one row per sample point: the parameter values as run and the outcomes
            averaged over the replicates.
        runs: one row per (sample point, replicate) with its seed and outcomes.
        second_order: Sobol second-order indices when asked for, else None.
        run: settings, executor, timings.
    """

    method: str
    scenario: Scenario
    problem: dict[str, Any]
    indices: pd.DataFrame
    samples: pd.DataFrame
    runs: pd.DataFrame
    second_order: pd.DataFrame | None = None
    run: dict[str, Any] = field(default_factory=dict)

    def plot(self, outcome: str = "midtier_survival") -> Figure:
        """The method's chart for one outcome."""
        from sim.ensemble_plots import morris_chart, sobol_chart

        chart = morris_chart if self.method == "morris" else sobol_chart
        return chart(self.indices, outcome)


def sensitivity(
    scenario: Scenario | str | Path,
    bounds: Mapping[str, tuple[float, float]],
    *,
    method: str = "morris",
    samples: int | None = None,
    replicates: int = 1,
    levels: int = 4,
    second_order: bool = False,
    outcomes: Iterable[str] | None = None,
    users: int | None = None,
    months: int | None = None,
    seed: int | None = None,
    workers: int | None = None,
    scheduler: Any = None,
    progress: bool | None = None,
) -> SensitivityResult:
    """Run a Morris or Sobol analysis of the outcomes over parameter ranges.

    Args:
        scenario: a loaded Scenario, or a path or name to load.
        bounds: key path -> (low, high), e.g. ``{"economics.legacy_margin": (0.2, 0.6)}``.
        method: ``morris`` or ``sobol``.
        samples: Morris trajectories or Sobol base samples (default 10 and 64).
        replicates: seeds per sample point; the outcome is their mean.
        levels: Morris grid levels.
        second_order: Sobol second-order indices (doubles the sample).
        outcomes: outcome names (default: all of sim/outcomes.py).
        users, months, seed: run-size overrides (default: the scenario's).
        workers, scheduler, progress: as for :func:`sim.ensemble.run_ensemble`.

    Raises:
        ScenarioError: an unknown key, a non-numeric parameter or a range out of bounds.
        RunFailed: a run raised; the message names the sample point and replicate.
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose from {', '.join(METHODS)}")
    if not bounds:
        raise ValueError("a sensitivity analysis needs at least one parameter")
    if replicates < 1:
        raise ValueError(f"replicates must be at least 1, not {replicates}")
    scenario = prepare_scenario(scenario, users=users, months=months, seed=seed)
    names = check_names(outcomes) if outcomes is not None else list(OUTCOMES)
    integers = check_bounds(scenario, bounds)
    problem = problem_for(bounds)
    count = samples if samples is not None else DEFAULT_SAMPLES[method]
    sample = draw_sample(
        problem,
        method,
        count,
        levels=levels,
        second_order=second_order,
        seed=scenario.run.seed,
    )
    keys = problem["names"]
    points = [
        {
            key: (round(float(v)) if integers[key] else float(v))
            for key, v in zip(keys, row, strict=True)
        }
        for row in sample
    ]
    results, ran = run_points(
        scenario,
        points,
        replicates,
        names,
        seeds=[scenario.run.seed] * len(points),
        point_label=lambda number: f"sample {number}",
        workers=workers,
        scheduler=scheduler,
        progress=progress,
        desc=f"{method} {scenario.name}",
    )
    runs = pd.DataFrame(
        [
            {"sample": number, "replicate": index, "seed": seed, **points[number], **values}
            for number, index, seed, values in results
        ]
    )
    means = runs.groupby("sample", sort=True)[names].mean()
    samples_table = pd.concat(
        [pd.DataFrame(points).rename_axis("sample").reset_index(), means.reset_index(drop=True)],
        axis=1,
    )
    indices, second = analyse(
        problem,
        method,
        sample,
        {name: means[name].to_numpy(dtype=float) for name in names},
        levels=levels,
        second_order=second_order,
        seed=scenario.run.seed,
    )
    return SensitivityResult(
        method=method,
        scenario=scenario,
        problem=problem,
        indices=indices,
        samples=samples_table,
        runs=runs,
        second_order=second,
        run={
            **ran,
            "method": method,
            "samples": count,
            "levels": levels if method == "morris" else None,
            "second_order": second_order if method == "sobol" else None,
            "sample_points": len(points),
            "replicates": replicates,
        },
    )


def analyse(
    problem: Mapping[str, Any],
    method: str,
    sample: np.ndarray,
    outputs: Mapping[str, np.ndarray],
    *,
    levels: int = 4,
    second_order: bool = False,
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """SALib's indices for each outcome, tidy: one row per (outcome, parameter), ranked.

    An outcome that is the same at every sample point has no effect to apportion: Morris
    effects are then exactly zero, Sobol indices undefined (NaN); ``note`` says so. An
    outcome with missing values (a tier absent from the scenario) is left out the same way.
    """
    names = list(problem["names"])
    rows, second_rows = [], []
    for outcome, values in outputs.items():
        note = ""
        if not np.all(np.isfinite(values)):
            note = "missing values"
        elif np.ptp(values) == 0.0:
            note = "constant"
        if note:
            fill = 0.0 if (method == "morris" and note == "constant") else math.nan
            found = {column: [fill] * len(names) for column in INDEX_COLUMNS[method]}
        elif method == "morris":
            from SALib.analyze import morris

            found = morris.analyze(
                dict(problem),
                sample,
                values,
                num_levels=levels,
                conf_level=CONFIDENCE,
                num_resamples=BOOTSTRAP_RESAMPLES,
                seed=seed,
            )
        else:
            from SALib.analyze import sobol

            found = sobol.analyze(
                dict(problem),
                values,
                calc_second_order=second_order,
                conf_level=CONFIDENCE,
                num_resamples=BOOTSTRAP_RESAMPLES,
                seed=seed,
            )
            if second_order:
                for i, first in enumerate(names):
                    for j in range(i + 1, len(names)):
                        second_rows.append(
                            {
                                "outcome": outcome,
                                "parameter": first,
                                "other": names[j],
                                "S2": float(found["S2"][i][j]),
                                "S2_conf": float(found["S2_conf"][i][j]),
                            }
                        )
        table = pd.DataFrame(
            {"outcome": outcome, "parameter": names}
            | {column: np.asarray(found[column], dtype=float) for column in INDEX_COLUMNS[method]}
        )
        key = "mu_star" if method == "morris" else "ST"
        table = table.sort_values(key, ascending=False, kind="stable", na_position="last")
        table["rank"] = np.arange(1, len(table) + 1)
        table["note"] = note
        rows.append(table)
    indices = pd.concat(rows, ignore_index=True)
    second = pd.DataFrame(second_rows) if second_order and method == "sobol" else None
    return indices, second


# ---------------------------------------------------------------------------- saving


def save_sensitivity(result: SensitivityResult, out: str | Path, *, plots: bool = True) -> Path:
    """Write ``<out>/<scenario>/sensitivity-<method>-<run-id>/``: indices.parquet,
    samples.parquet, runs.parquet (second_order.parquet), resolved.toml, manifest.json,
    summary.md and a chart per outcome."""
    scenario = result.scenario
    final = (
        Path(out)
        / scenario.name
        / f"sensitivity-{result.method}-{run_id(scenario, scenario.run.seed)}"
    )

    def fill(folder: Path) -> None:
        result.indices.to_parquet(folder / "indices.parquet", index=False)
        result.samples.to_parquet(folder / "samples.parquet", index=False)
        result.runs.to_parquet(folder / "runs.parquet", index=False)
        if result.second_order is not None:
            result.second_order.to_parquet(folder / "second_order.parquet", index=False)
        write_resolved(folder, scenario)
        saved = []
        if plots:
            from sim.plots import save_figures

            charts = {
                f"{result.method}-{outcome}": lambda outcome=outcome: result.plot(outcome)
                for outcome in dict.fromkeys(result.indices["outcome"])
            }
            saved = save_figures(charts, folder / "plots")
        write_manifest(
            folder,
            manifest_for(
                scenario,
                kind="sensitivity",
                problem=result.problem,
                **result.run,
            ),
        )
        (folder / "summary.md").write_text(summary_markdown(result, saved), encoding="utf-8")

    return atomic_folder(final, fill)


def summary_markdown(result: SensitivityResult, plots: Sequence[Path] = ()) -> str:
    """The analysis's summary.md: settings, then per outcome the ranked indices."""
    run, scenario = result.run, result.scenario
    bounds = ", ".join(
        f"`{name}` {lo:g}-{hi:g}"
        for name, (lo, hi) in zip(result.problem["names"], result.problem["bounds"], strict=True)
    )
    lines = [
        f"# Sensitivity ({result.method}): {scenario.title}",
        "",
        f"- **scenario**: `{scenario.name}` ({scenario.run.users:,} users, "
        f"{scenario.run.months} months)",
        f"- **parameters**: {bounds}",
        f"- **sample**: {run['sample_points']} points ({run['samples']} "
        + ("trajectories" if result.method == "morris" else "base samples")
        + f") x {run['replicates']} replicates = {run['runs']} runs; the same seeds at every "
        f"point (common random numbers, spawned from {scenario.run.seed})",
        f"- **executor**: {run.get('executor')} ({run.get('workers')} workers), "
        f"{run['run_seconds']} s",
    ]
    columns = INDEX_COLUMNS[result.method]
    for outcome, table in result.indices.groupby("outcome", sort=False):
        note = table["note"].iloc[0]
        lines += ["", f"## {outcome}" + (f" ({note})" if note else ""), ""]
        lines.append("| rank | parameter | " + " | ".join(columns) + " |")
        lines.append("|---|---|" + "---|" * len(columns))
        for row in table.itertuples(index=False):
            cells = " | ".join(f"{getattr(row, c):.4f}" for c in columns)
            lines.append(f"| {row.rank} | `{row.parameter}` | {cells} |")
    if plots:
        lines += ["", "## Charts", ""]
        lines += [f"![{path.stem}](plots/{path.name})" for path in plots]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------- command line


def cmd_sensitivity(args: argparse.Namespace) -> int:
    """``killline sensitivity``: run the analysis, save the folder, print the ranked indices."""
    from sim.cli import UsageError, scenario_overrides

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
            **executor_options(args),
        )
        folder = save_sensitivity(
            result,
            args.out if args.out is not None else default_root(),
            plots=not args.no_plots,
        )
        run = result.run
        print(
            f"{scenario.title}  ({scenario.name}, {args.method}, {run['sample_points']} points "
            f"x {run['replicates']} replicates = {run['runs']} runs, {run['run_seconds']:.1f} s)"
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
        print(f"results: {folder}")
        return 0

    return run_command(action)


def register_commands(subparsers: Any) -> None:
    """Add ``sensitivity`` to the killline command line."""
    from sim.cli import add_scenario_arguments

    parser = subparsers.add_parser(
        "sensitivity", help="Morris or Sobol sensitivity of outcomes to parameter ranges (SALib)"
    )
    add_scenario_arguments(parser)
    parser.add_argument("--method", choices=METHODS, default="morris")
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
    parser.add_argument("--no-plots", action="store_true", help="skip the charts")
    parser.set_defaults(handler=cmd_sensitivity)
