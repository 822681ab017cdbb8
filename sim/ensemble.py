"""Ensembles: many seeded replicates of one scenario, and what they say together.

A replicate is a pure function of (scenario, replicate index): replicate ``i`` runs the
model with the integer seed drawn from the ``i``-th child of
``numpy.random.SeedSequence(run.seed).spawn(n)``. The tables are therefore identical
whether the replicates run serially, on local processes or on a Dask cluster
(sim/executors.py), and replicate ``i`` is the same in an ensemble of 50 and of 500.

    from sim.ensemble import run_ensemble
    result = run_ensemble("sprint_race", replicates=200, users=20_000)
    result.tier_survival()          # per tier, share still in the market, 95% interval
    result.plot("survival")         # a matplotlib Figure

An ensemble saved to a folder (``out=``, and always from the command line) keeps every
finished replicate in ``replicates/`` of a partial folder whose name follows from the
scenario (its digest covers the seed, users, months and number of replicates), one small
folder of Parquet files per replicate, each renamed into place when complete. An
interrupted ensemble (Ctrl-C) keeps them; ``resume=True`` runs only the missing ones. When
all are done the tables are concatenated in replicate order into
``<out>/<scenario>/ensemble-<run-id>/``:

* ``firms``, ``market``, ``events`` (and ``migration`` on request): the run tables, with
  ``replicate`` and ``seed`` columns;
* ``outcomes``: one row per replicate, every outcome of sim/outcomes.py;
* ``percentiles``: p5, p25, p50, p75, p95 (and the mean) of each firm's share, capital and
  distance to the kill line per month, and of every market metric per month;
* ``exits``: one row per (replicate, firm): when it crossed the kill line, how and when it
  left the market;
* ``survival``: per tier and month, the probability that a firm has neither crossed the
  kill line nor left the market, with a 95% band (bootstrap over replicates);
* ``resolved.toml``, ``manifest.json`` (seeds, executor, workers, timings, throughput),
  ``summary.md`` and ``plots/*.png`` (sim/ensemble_plots.py).
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import math
import os
import shlex
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sim.executors import TaskError, TaskFailed, make_executor, progress_bar, run_all
from sim.firms import EXITED, IN_MARKET
from sim.model import AIMarket
from sim.outcomes import OUTCOMES, check_names, compute
from sim.results import (
    RunTables,
    atomic_folder,
    default_root,
    manifest_for,
    run_id,
    write_manifest,
    write_resolved,
)
from sim.scenario import Scenario, load_scenario, prepare_scenario
from sim.schema import TIERS

if TYPE_CHECKING:
    from matplotlib.figure import Figure

ENSEMBLE_TABLES = ("firms", "market", "events")
PERCENTILES = (5, 25, 50, 75, 95)
FIRM_METRICS = ("share", "capital_bn", "distance_to_kill_line")
CONFIDENCE = 0.95  # of every interval and band an ensemble, sweep or analysis reports
BOOTSTRAP_RESAMPLES = 1000
EXIT_INTERRUPTED = 130
EXIT_FAILED = 1


# ---------------------------------------------------------------------------- seeds


def replicate_seeds(seed: int, replicates: int) -> list[int]:
    """The integer model seed of every replicate: children of ``SeedSequence(seed)``."""
    children = np.random.SeedSequence(seed).spawn(replicates)
    return [_integer_seed(child) for child in children]


def replicate_seed(seed: int, index: int) -> int:
    """The seed of replicate ``index`` alone (equal to ``replicate_seeds(seed, n)[index]``)."""
    return _integer_seed(np.random.SeedSequence(seed, spawn_key=(index,)))


def _integer_seed(sequence: np.random.SeedSequence) -> int:
    return int(sequence.generate_state(1, dtype=np.uint32)[0])


# ---------------------------------------------------------------------------- one replicate


def run_replicate(
    scenario: Scenario, index: int, record: Iterable[str] = ()
) -> dict[str, pd.DataFrame]:
    """Run replicate ``index`` of the scenario.

    Args:
        scenario: the resolved scenario (users and months as in ``scenario.run``).
        index: the replicate's number, from 0.
        record: optional tables to keep besides firms, market and events (``migration``).

    Returns:
        The run tables with ``replicate`` and ``seed`` columns in front, and ``outcomes``:
        one row of every outcome in sim/outcomes.py.
    """
    seed = replicate_seed(scenario.run.seed, index)
    model = AIMarket(scenario, rng=seed, record=tuple(record))
    model.run()
    tables = model.tables()
    outcomes = {"replicate": index, "seed": seed, **compute(tables)}
    for table in tables.values():
        table.insert(0, "replicate", index)
        table.insert(1, "seed", seed)
    tables["outcomes"] = pd.DataFrame([outcomes])
    return tables


def _replicate_task(
    scenario: Scenario, index: int, record: tuple[str, ...], encode: bool
) -> dict[str, Any]:
    """A replicate as it travels back from a worker: its tables as Arrow (cheap to send,
    concatenated once at the end) and, when the ensemble is kept on disk, as Parquet bytes
    encoded here in the worker, so the process collecting results only writes them."""
    tables = run_replicate(scenario, index, record)
    arrow = {
        name: pa.Table.from_pandas(table, preserve_index=False) for name, table in tables.items()
    }
    parquet = {name: _parquet_bytes(table) for name, table in arrow.items()} if encode else {}
    return {"arrow": arrow, "parquet": parquet}


def _parquet_bytes(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return sink.getvalue().to_pybytes()


def run_outcomes(
    scenario: Scenario,
    index: int,
    overrides: Mapping[str, Any] | None = None,
    names: Sequence[str] | None = None,
) -> dict[str, float]:
    """The outcomes (sim/outcomes.py) of replicate ``index`` of the scenario with overrides:
    the run of a sweep or a sensitivity analysis. The seed is that of replicate ``index``
    of the overridden scenario, so every point of a sweep sees the same random streams."""
    if overrides:
        scenario = scenario.with_overrides(overrides)
    model = AIMarket(scenario, rng=replicate_seed(scenario.run.seed, index), record=())
    model.run()
    return compute(model.tables(), names)


def run_points(
    scenario: Scenario,
    points: Sequence[Mapping[str, Any]],
    replicates: int,
    names: Sequence[str],
    *,
    seeds: Sequence[int],
    point_label: Callable[[int], str],
    workers: int | None = None,
    scheduler: Any = None,
    progress: bool | None = None,
    desc: str = "",
) -> tuple[list[tuple[int, int, int, dict[str, float]]], dict[str, Any]]:
    """The runs of a sweep or a sensitivity analysis: replicates 0 to ``replicates - 1`` of
    the scenario with each point's overrides (:func:`run_outcomes`).

    Args:
        scenario: the base scenario.
        points: the overrides of each point.
        replicates: runs per point.
        names: the outcomes to compute.
        seeds: each point's ensemble seed (``run.seed`` of its scenario), which the seeds of
            its replicates are spawned from.
        point_label: names point ``i`` in the message of a failed run.
        workers, scheduler, progress: as for :func:`run_ensemble`.
        desc: the progress bar's label.

    Returns:
        ``(point, replicate, seed, outcomes)`` of every run, points in order and replicates
        in order within each; and what ran them (executor, workers, runs and timings).

    Raises:
        RunFailed: a run raised; the message names its point, replicate and seed.
    """
    tasks = [(index, point, names) for point in points for index in range(replicates)]
    began = time.perf_counter()
    try:
        results, described = run_all(
            run_outcomes,
            scenario,
            tasks,
            workers=workers,
            scheduler=scheduler,
            progress=progress,
            desc=desc,
        )
    except TaskFailed as exc:
        number, index = divmod(exc.position, replicates)
        seed = replicate_seed(seeds[number], index)
        raise RunFailed(
            f"{point_label(number)}, replicate {index} (seed {seed})", exc.error, exc.others
        ) from None
    seconds = time.perf_counter() - began
    runs = []
    for position, values in enumerate(results):
        number, index = divmod(position, replicates)
        runs.append((number, index, replicate_seed(seeds[number], index), values))
    return runs, {
        **described,
        "runs": len(tasks),
        "run_seconds": round(seconds, 3),
        "runs_per_second": round(len(tasks) / seconds, 3) if seconds else None,
    }


# ---------------------------------------------------------------------------- errors


class RunFailed(RuntimeError):
    """A run of an ensemble, sweep or sensitivity analysis raised; the message names it."""

    def __init__(self, what: str, error: TaskError, others: int = 0) -> None:
        self.error, self.others = error, others
        more = f" (and {others} more)" if others else ""
        super().__init__(f"{what} failed: {error.message}{more}")


class ReplicateFailed(RunFailed):
    """A replicate of an ensemble raised; the message names it by number and seed."""

    def __init__(self, index: int, seed: int, error: TaskError, others: int = 0) -> None:
        self.index, self.seed = index, seed
        super().__init__(f"replicate {index} (seed {seed})", error, others)


class EnsembleInterrupted(KeyboardInterrupt):
    """Ctrl-C during an ensemble: the finished replicates are kept in ``folder``."""

    def __init__(self, folder: Path | None, finished: int, total: int) -> None:
        self.folder, self.finished, self.total = folder, finished, total
        super().__init__(f"{finished} of {total} replicates finished")


class PartialEnsembleExists(ValueError):
    """An interrupted ensemble of the same scenario waits to be resumed."""


# ---------------------------------------------------------------------------- store


class ReplicateStore:
    """The finished replicates of an ensemble in progress, one folder each.

    Each replicate is written into a hidden temporary folder and renamed into place, so a
    replicate folder that exists is complete.

    Args:
        folder: the partial ensemble folder; replicates go into its ``replicates/``.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.root = folder / "replicates"
        if self.root.is_dir():  # what an interrupted write left behind
            for leftover in self.root.glob(".*"):
                shutil.rmtree(leftover, ignore_errors=True)

    def path(self, index: int) -> Path:
        """The folder of replicate ``index`` (present only once it is complete)."""
        return self.root / f"{index:06d}"

    def finished(self) -> list[int]:
        """Numbers of the replicates already on disk."""
        if not self.root.is_dir():
            return []
        return sorted(int(p.name) for p in self.root.iterdir() if p.name.isdigit())

    def write(self, index: int, parquet: Mapping[str, bytes]) -> None:
        """Store one replicate's tables (Parquet bytes by table name) atomically."""
        if self.path(index).exists():
            return
        self.root.mkdir(parents=True, exist_ok=True)
        temporary = Path(tempfile.mkdtemp(prefix=f".{index:06d}.", dir=self.root))
        try:
            for name, data in parquet.items():
                (temporary / f"{name}.parquet").write_bytes(data)
            os.replace(temporary, self.path(index))
        except BaseException:
            shutil.rmtree(temporary, ignore_errors=True)
            raise

    def read(self, index: int, names: Iterable[str]) -> dict[str, pa.Table]:
        """One replicate's tables."""
        return {name: pq.read_table(self.path(index) / f"{name}.parquet") for name in names}


