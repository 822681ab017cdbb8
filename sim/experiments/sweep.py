"""Parameter sweeps: a grid of parameter values, replicates at every point, one tidy table.

    killline sweep sprint_race --param kill_line.runway_months=3,6,9 \\
        --param economics.legacy_margin=0.2,0.4 --replicates 20

The grid is the Cartesian product of the values given for each parameter (values read as
TOML, like ``--set``). At every point the replicates use the same seeds: replicate ``i``
runs with the seed of replicate ``i`` of the scenario's ensemble (sim/experiments/engine.py).
These *common random numbers* make the differences between points reflect the parameters
rather than luck, so a sweep needs fewer replicates than independent draws would.

A :class:`SweepResult` holds two tables: ``sweep``, one row per (point, replicate):
``point``, ``replicate``, ``seed``, one column per parameter (named by its key path) and one
per outcome (sim/outcomes.py); and ``means``, the mean of each outcome at each point with a
95% confidence interval (Student t over the replicates, sim/experiments/stats.py).
``sim.folder.save(result, out)`` writes them to ``<out>/<scenario>/sweep-<run-id>/`` with
``summary.md`` (sim/reports.py) and a chart per parameter (sim/plots/analysis.py).
"""

from __future__ import annotations

import itertools
import json
import shutil
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd

from sim.experiments.engine import run_points, run_store
from sim.experiments.stats import point_means
from sim.folder import save
from sim.outcomes import OUTCOMES, check_names
from sim.posterior import (
    Posterior,
    as_posterior,
    check_posterior,
    parameters_table,
    posterior_facts,
    posterior_settings,
)
from sim.results import Result
from sim.scenario import Scenario, parse_value, prepare_scenario

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


# ---------------------------------------------------------------------------- the result


@dataclass(kw_only=True)
class SweepResult(Result):
    """A finished sweep.

    Attributes:
        scenario: the base scenario (``run.replicates`` replicates at every point).
        tables: ``sweep`` (one row per point and replicate: ``point``, ``replicate``,
            ``seed``, the parameters and the outcomes) and ``means`` (one row per point and
            outcome: mean, sd, n and the 95% interval).
        facts: replicates, grid (each key path swept, in grid order, with its values),
            points, executor, workers, runs and timings (what the manifest records).
    """

    kind: ClassVar[str] = "sweep"
    folder: Path | None = None

    @property
    def parameters(self) -> list[str]:
        """The key paths swept, in grid order."""
        return list(self.facts["grid"])

    @property
    def table(self) -> pd.DataFrame:
        """One row per (point, replicate)."""
        return self.tables["sweep"]

    @property
    def means(self) -> pd.DataFrame:
        """Mean of every outcome at every point with its 95% interval."""
        return self.tables["means"]

    @property
    def points(self) -> int:
        """Number of points in the grid."""
        return int(self.table["point"].nunique())


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
    out: str | Path | None = None,
    resume: bool = False,
    plots: bool = True,
    posterior: Posterior | str | Path | None = None,
) -> SweepResult:
    """Run a grid of parameter values with replicates at every point.

    Args:
        scenario: a loaded Scenario, or a path or name to load.
        parameters: key path -> the values to try, e.g.
            ``{"kill_line.runway_months": [3, 6, 9]}``.
        replicates: replicates per point (default: the scenario's ``run.replicates``).
        users, months, seed: run-size overrides (default: the scenario's).
        outcomes: outcome names (default: all of sim/outcomes.py).
        workers, scheduler, progress: as for :func:`sim.experiments.run_ensemble`.
        out: results root; when given, finished runs are kept on disk as they finish and
            the sweep is written to ``<out>/<scenario>/sweep-<run-id>/``.
        resume: finish an interrupted sweep of the same settings under ``out``.
        plots: draw the charts into the results folder.
        posterior: a Posterior, a posterior file's path or ``"default"``: replicate ``i``
            of every point runs with the draw of replicate ``i`` (sim/posterior.py), the
            point's own values winning for the keys it sweeps; the ``parameters`` table
            records what each run used.

    Returns:
        The :class:`SweepResult`: its ``sweep`` and ``means`` tables and the facts.

    Raises:
        ScenarioError: an unknown key or a value out of range (checked before any run);
            a bad posterior file.
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
    located = [scenario.with_overrides(point) for point in points]
    seeds = [point.run.seed for point in located]
    posterior = as_posterior(posterior)
    for point, at in zip(points, located, strict=True):
        check_posterior(at, posterior, fixed=point)
    settings = {"points": points, "replicates": scenario.run.replicates, "outcomes": names}
    settings |= posterior_settings(posterior)
    with run_store(out, scenario, "sweep", resume, **settings) as store:
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
            store=store,
            resume=resume,
            posterior=posterior,
        )
        result = _result(scenario, parameters, points, results, ran)
        if posterior is not None:
            result.tables["parameters"] = _parameters(
                located, points, scenario.run.replicates, posterior
            )
        result.facts |= posterior_facts(posterior, scenario, fixed=parameters)
        if store is not None:
            result.folder = save(result, out, plots=plots)
            shutil.rmtree(store.folder, ignore_errors=True)
    return result


def _result(
    scenario: Scenario,
    parameters: Mapping[str, Sequence[Any]],
    points: list[dict[str, Any]],
    results: list[tuple[int, int, int, dict[str, float]]],
    ran: dict[str, Any],
) -> SweepResult:
    """The sweep's tables from its runs."""
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
    keys = list(parameters)
    return SweepResult(
        scenario=scenario,
        tables={"sweep": table, "means": point_means(table, keys)},
        facts={
            "replicates": scenario.run.replicates,
            "grid": {p: list(dict.fromkeys(table[p])) for p in keys},
            "points": len(points),
            **ran,
        },
    )


def _parameters(
    located: Sequence[Scenario],
    points: Sequence[Mapping[str, Any]],
    replicates: int,
    posterior: Posterior | None,
) -> pd.DataFrame:
    """One row per (point, replicate): the posterior's parameters that run used."""
    tables = []
    for number, (at, point) in enumerate(zip(located, points, strict=True)):
        table = parameters_table(posterior, at, range(replicates), fixed=point)
        table.insert(0, "point", number)
        tables.append(table)
    return pd.concat(tables, ignore_index=True)


def _cell(value: Any) -> Any:
    """A parameter value as a table cell: arrays and tables as their JSON text."""
    return value if isinstance(value, int | float | str | bool) else json.dumps(value)
