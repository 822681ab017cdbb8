"""Parameter sweeps: a grid of parameter values, replicates at every point, one tidy table.

    killline sweep sprint_race --param kill_line.runway_months=3,6,9 \\
        --param economics.legacy_margin=0.2,0.4 --replicates 20

The grid is the Cartesian product of the values given for each parameter (values read as
TOML, like ``--set``). At every point the replicates use the same seeds: replicate ``i``
runs with the seed of replicate ``i`` of the scenario's ensemble (sim/ensemble.py). These
*common random numbers* make the differences between points reflect the parameters rather
than luck, so a sweep needs fewer replicates than independent draws would.

The table has one row per (point, replicate): ``point``, ``replicate``, ``seed``, one column
per parameter (named by its key path) and one per outcome (sim/outcomes.py).
:func:`point_means` condenses it into the mean of each outcome at each point with a 95%
confidence interval (Student t over the replicates).
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from sim.ensemble import (
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
from sim.scenario import Scenario, load_scenario, parse_value

# ---------------------------------------------------------------------------- the grid


def split_values(text: str) -> list[str]:
    """Split ``v1,v2,...`` on the commas outside brackets and quotes (TOML arrays,
    inline tables and strings may hold commas)."""
    values, depth, quote, current = [], 0, "", []
    for char in text:
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        elif char == "," and depth == 0:
            values.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    values.append("".join(current).strip())
    return values


def parse_sweep_param(text: str) -> tuple[str, list[Any]]:
    """``key.path=v1,v2,...`` -> ``("key.path", [v1, v2, ...])``, values read as TOML.

    Raises:
        ValueError: when the text is not of that form.
    """
    key, sep, values = text.partition("=")
    key = key.strip()
    parts = split_values(values) if sep else []
    if not key or not parts or any(not part for part in parts):
        raise ValueError(f"--param {text!r}: expected key.path=v1,v2,... (e.g. a.b=1,2,3)")
    return key, [parse_value(part) for part in parts]


def grid(parameters: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Every combination of the parameters' values, the last parameter varying fastest."""
    keys = list(parameters)
    return [
        dict(zip(keys, values, strict=True)) for values in itertools.product(*parameters.values())
    ]


# ---------------------------------------------------------------------------- running


def sweep(
    scenario: Scenario | str | Path,
    parameters: Mapping[str, Sequence[Any]],
    replicates: int | None = None,
    *,
    users: int | None = None,
    months: int | None = None,
    seed: int | None = None,
    outcomes: Iterable[str] | None = None,
    workers: int | None = None,
    scheduler: Any = None,
    progress: bool | None = None,
) -> pd.DataFrame:
    """Run a grid of parameter values with replicates at every point.

    Args:
        scenario: a loaded Scenario, or a path or name to load.
        parameters: key path -> the values to try, e.g.
            ``{"kill_line.runway_months": [3, 6, 9]}``.
        replicates: replicates per point (default: the scenario's ``run.replicates``).
        users, months, seed: run-size overrides (default: the scenario's).
        outcomes: outcome names (default: all of sim/outcomes.py).
        workers, scheduler, progress: as for :func:`sim.ensemble.run_ensemble`.

    Returns:
        One row per (point, replicate): ``point``, ``replicate``, ``seed``, the parameters
        and the outcomes. ``DataFrame.attrs`` holds ``parameters`` (the key paths) and
        ``run`` (executor, workers, timings).

    Raises:
        ScenarioError: an unknown key or a value out of range (checked before any run).
        RunFailed: a run raised; the message names the point and replicate.
    """
    scenario = prepare_scenario(
        scenario, replicates=replicates, users=users, months=months, seed=seed
    )
    if not parameters:
        raise ValueError("a sweep needs at least one parameter")
    names = check_names(outcomes) if outcomes is not None else list(OUTCOMES)
    points = grid(parameters)
    # every point is validated before any run; its seed is the base of its replicates' seeds
    seeds = [scenario.with_overrides(point).run.seed for point in points]
    results, ran = run_points(
        scenario,
        points,
        scenario.run.replicates,
        names,
        seeds=seeds,
        point_label=lambda number: (
            f"point {number} ({', '.join(f'{k}={v}' for k, v in points[number].items())})"
        ),
        workers=workers,
        scheduler=scheduler,
        progress=progress,
        desc=f"sweep {scenario.name}",
    )
    rows = [
        {
            "point": number,
            "replicate": index,
            "seed": seed,
            **{key: _cell(value) for key, value in points[number].items()},
            **values,
        }
        for number, index, seed, values in results
    ]
    table = pd.DataFrame(rows)
    table.attrs["parameters"] = list(parameters)
    table.attrs["run"] = ran
    return table


def _cell(value: Any) -> Any:
    """A parameter value as a table cell: arrays and tables as their JSON text."""
    return value if isinstance(value, int | float | str | bool) else json.dumps(value)


def point_means(table: pd.DataFrame, parameters: Sequence[str] | None = None) -> pd.DataFrame:
    """Mean of every outcome at every point, with a 95% Student-t confidence interval over
    the replicates; tidy: one row per (point, outcome)."""
    from scipy import stats

    parameters = list(parameters if parameters is not None else table.attrs["parameters"])
    outcomes = [name for name in OUTCOMES if name in table]
    long = table.melt(
        id_vars=["point", *parameters], value_vars=outcomes, var_name="outcome", value_name="value"
    )
    grouped = long.groupby(["point", "outcome"], sort=False)
    means = grouped["value"].agg(["mean", "std", "count"]).reset_index()
    settings = table.drop_duplicates("point").set_index("point")[parameters]
    means = means.join(settings, on="point")
    t = means["count"].map(
        lambda n: stats.t.ppf(0.5 + CONFIDENCE / 2.0, n - 1) if n > 1 else math.nan
    )
    half = t * means["std"].fillna(0.0) / means["count"].pow(0.5)
    means["ci_low"] = means["mean"] - half
    means["ci_high"] = means["mean"] + half
    means = means.rename(columns={"std": "sd", "count": "n"})
    return means[["point", *parameters, "outcome", "mean", "sd", "n", "ci_low", "ci_high"]]