def partial_folder(root: Path, scenario: Scenario, tables: Sequence[str]) -> Path:
    """Where an unfinished ensemble of this scenario keeps its replicates.

    The name follows from the scenario's digest (which covers seed, users, months and the
    number of replicates) and the tables kept, so a resumed ensemble finds it again.
    """
    key = json.dumps({"scenario": scenario.digest(), "tables": sorted(tables)}, sort_keys=True)
    digest = _sha(key)[:12]
    run = scenario.run
    return root / scenario.name / f"ensemble-partial-r{run.replicates}-u{run.users}-{digest}"


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# ---------------------------------------------------------------------------- the result


@dataclass
class EnsembleResult(RunTables):
    """A finished ensemble: its tables, one row of outcomes per replicate, and summaries.

    Attributes:
        scenario: the scenario as run (``run.replicates`` is the number of replicates).
        seeds: the model seed of each replicate, in replicate order.
        tables: ``firms``, ``market``, ``events`` (and ``migration``), with ``replicate`` and
            ``seed`` columns, concatenated in replicate order.
        outcomes: one row per replicate: ``replicate``, ``seed`` and every outcome.
        run: executor, workers, timings and throughput (what the manifest records).
        folder: the results folder, when saved.
    """

    scenario: Scenario
    seeds: list[int]
    tables: dict[str, pd.DataFrame]
    outcomes: pd.DataFrame
    run: dict[str, Any] = field(default_factory=dict)
    folder: Path | None = None

    @property
    def replicates(self) -> int:
        """Number of replicates."""
        return len(self.seeds)

    @functools.cached_property
    def percentiles(self) -> pd.DataFrame:
        """Percentiles of firm and market metrics per month (see :func:`percentiles`)."""
        return percentiles(self.firms, self.market)

    @functools.cached_property
    def exits(self) -> pd.DataFrame:
        """One row per (replicate, firm): crossing, exit kind and month (see :func:`exits`)."""
        return exits(self.firms, self.events)

    @functools.cached_property
    def survival(self) -> pd.DataFrame:
        """Survival curves by tier with 95% bands (see :func:`survival_curves`)."""
        return survival_curves(self.exits, self.firms)

    def firm_summary(self) -> pd.DataFrame:
        """Per firm: probabilities of crossing and of each exit, median exit month."""
        return firm_summary(self.exits)

    def tier_survival(self) -> pd.DataFrame:
        """Per tier: share of firms still in the market at the horizon, 95% Wilson interval."""
        return tier_survival(self.exits)

    def outcome_summary(self) -> pd.DataFrame:
        """Mean, standard deviation and percentiles of every outcome over the replicates."""
        return outcome_summary(self.outcomes)

    def plot(self, name: str) -> Figure:
        """One ensemble plot by name: fan_share, fan_capital, survival, exit_months,
        exit_kinds."""
        from sim import ensemble_plots

        return ensemble_plots.ensemble_plot(self, name)


