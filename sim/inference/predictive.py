"""The posterior predictive: the whole history run once per draw of a posterior, as every
ensemble run with ``--posterior`` draws it (sim/posterior.py: replicate ``i`` gets the
parameters drawn for ``(seed, i)`` and the model seed of replicate ``i``), or at the
parameters' point values without one; then the fit per point and per series, and the
firms' exits by the end of the history.

    tables, parameters = predictive_runs(scenario, posterior, draws=40, executor=executor)
    fit = fit_table(tables, points, held_out, distance)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from sim.experiments.engine import RunFailed, simulate, stream
from sim.experiments.executors import Executor, TaskError
from sim.inference.distance import Distance
from sim.inference.summaries import RunArrays, series_of
from sim.posterior import Posterior
from sim.scenario import Scenario
from sim.schema_types import IN_MARKET
from sim.validation import Point

FIRM_COLUMNS = (
    "month",
    "date",
    "firm",
    "name",
    "tier",
    "status",
    "mau_m",
    "users_m",
    "share",
    "api_share",
    "api_tokens_tn",
)
BAND = (0.05, 0.95)
# the firms whose exits (or survival) by the end of 2025 the history records (HISTORY.md)
EXITED_BY_2025 = ("lingyi", "baichuan")
SURVIVED_2025 = ("zhipu", "minimax", "kimi", "stepfun")


def predict(scenario: Scenario, index: int, values: Mapping[str, float]) -> dict:
    """Replicate ``index`` of the scenario with ``values``: its firms and market tables."""
    if values:
        scenario = scenario.with_overrides(dict(values))
    _, tables = simulate(scenario, index)
    return {"firms": tables["firms"][list(FIRM_COLUMNS)], "market": tables["market"]}


def predictive_runs(
    scenario: Scenario, posterior: Posterior | None, draws: int, executor: Executor
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """``draws`` runs of the scenario (replicates 0..draws-1), each with its posterior
    draw (the point values without a posterior): their tables with a ``replicate``
    column, and the parameters each used (one row per replicate)."""
    seed = scenario.run.seed
    chosen = [posterior.draw(seed, i) if posterior is not None else {} for i in range(draws)]
    tasks = [(i, chosen[i]) for i in range(draws)]
    found: list[dict] = [{} for _ in tasks]

    def failed(position: int, error: TaskError, others: int) -> RunFailed:
        return RunFailed(f"predictive run {position}", error, others)

    for position, value in stream(predict, scenario, tasks, executor, failed):
        found[position] = value
    tables = {
        name: pd.concat(
            [t[name].assign(replicate=i) for i, t in enumerate(found)], ignore_index=True
        )
        for name in ("firms", "market")
    }
    parameters = pd.DataFrame([{"replicate": i, **chosen[i]} for i in range(draws)])
    return tables, parameters


def point_fit(
    tables: Mapping[str, pd.DataFrame], points: Sequence[Point], distance: Distance
) -> pd.DataFrame:
    """Per point: the median over the runs, the 90% band and the median's log error."""
    arrays = RunArrays(tables)
    rows = []
    for point in points:
        values = arrays.point(point)
        finite = values[np.isfinite(values)] if values is not None else np.array([])
        if finite.size:
            median = float(np.median(finite))
            low, high = (float(q) for q in np.quantile(finite, BAND))
        else:
            median = low = high = float("nan")
        error = distance.error(point.id, median, point.value)
        rows.append({"id": point.id, "median": median, "low": low, "high": high, "error": error})
    return pd.DataFrame(rows)


def fit_table(
    posterior_tables: Mapping[str, pd.DataFrame],
    point_tables: Mapping[str, pd.DataFrame],
    fitted: Sequence[Point],
    held_out: Sequence[Point],
    distance: Distance,
) -> pd.DataFrame:
    """One row per point (fitted, then held out): observed; the log error of the point
    values' median; the posterior predictive's median, 90% band and log error."""
    points = [*fitted, *held_out]
    everything = Distance.for_points(points, distance.weights, distance.floor)
    before = point_fit(point_tables, points, everything).set_index("id")
    after = point_fit(posterior_tables, points, everything).set_index("id")
    rows = []
    for point in points:
        rows.append(
            {
                "id": point.id,
                "series": series_of(point),
                "basis": point.basis,
                "start": point.start,
                "end": point.end,
                "split": "fitted" if point in fitted else "held out",
                "observed": point.value,
                "point_values": before.loc[point.id, "median"],
                "error_point_values": before.loc[point.id, "error"],
                "posterior": after.loc[point.id, "median"],
                "low": after.loc[point.id, "low"],
                "high": after.loc[point.id, "high"],
                "error_posterior": after.loc[point.id, "error"],
                "in_band": bool(
                    after.loc[point.id, "low"] <= point.value <= after.loc[point.id, "high"]
                ),
                "source": point.source,
            }
        )
    return pd.DataFrame(rows)


def series_table(fit: pd.DataFrame, weights: Mapping[str, float]) -> pd.DataFrame:
    """Per series and split: its weight, points, and the root mean square log error of the
    point values and of the posterior predictive's median."""
    rows = []
    for (series, part), group in fit.groupby(["series", "split"], sort=False):
        rows.append(
            {
                "series": series,
                "split": part,
                "weight": float(weights.get(series, 1.0)),
                "points": len(group),
                "rms_error_point_values": float(np.sqrt(np.mean(group["error_point_values"] ** 2))),
                "rms_error_posterior": float(np.sqrt(np.mean(group["error_posterior"] ** 2))),
            }
        )
    return pd.DataFrame(rows)


def overall_error(
    fit: pd.DataFrame, weights: Mapping[str, float], part: str
) -> tuple[float, float]:
    """The distance's formula over one split's points: (point values, posterior)."""
    table = series_table(fit[fit["split"] == part], weights)
    if table.empty:
        return float("nan"), float("nan")
    w = table["weight"].to_numpy()
    return tuple(
        float(np.sqrt(np.sum(w * table[column].to_numpy() ** 2) / np.sum(w)))
        for column in ("rms_error_point_values", "rms_error_posterior")
    )


def exit_table(
    posterior_tables: Mapping[str, pd.DataFrame], point_tables: Mapping[str, pd.DataFrame]
) -> pd.DataFrame:
    """For the firms the history records leaving (01.AI, Baichuan) or staying (Zhipu,
    MiniMax, Moonshot, StepFun): the share of runs in which each is still in the market
    at the end of the history, under the posterior and at the point values."""
    rows = []
    for firm in (*EXITED_BY_2025, *SURVIVED_2025):
        row = {
            "firm": firm,
            "history": "left by 2025-12" if firm in EXITED_BY_2025 else "in the market at 2025-12",
        }
        for label, tables in (("posterior", posterior_tables), ("point_values", point_tables)):
            firms = tables["firms"]
            last = firms[(firms["firm"] == firm) & (firms["date"] == firms["date"].max())]
            row[f"in_market_{label}"] = (
                float(last["status"].isin(IN_MARKET).mean()) if len(last) else float("nan")
            )
        rows.append(row)
    return pd.DataFrame(rows)