# ---------------------------------------------------------------------------- saving


def _parquet_safe(table: pd.DataFrame) -> pd.DataFrame:
    """Parameter columns mixing types (e.g. numbers and strings) become text for Parquet."""
    safe = table.copy()
    for column in safe.columns:
        if safe[column].dtype == object and safe[column].map(type).nunique() > 1:
            safe[column] = safe[column].astype(str)
    return safe


def save_sweep(
    table: pd.DataFrame, scenario: Scenario, out: str | Path, *, plots: bool = True
) -> Path:
    """Write ``<out>/<scenario>/sweep-<run-id>/``: sweep.parquet (one row per point and
    replicate), means.parquet, resolved.toml, manifest.json, summary.md, plots."""
    parameters = list(table.attrs["parameters"])
    means = point_means(table, parameters)
    final = Path(out) / scenario.name / f"sweep-{run_id(scenario, scenario.run.seed)}"

    def fill(folder: Path) -> None:
        _parquet_safe(table).to_parquet(folder / "sweep.parquet", index=False)
        _parquet_safe(means).to_parquet(folder / "means.parquet", index=False)
        write_resolved(folder, scenario)
        saved = []
        if plots:
            from sim.ensemble_plots import sweep_chart
            from sim.plots import save_figures

            charts = {
                f"sweep-{parameter.replace('.', '_')}": (
                    lambda parameter=parameter: sweep_chart(means, parameter, parameters)
                )
                for parameter in parameters
            }
            saved = save_figures(charts, folder / "plots")
        write_manifest(
            folder,
            manifest_for(
                scenario,
                kind="sweep",
                replicates=scenario.run.replicates,
                grid={p: list(dict.fromkeys(table[p])) for p in parameters},
                points=int(table["point"].nunique()),
                **table.attrs.get("run", {}),
            ),
        )
        (folder / "summary.md").write_text(
            _summary(scenario, table, means, parameters, saved), encoding="utf-8"
        )

    return atomic_folder(final, fill)


def _summary(
    scenario: Scenario,
    table: pd.DataFrame,
    means: pd.DataFrame,
    parameters: Sequence[str],
    plots: Sequence[Path],
) -> str:
    run = table.attrs.get("run", {})
    lines = [
        f"# Sweep: {scenario.title}",
        "",
        f"- **scenario**: `{scenario.name}`",
        f"- **grid**: {table['point'].nunique()} points x {scenario.run.replicates} replicates "
        f"= {len(table)} runs ({scenario.run.users:,} users, {scenario.run.months} months)",
        "- **seeds**: common random numbers: replicate i uses the same seed at every point "
        f"(spawned from {scenario.run.seed})",
        f"- **executor**: {run.get('executor')} ({run.get('workers')} workers), "
        f"{run.get('run_seconds')} s",
        "",
        "## Mean outcome at each point (95% confidence interval)",
        "",
    ]
    wide = means.assign(
        cell=means.apply(
            lambda r: (
                f"{r['mean']:.3f} ({r['ci_low']:.3f} - {r['ci_high']:.3f})"
                if not math.isnan(r["ci_low"])
                else f"{r['mean']:.3f}"
            ),
            axis=1,
        )
    ).pivot(index=["point", *parameters], columns="outcome", values="cell")
    wide = wide[[name for name in OUTCOMES if name in wide.columns]].reset_index()
    header = list(wide.columns)
    lines.append("| " + " | ".join(str(c) for c in header) + " |")
    lines.append("|" + "---|" * len(header))
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in wide.itertuples(index=False)]
    if plots:
        lines += ["", "## Plots", ""]
        lines += [f"![{path.stem}](plots/{path.name})" for path in plots]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------- command line


def cmd_sweep(args: argparse.Namespace) -> int:
    """``killline sweep``: run the grid, save the folder, print the mean outcomes per point."""
    from sim.cli import scenario_overrides

    parameters = keyed_params(args.param, parse_sweep_param)
    outcomes = outcome_names(args)
    scenario = prepare_scenario(
        load_scenario(args.scenario, scenario_overrides(args)), replicates=args.replicates
    )

    def action() -> int:
        table = sweep(scenario, parameters, outcomes=outcomes, **executor_options(args))
        folder = save_sweep(
            table,
            scenario,
            args.out if args.out is not None else default_root(),
            plots=not args.no_plots,
        )
        means = point_means(table)
        shown = means.pivot(index=["point", *parameters], columns="outcome", values="mean")
        print(
            f"{scenario.title}  ({scenario.name}, {table['point'].nunique()} points x "
            f"{scenario.run.replicates} replicates, {table.attrs['run']['run_seconds']:.1f} s)"
        )
        columns = [name for name in OUTCOMES if name in shown.columns][:6]
        print(shown[columns].to_string(float_format=lambda v: f"{v:.3f}"))
        print(f"results: {folder}")
        return 0

    return run_command(action)


def register_sweep(subparsers: Any) -> None:
    """Add ``sweep`` to the killline command line."""
    from sim.cli import add_scenario_arguments

    parser = subparsers.add_parser(
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
    parser.add_argument("--no-plots", action="store_true", help="skip the plots")
    parser.set_defaults(handler=cmd_sweep)