# ---------------------------------------------------------------------------- running


def run_ensemble(
    scenario: Scenario | str | Path,
    replicates: int | None = None,
    *,
    users: int | None = None,
    months: int | None = None,
    seed: int | None = None,
    workers: int | None = None,
    scheduler: Any = None,
    out: str | Path | None = None,
    resume: bool = False,
    migration: bool = False,
    plots: bool = True,
    progress: bool | None = None,
    on_replicate: Callable[[int], None] | None = None,
) -> EnsembleResult:
    """Run an ensemble of seeded replicates.

    Args:
        scenario: a loaded Scenario, or a path or name to load.
        replicates: number of replicates (default: the scenario's ``run.replicates``).
        users, months, seed: run-size overrides (default: the scenario's).
        workers: local processes (default: one per core; 1 runs in this process).
        scheduler: a Dask scheduler address (``tcp://host:8786``) or Client; replaces
            the local processes.
        out: results root; when given, replicates are kept on disk as they finish and the
            ensemble is written to ``<out>/<scenario>/ensemble-<run-id>/``. Without it
            everything stays in memory.
        resume: finish an interrupted ensemble of the same scenario under ``out``.
        migration: keep the migration table too (large; off by default).
        plots: draw the plots into the results folder.
        progress: show a progress bar (default: when stderr is a terminal).
        on_replicate: called with each replicate's number once it is stored.

    Raises:
        ReplicateFailed: a replicate raised (the finished ones stay on disk).
        EnsembleInterrupted: Ctrl-C (the finished ones stay on disk).
        PartialEnsembleExists: an interrupted ensemble waits under ``out`` and ``resume``
            is False.
    """
    began = time.perf_counter()
    scenario = prepare_scenario(
        scenario, replicates=replicates, users=users, months=months, seed=seed
    )
    total = scenario.run.replicates
    seeds = replicate_seeds(scenario.run.seed, total)
    record = ("migration",) if migration else ()
    names = [*ENSEMBLE_TABLES, *record, "outcomes"]
    store = ReplicateStore(partial_folder(Path(out), scenario, names)) if out is not None else None
    done = store.finished() if store else []
    if done and not resume:
        raise PartialEnsembleExists(
            f"an interrupted ensemble of this scenario ({len(done)} of {total} replicates) "
            f"is in {store.folder}: resume it (--resume) or remove that folder"
        )
    todo = sorted(set(range(total)) - set(done))
    kept: dict[int, Mapping[str, pa.Table]] = {}
    try:
        run = _run_replicates(
            scenario,
            todo,
            record,
            store,
            kept,
            progress=progress_bar(
                total, initial=len(done), desc=scenario.name, unit="replicate", enabled=progress
            ),
            workers=workers,
            scheduler=scheduler,
            on_replicate=on_replicate,
        )
        run["replicates_resumed"] = len(done)
        tables = _concatenate(
            lambda index: kept[index] if index in kept else store.read(index, names),
            total,
            names,
        )
        result = EnsembleResult(
            scenario=scenario,
            seeds=seeds,
            tables={name: tables[name] for name in names if name != "outcomes"},
            outcomes=tables["outcomes"],
            run=run,
        )
        if store is not None:
            result.folder = save_ensemble(result, Path(out), plots=plots, began=began)
            shutil.rmtree(store.folder, ignore_errors=True)
    except KeyboardInterrupt:
        kept_on_disk = len(store.finished()) if store is not None else 0
        raise EnsembleInterrupted(
            store.folder if kept_on_disk else None, kept_on_disk or len(kept), total
        ) from None
    result.run["wall_seconds"] = round(time.perf_counter() - began, 3)
    return result


def _run_replicates(
    scenario: Scenario,
    todo: Sequence[int],
    record: tuple[str, ...],
    store: ReplicateStore | None,
    kept: dict[int, Mapping[str, pa.Table]],
    *,
    progress: Any,
    workers: int | None,
    scheduler: Any,
    on_replicate: Callable[[int], None] | None,
) -> dict[str, Any]:
    """Run the replicates in ``todo``: each finished one is stored (when there is a store)
    and kept in ``kept``. Returns what ran them, for the manifest.

    Raises:
        ReplicateFailed: for the first failing replicate, once those running have finished.
    """
    described: dict[str, Any] = {"executor": "none", "workers": 0}
    began = time.perf_counter()
    try:
        with progress as bar:
            if todo:
                # connect first: nothing is written for an executor that cannot start
                with make_executor(workers, scheduler) as executor:
                    described = executor.describe()
                    if store is not None:
                        _describe_partial(store.folder, scenario, record)
                    tasks = [(index, record, store is not None) for index in todo]
                    for position, payload in executor.successes(_replicate_task, scenario, tasks):
                        index = todo[position]
                        if store is not None:
                            store.write(index, payload["parquet"])
                        kept[index] = payload["arrow"]
                        bar.update(1)
                        if on_replicate is not None:
                            on_replicate(index)
    except TaskFailed as exc:
        index = todo[exc.position]
        seed = replicate_seed(scenario.run.seed, index)
        raise ReplicateFailed(index, seed, exc.error, exc.others) from None
    seconds = time.perf_counter() - began
    return {
        **described,
        "replicates_run": len(todo),
        "run_seconds": round(seconds, 3),
        "replicates_per_second": round(len(todo) / seconds, 3) if todo and seconds else None,
    }


def _describe_partial(folder: Path, scenario: Scenario, record: Sequence[str]) -> None:
    """What the partial folder holds, for a reader who finds it after an interruption."""
    note = folder / "partial.json"
    if note.exists():
        return
    folder.mkdir(parents=True, exist_ok=True)
    write_resolved(folder, scenario)
    note.write_text(
        json.dumps(
            {
                "scenario": scenario.name,
                "scenario_sha256": scenario.digest(),
                "replicates": scenario.run.replicates,
                "users": scenario.run.users,
                "months": scenario.run.months,
                "seed": scenario.run.seed,
                "tables": [*ENSEMBLE_TABLES, *record],
                "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
            },
            indent=2,
        ),
        encoding="utf-8",
    )


def _concatenate(
    read: Callable[[int], Mapping[str, pa.Table]], total: int, names: Sequence[str]
) -> dict[str, pd.DataFrame]:
    """Every replicate's tables, one after the other in replicate order."""
    parts: dict[str, list[pa.Table]] = {name: [] for name in names}
    for index in range(total):
        tables = read(index)
        for name in names:
            parts[name].append(tables[name])
    # an empty table's text columns have no type: unify them with the others'
    return {
        name: pa.concat_tables(tables, promote_options="permissive").to_pandas()
        for name, tables in parts.items()
    }


# ---------------------------------------------------------------------------- summaries


def percentiles(firms: pd.DataFrame, market: pd.DataFrame) -> pd.DataFrame:
    """Percentiles over replicates, tidy: one row per (scope, firm, month, metric).

    ``scope`` is ``firm`` (share, capital_bn and distance_to_kill_line of each firm) or
    ``market`` (every numeric market column; ``firm`` is empty). Columns: ``mean``, ``p5``,
    ``p25``, ``p50``, ``p75``, ``p95``.
    """
    quantiles = [p / 100 for p in PERCENTILES]
    labels = [f"p{p}" for p in PERCENTILES]
    dates = firms.drop_duplicates("month").set_index("month")["date"]
    market_metrics = [
        column
        for column in market.columns
        if column not in ("replicate", "seed", "month")
        and pd.api.types.is_numeric_dtype(market[column])
    ]
    pieces = []
    for scope, table, keys, metrics in (
        ("firm", firms, ["firm", "month"], FIRM_METRICS),
        ("market", market, ["month"], market_metrics),
    ):
        for metric in metrics:
            grouped = table.groupby(keys, sort=False)[metric]
            spread = grouped.quantile(quantiles).unstack()
            spread.columns = labels
            spread.insert(0, "mean", grouped.mean())
            spread = spread.reset_index()
            spread.insert(0, "scope", scope)
            spread["metric"] = metric
            pieces.append(spread)
    table = pd.concat(pieces, ignore_index=True)
    table["firm"] = table["firm"].fillna("")
    table["date"] = table["month"].map(dates)
    return table[["scope", "firm", "month", "date", "metric", "mean", *labels]]


def exits(firms: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    """One row per (replicate, firm): how each firm fared.

    Columns: ``replicate``, ``seed``, ``firm``, ``name``, ``tier``; ``status_end`` (status at
    the horizon), ``share_end``, ``capital_end_bn``; ``crossed_month`` (first month past the
    kill line, missing if never); ``exit`` (acquired, pivoted, closed or empty) and
    ``exit_month``; ``end_month``: the earlier of crossing and exit (missing if neither).
    """
    last = firms[firms["month"] == firms["month"].max()]
    table = last[
        [
            "replicate",
            "seed",
            "firm",
            "name",
            "tier",
            "status",
            "status_month",
            "share",
            "capital_bn",
        ]
    ].rename(columns={"status": "status_end", "share": "share_end", "capital_bn": "capital_end_bn"})
    crossed = (
        events[events["kind"] == "crossed_kill_line"]
        .groupby(["replicate", "firm"])["month"]
        .min()
        .rename("crossed_month")
    )
    table = table.merge(crossed, on=["replicate", "firm"], how="left")
    gone = table["status_end"].isin(EXITED)
    table["exit"] = table["status_end"].where(gone, "")
    table["exit_month"] = table["status_month"].where(gone)
    table["end_month"] = table[["crossed_month", "exit_month"]].min(axis=1)
    for column in ("crossed_month", "exit_month", "end_month"):
        table[column] = table[column].astype("Int64")
    return table.drop(columns="status_month").reset_index(drop=True)


def survival_curves(exits_table: pd.DataFrame, firms: pd.DataFrame) -> pd.DataFrame:
    """Per tier and month, the probability that a firm of the tier has neither crossed the
    kill line nor left the market, with a 95% band.

    The curve is the mean over replicates of each replicate's share of the tier's firms
    still clear; the band is the 2.5-97.5 percentile range of that mean over bootstrap
    resamples of whole replicates (firms of one replicate are not independent).
    """
    months = np.sort(firms["month"].unique())
    dates = firms.drop_duplicates("month").set_index("month")["date"]
    rng = np.random.default_rng(0)  # a fixed stream: the band is part of the results
    alpha = (1.0 - CONFIDENCE) / 2.0
    pieces = []
    for tier in _tiers_present(exits_table):
        members = exits_table[exits_table["tier"] == tier]
        end = members.pivot(index="replicate", columns="firm", values="end_month")
        end = end.astype("Float64").fillna(np.inf).to_numpy(dtype=float)
        clear = (end[:, :, None] > months[None, None, :]).mean(axis=1)  # replicate x month
        runs = clear.shape[0]
        weights = rng.multinomial(runs, np.full(runs, 1.0 / runs), size=BOOTSTRAP_RESAMPLES)
        boot = weights @ clear / runs
        low, high = np.quantile(boot, [alpha, 1.0 - alpha], axis=0)
        pieces.append(
            pd.DataFrame(
                {
                    "tier": tier,
                    "month": months,
                    "date": dates.reindex(months).to_numpy(),
                    "survival": clear.mean(axis=0),
                    "low": low,
                    "high": high,
                    "firms": end.shape[1],
                    "replicates": runs,
                }
            )
        )
    return pd.concat(pieces, ignore_index=True)


def wilson_interval(
    successes: float, trials: float, confidence: float = CONFIDENCE
) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion."""
    if trials <= 0:
        return (math.nan, math.nan)
    from statistics import NormalDist

    z = NormalDist().inv_cdf(0.5 + confidence / 2.0)
    p = successes / trials
    denominator = 1.0 + z * z / trials
    centre = (p + z * z / (2.0 * trials)) / denominator
    half = z * math.sqrt(p * (1.0 - p) / trials + z * z / (4.0 * trials * trials)) / denominator
    low = 0.0 if successes <= 0 else max(0.0, centre - half)
    high = 1.0 if successes >= trials else min(1.0, centre + half)
    return (low, high)


def tier_survival(exits_table: pd.DataFrame) -> pd.DataFrame:
    """Per tier: the share of its firms still in the market at the horizon, pooled over
    replicates and firms, with a 95% Wilson interval, and the share that crossed the kill
    line. The interval treats every (replicate, firm) as a trial; firms of one replicate
    share a market, so it is a lower bound on the uncertainty."""
    rows = []
    for tier in _tiers_present(exits_table):
        members = exits_table[exits_table["tier"] == tier]
        alive = int(members["status_end"].isin(IN_MARKET).sum())
        trials = len(members)
        low, high = wilson_interval(alive, trials)
        rows.append(
            {
                "tier": tier,
                "firms": members["firm"].nunique(),
                "trials": trials,
                "survival": alive / trials,
                "low": low,
                "high": high,
                "crossed": float(members["crossed_month"].notna().mean()),
            }
        )
    return pd.DataFrame(rows)


def firm_summary(exits_table: pd.DataFrame) -> pd.DataFrame:
    """Per firm: probabilities of crossing the kill line, of each exit kind and of being in
    the market at the horizon; median exit month (over replicates where it left); median
    share at the horizon."""
    grouped = exits_table.groupby("firm", sort=False)
    table = pd.DataFrame(
        {
            "name": grouped["name"].first(),
            "tier": grouped["tier"].first(),
            "p_crossed": grouped["crossed_month"].agg(lambda s: s.notna().mean()),
            **{
                f"p_{kind}": grouped["exit"].agg(lambda s, kind=kind: (s == kind).mean())
                for kind in EXITED
            },
            "p_in_market": grouped["status_end"].agg(lambda s: s.isin(IN_MARKET).mean()),
            "median_exit_month": grouped["exit_month"]
            .agg(lambda s: float(s.dropna().median()) if s.notna().any() else math.nan)
            .astype(float),
            "median_share_end": grouped["share_end"].median(),
        }
    )
    order = {tier: rank for rank, tier in enumerate(TIERS)}
    table = table.assign(_rank=table["tier"].map(order)).sort_values(
        ["_rank", "median_share_end"], ascending=[True, False], kind="stable"
    )
    return table.drop(columns="_rank").reset_index()


def outcome_summary(outcomes: pd.DataFrame) -> pd.DataFrame:
    """Mean, standard deviation and p5/p50/p95 of each outcome over the replicates."""
    columns = [name for name in OUTCOMES if name in outcomes]
    values = outcomes[columns]
    return (
        pd.DataFrame(
            {
                "mean": values.mean(),
                "sd": values.std(ddof=1) if len(values) > 1 else 0.0,
                "p5": values.quantile(0.05),
                "p50": values.quantile(0.5),
                "p95": values.quantile(0.95),
            }
        )
        .rename_axis("outcome")
        .reset_index()
    )


def _tiers_present(table: pd.DataFrame) -> list[str]:
    present = set(table["tier"])
    return [tier for tier in TIERS if tier in present] + sorted(present - set(TIERS))


# ---------------------------------------------------------------------------- saving


def save_ensemble(
    result: EnsembleResult, out: str | Path, *, plots: bool = True, began: float | None = None
) -> Path:
    """Write the ensemble's folder ``<out>/<scenario>/ensemble-<run-id>/`` atomically.

    ``began`` (a ``time.perf_counter()`` reading) lets the manifest record the wall time
    from the start of the ensemble to the moment the manifest is written."""
    scenario = result.scenario
    final = Path(out) / scenario.name / f"ensemble-{run_id(scenario, scenario.run.seed)}"

    def fill(folder: Path) -> None:
        for name, table in result.tables.items():
            table.to_parquet(folder / f"{name}.parquet", index=False)
        result.outcomes.to_parquet(folder / "outcomes.parquet", index=False)
        result.percentiles.to_parquet(folder / "percentiles.parquet", index=False)
        result.exits.to_parquet(folder / "exits.parquet", index=False)
        result.survival.to_parquet(folder / "survival.parquet", index=False)
        write_resolved(folder, scenario)
        saved: list[Path] = []
        if plots:
            from sim.ensemble_plots import save_ensemble_plots

            saved = save_ensemble_plots(result, folder / "plots")
        write_manifest(
            folder,
            manifest_for(
                scenario,
                kind="ensemble",
                replicates=result.replicates,
                seeds=result.seeds,
                tables={name: len(table) for name, table in result.tables.items()},
                **result.run,
                **(
                    {"wall_seconds": round(time.perf_counter() - began, 3)}
                    if began is not None
                    else {}
                ),
            ),
        )
        (folder / "summary.md").write_text(summary_markdown(result, saved), encoding="utf-8")

    return atomic_folder(final, fill)


def summary_markdown(result: EnsembleResult, plots: Iterable[Path] = ()) -> str:
    """The ensemble's summary.md: facts, survival by tier, firms, outcomes, plots."""
    scenario, run = result.scenario, result.run
    rate = run.get("replicates_per_second")
    facts = {
        "scenario": f"`{scenario.name}` ({scenario.title})",
        "claims": ", ".join(scenario.claims) or "none",
        "replicates": f"{result.replicates} (seeds spawned from {scenario.run.seed})",
        "simulated users": f"{scenario.run.users:,}",
        "months": scenario.run.months,
        "executor": f"{run.get('executor')} ({run.get('workers')} workers)",
        "throughput": f"{rate:.2f} replicates/s" if rate else "n/a (all replicates resumed)",
    }
    lines = [f"# Ensemble: {scenario.title}", ""]
    lines += [f"- **{key}**: {value}" for key, value in facts.items()]

    tiers = result.tier_survival()
    lines += [
        "",
        "## Survival by tier at the horizon",
        "",
        "Share of the tier's firms still in the market at the last month, pooled over "
        "replicates, with a 95% Wilson interval (firms of one replicate share a market, so "
        "the interval is a lower bound on the uncertainty); and the share that crossed the "
        "kill line at some month.",
        "",
        "| tier | firms | in market | 95% interval | crossed the kill line |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {row.tier} | {row.firms} | {row.survival:.1%} | {row.low:.1%} - {row.high:.1%} "
        f"| {row.crossed:.1%} |"
        for row in tiers.itertuples()
    ]

    firms = result.firm_summary()
    lines += [
        "",
        "## Firms",
        "",
        "Probability over replicates of crossing the kill line and of each way of leaving "
        "the market; median exit month among the replicates in which the firm left.",
        "",
        "| firm | tier | crossed | acquired | pivoted | closed | in market at end "
        "| median exit month | median share at end |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in firms.itertuples():
        exit_month = "-" if math.isnan(row.median_exit_month) else f"{row.median_exit_month:.0f}"
        lines.append(
            f"| {row.name} | {row.tier} | {row.p_crossed:.0%} | {row.p_acquired:.0%} "
            f"| {row.p_pivoted:.0%} | {row.p_closed:.0%} | {row.p_in_market:.0%} "
            f"| {exit_month} | {row.median_share_end:.1%} |"
        )

    lines += [
        "",
        "## Outcomes",
        "",
        "| outcome | mean | sd | p5 | p50 | p95 |",
        "|---|---|---|---|---|---|",
    ]
    for row in result.outcome_summary().itertuples():
        lines.append(
            f"| {row.outcome} | {row.mean:.3f} | {row.sd:.3f} | {row.p5:.3f} | {row.p50:.3f} "
            f"| {row.p95:.3f} |"
        )
    plots = list(plots)
    if plots:
        lines += ["", "## Plots", ""]
        lines += [f"![{path.stem}](plots/{path.name})" for path in plots]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------- command line


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
    from sim.cli import UsageError

    if args.workers is not None and args.workers < 1:
        raise UsageError(f"--workers must be at least 1, not {args.workers}")
    return {
        "workers": args.workers,
        "scheduler": args.scheduler,
        "progress": False if args.quiet else None,
    }


def add_outcome_argument(parser: argparse.ArgumentParser, purpose: str) -> None:
    """``--outcome NAME`` (repeatable), for the outcomes to ``purpose`` (keep, analyse)."""
    parser.add_argument(
        "--outcome",
        action="append",
        metavar="NAME",
        help=f"outcomes to {purpose} (repeatable; default all: {', '.join(OUTCOMES)})",
    )


def outcome_names(args: argparse.Namespace) -> list[str] | None:
    """The ``--outcome`` names, checked (None: all of them)."""
    from sim.cli import UsageError

    try:
        return check_names(args.outcome) if args.outcome else None
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def keyed_params(texts: Iterable[str], parse: Callable[[str], tuple[str, Any]]) -> dict[str, Any]:
    """The ``--param`` values by key path, each read by ``parse`` into ``(key, value)``; text
    it cannot read (ValueError) and a key given twice are usage errors."""
    from sim.cli import UsageError

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


def run_command(action: Callable[[], int], resume: str = "") -> int:
    """Run a multi-run command, turning its failures into one line and an exit code:
    a failed run 1, Ctrl-C 130 (with ``resume``, the command that finishes the work), an
    unreachable scheduler or a waiting partial ensemble 2."""
    from sim.cli import UsageError

    try:
        return action()
    except RunFailed as exc:
        print(f"killline: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except (ConnectionError, PartialEnsembleExists) as exc:
        raise UsageError(str(exc)) from None
    except EnsembleInterrupted as exc:
        if exc.folder is not None and exc.finished:
            print(
                f"killline: interrupted: {exc.finished} of {exc.total} replicates kept in "
                f"{exc.folder}\nkillline: to finish them: {resume}",
                file=sys.stderr,
            )
        else:
            print("killline: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def resume_command(args: argparse.Namespace) -> str:
    """The ``killline ensemble ... --resume`` line that finishes an interrupted ensemble."""
    words = ["killline", "ensemble", args.scenario]
    for flag in ("replicates", "seed", "users", "months", "out", "workers", "scheduler"):
        value = getattr(args, flag, None)
        if value is not None:
            words += [f"--{flag}", str(value)]
    for item in args.set or []:
        words += ["--set", item]
    words += [
        flag
        for flag in ("--migration", "--no-plots", "--quiet")
        if getattr(args, flag[2:].replace("-", "_"))
    ]
    return shlex.join([*words, "--resume"])


def cmd_ensemble(args: argparse.Namespace) -> int:
    """``killline ensemble``: run the replicates, save the folder, print survival by tier."""
    from sim.cli import scenario_overrides

    scenario = load_scenario(args.scenario, scenario_overrides(args))

    def action() -> int:
        result = run_ensemble(
            scenario,
            args.replicates,
            out=args.out if args.out is not None else default_root(),
            resume=args.resume,
            migration=args.migration,
            plots=not args.no_plots,
            **executor_options(args),
        )
        run = result.run
        rate = run.get("replicates_per_second")
        print(
            f"{scenario.title}  ({scenario.name}, {result.replicates} replicates, "
            f"{result.scenario.run.users:,} users, {result.scenario.run.months} months, "
            f"{run['executor']} x{run['workers']}, {run['wall_seconds']:.1f} s"
            + (f", {rate:.2f} replicates/s)" if rate else ")")
        )
        tiers = result.tier_survival()
        for row in tiers.itertuples():
            print(
                f"  {row.tier:12} in market at end {row.survival:6.1%}  "
                f"(95% {row.low:.1%} - {row.high:.1%}), crossed the kill line {row.crossed:.1%}"
            )
        print(f"results: {result.folder}")
        return 0

    return run_command(action, resume_command(args))


def register_commands(subparsers: Any) -> None:
    """Add ``ensemble`` and ``sweep`` to the killline command line."""
    from sim.cli import add_scenario_arguments
    from sim.sweep import register_sweep

    parser = subparsers.add_parser(
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
    parser.add_argument("--no-plots", action="store_true", help="skip the plots")
    parser.set_defaults(handler=cmd_ensemble)
    register_sweep(subparsers)
