"""Ensembles: many seeded replicates of one scenario, and what they say together.

Replicate ``i`` runs the model with the seed of replicate ``i`` (sim/experiments/engine.py),
so the tables are identical whether the replicates run serially, on local processes or on a
Dask cluster, and replicate ``i`` is the same in an ensemble of 50 and of 500.

    from sim.experiments import run_ensemble
    result = run_ensemble("sprint_race", replicates=200, users=20_000)
    result.tier_survival()          # per tier, share still in the market, 95% interval
    result.plot("survival")         # a matplotlib Figure

An ensemble saved to a folder (``out=``, and always from the command line) keeps every
finished replicate on disk as it finishes (sim/experiments/store.py); an interrupted
ensemble (Ctrl-C) keeps them and ``resume=True`` runs only the missing ones. When all are
done the tables are concatenated in replicate order into
``<out>/<scenario>/ensemble-<run-id>/``:

* ``firms``, ``market``, ``events`` (and ``migration`` on request): the run tables, with
  ``replicate`` and ``seed`` columns;
* ``outcomes``: one row per replicate, every outcome of sim/outcomes.py;
* ``percentiles``, ``survival``: the summaries of sim/experiments/stats.py, and ``exits``:
  the firm fates (sim/fates.py);
* ``parameters`` (with a posterior, ``posterior=``): one row per replicate, the parameters
  drawn for it (sim/posterior.py); the manifest records the posterior's file, SHA-256 and
  meta;
* ``resolved.toml``, ``manifest.json`` (seeds, executor, workers, timings, throughput),
  ``summary.md`` (sim/reports.py) and ``plots/*.png`` (sim/plots/ensemble.py), written by
  sim/folder.py.
"""

from __future__ import annotations

import contextlib
import functools
import shutil
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import pandas as pd
import pyarrow as pa

from sim import folder
from sim.experiments import stats
from sim.experiments.engine import (
    ReplicateFailed,
    open_executor,
    replicate_seed,
    replicate_seeds,
    simulate,
    stream,
)
from sim.experiments.executors import TaskError, WorkerLost, progress_bar
from sim.experiments.store import (
    EnsembleInterrupted,
    PartialEnsembleExists,
    ReplicateStore,
    WorkLost,
    check_resume,
    concatenate,
    flat_settings,
    locked,
    parquet_bytes,
    partial_folder,
)
from sim.fates import fates
from sim.outcomes import compute
from sim.posterior import (
    Posterior,
    as_posterior,
    check_posterior,
    parameters_table,
    posterior_facts,
    posterior_settings,
    replicate_scenario,
)
from sim.results import Result
from sim.scenario import Scenario, prepare_scenario

if TYPE_CHECKING:
    from matplotlib.figure import Figure

ENSEMBLE_TABLES = ("firms", "market", "events")


# ---------------------------------------------------------------------------- the result


@dataclass(kw_only=True)
class EnsembleResult(Result):
    """A finished ensemble: its tables, one row of outcomes per replicate, and summaries.

    Attributes:
        scenario: the scenario as run (``run.replicates`` is the number of replicates).
        tables: ``firms``, ``market``, ``events`` (and ``migration``), with ``replicate`` and
            ``seed`` columns, concatenated in replicate order; ``outcomes``, one row per
            replicate: ``replicate``, ``seed`` and every outcome; and, with a posterior,
            ``parameters``: one row per replicate, the parameters it ran with.
        facts: replicates, seeds, executor, workers, timings and throughput (what the
            manifest records).
        folder: the results folder, when saved.
    """

    kind: ClassVar[str] = "ensemble"
    folder: Path | None = None

    @property
    def seeds(self) -> list[int]:
        """The model seed of each replicate, in replicate order."""
        return self.facts["seeds"]

    @property
    def replicates(self) -> int:
        """Number of replicates."""
        return len(self.seeds)

    @property
    def outcomes(self) -> pd.DataFrame:
        """One row per replicate: ``replicate``, ``seed`` and every outcome."""
        return self.tables["outcomes"]

    @functools.cached_property
    def percentiles(self) -> pd.DataFrame:
        """Percentiles of firm and market metrics per month (see stats.percentiles)."""
        return stats.percentiles(self.firms, self.market)

    @functools.cached_property
    def exits(self) -> pd.DataFrame:
        """The firm fates (sim.fates.fates): one row per (replicate, firm), whether and when
        it crossed the kill line, how and when it left, its status at the horizon."""
        return fates(self.firms, self.events)

    @functools.cached_property
    def survival(self) -> pd.DataFrame:
        """Survival curves by tier with 95% bands (see stats.survival_curves)."""
        return stats.survival_curves(self.exits, self.firms)

    def firm_summary(self) -> pd.DataFrame:
        """Per firm: probabilities of crossing and of each exit, median exit month."""
        return stats.firm_summary(self.exits)

    def tier_survival(self) -> pd.DataFrame:
        """Per tier: share of firms still in the market at the horizon, 95% Wilson interval."""
        return stats.tier_survival(self.exits)

    def outcome_summary(self) -> pd.DataFrame:
        """Mean, standard deviation and percentiles of every outcome over the replicates."""
        return stats.outcome_summary(self.outcomes)

    def summary_tables(self) -> dict[str, pd.DataFrame]:
        """The run tables and outcomes with every summary: what plots and reports read."""
        return {
            **self.tables,
            "percentiles": self.percentiles,
            "exits": self.exits,
            "survival": self.survival,
            "firm_summary": self.firm_summary(),
            "tier_survival": self.tier_survival(),
            "outcome_summary": self.outcome_summary(),
        }

    def plot(self, name: str) -> Figure:
        """One ensemble plot by name: fan_share, fan_capital, fan_distance, survival,
        exit_months, exit_kinds."""
        from sim.plots.ensemble import ensemble_plot

        return ensemble_plot(self.summary_tables(), name)


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
    seed, tables = simulate(scenario, index, record)
    outcomes = {"replicate": index, "seed": seed, **compute(tables)}
    for table in tables.values():
        table.insert(0, "replicate", index)
        table.insert(1, "seed", seed)
    tables["outcomes"] = pd.DataFrame([outcomes])
    return tables


def replicate_task(
    scenario: Scenario,
    index: int,
    record: tuple[str, ...],
    encode: bool,
    posterior: Posterior | None = None,
) -> dict[str, Any]:
    """A replicate as it travels back from a worker: its tables as Arrow (cheap to send,
    concatenated once at the end) and, when the ensemble is kept on disk, as Parquet bytes
    encoded here in the worker, so the process collecting results only writes them. With a
    posterior, the replicate runs with the parameters drawn for it (sim/posterior.py)."""
    scenario, _ = replicate_scenario(scenario, index, posterior)
    tables = run_replicate(scenario, index, record)
    arrow = {
        name: pa.Table.from_pandas(table, preserve_index=False) for name, table in tables.items()
    }
    parquet = {name: parquet_bytes(table) for name, table in arrow.items()} if encode else {}
    return {"arrow": arrow, "parquet": parquet}


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
    posterior: Posterior | str | Path | None = None,
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
        posterior: a Posterior, a posterior file's path or ``"default"``
            (seeds/posterior.toml): replicate ``i`` runs with the parameters drawn for it,
            ``Posterior.draw(run.seed, i)``, but for the keys the scenario sets away from
            their default (sim/posterior.py); the ``parameters`` table records them.
            Without it, the scenario's values, and no ``parameters`` table.

    Raises:
        ScenarioError: a bad posterior file, or draws the scenario cannot take.
        ReplicateFailed: a replicate raised (the finished ones stay on disk).
        EnsembleInterrupted: Ctrl-C (the finished ones stay on disk).
        PartialEnsembleExists: an interrupted ensemble waits under ``out`` and ``resume``
            is False.
    """
    began = time.perf_counter()
    scenario = prepare_scenario(
        scenario, replicates=replicates, users=users, months=months, seed=seed
    )
    posterior = as_posterior(posterior)
    check_posterior(scenario, posterior)
    record = ("migration",) if migration else ()
    names = [*ENSEMBLE_TABLES, *record, "outcomes"]
    settings = posterior_settings(posterior)
    store = (
        ReplicateStore(partial_folder(Path(out), scenario, names, settings), settings)
        if out is not None
        else None
    )
    with locked(store.folder) if store is not None else contextlib.nullcontext():
        result = _run_and_save(scenario, store, names, record, resume=resume, out=out,
                               plots=plots, progress=progress, workers=workers,
                               scheduler=scheduler, on_replicate=on_replicate,
                               posterior=posterior)  # fmt: skip
    result.facts["wall_seconds"] = round(time.perf_counter() - began, 3)
    return result


def _run_and_save(
    scenario: Scenario,
    store: ReplicateStore | None,
    names: Sequence[str],
    record: tuple[str, ...],
    *,
    resume: bool,
    out: str | Path | None,
    plots: bool,
    progress: bool | None,
    workers: int | None,
    scheduler: Any,
    on_replicate: Callable[[int], None] | None,
    posterior: Posterior | None,
) -> EnsembleResult:
    """The body of :func:`run_ensemble`, run while the partial folder is locked."""
    began = time.perf_counter()
    total = scenario.run.replicates
    seeds = replicate_seeds(scenario.run.seed, total)
    done = store.check(names) if store else []
    if done and not resume:
        raise PartialEnsembleExists(
            f"an interrupted ensemble of this scenario ({len(done)} of {total} replicates) "
            f"is in {store.folder}: resume it (--resume) or remove that folder"
        )
    if store is not None and resume and not done:
        tables = [*ENSEMBLE_TABLES, *record]
        check_resume(
            store.folder, "ensemble", flat_settings(scenario, **store.facts(scenario, tables))
        )
    todo = sorted(set(range(total)) - set(done))
    kept: dict[int, Mapping[str, pa.Table]] = {}
    try:
        facts = _run_replicates(
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
            posterior=posterior,
        )
        facts["replicates_resumed"] = len(done)
        if store is not None and store.corrupt:
            facts["replicates_corrupt_rerun"] = list(store.corrupt)
        tables = concatenate(
            lambda index: kept[index] if index in kept else store.read(index, names),
            total,
            names,
        )
        if posterior is not None:
            tables["parameters"] = parameters_table(posterior, scenario, range(total))
        facts = {"replicates": total, "seeds": seeds, **facts}
        result = EnsembleResult(
            scenario=scenario, tables=tables, facts=facts | posterior_facts(posterior, scenario)
        )
        if store is not None:
            result.facts["wall_seconds"] = round(time.perf_counter() - began, 3)
            result.folder = folder.save(result, out, plots=plots)
            shutil.rmtree(store.folder, ignore_errors=True)
    except KeyboardInterrupt:
        kept_on_disk = len(store.finished()) if store is not None else 0
        raise EnsembleInterrupted(
            store.folder if kept_on_disk else None, kept_on_disk or len(kept), total
        ) from None
    except WorkerLost as exc:
        kept_on_disk = len(store.finished()) if store is not None else 0
        folder_kept = store.folder if kept_on_disk and store is not None else None
        raise WorkLost(str(exc), folder_kept, kept_on_disk, total, "replicates") from None
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
    posterior: Posterior | None = None,
) -> dict[str, Any]:
    """Run the replicates in ``todo``: each finished one is stored (when there is a store)
    and kept in ``kept``. Returns what ran them, for the manifest.

    Raises:
        ReplicateFailed: for the first failing replicate, once those running have finished.
    """

    def failed(position: int, error: TaskError, others: int) -> ReplicateFailed:
        index = todo[position]
        return ReplicateFailed(index, replicate_seed(scenario.run.seed, index), error, others)

    described: dict[str, Any] = {"executor": "none", "workers": 0}
    began = time.perf_counter()
    with progress as bar:
        if todo:
            # connect first: nothing is written for an executor that cannot start
            with open_executor(workers, scheduler, replicate_task) as executor:
                described = executor.describe()
                if store is not None:
                    store.describe(scenario, [*ENSEMBLE_TABLES, *record])
                tasks = [(index, record, store is not None, posterior) for index in todo]
                for position, payload in stream(replicate_task, scenario, tasks, executor, failed):
                    index = todo[position]
                    if store is not None:
                        store.write(index, payload["parquet"])
                    kept[index] = payload["arrow"]
                    bar.update(1)
                    if on_replicate is not None:
                        on_replicate(index)
    seconds = time.perf_counter() - began
    return {
        **described,
        "replicates_run": len(todo),
        "run_seconds": round(seconds, 3),
        "replicates_per_second": round(len(todo) / seconds, 3) if todo and seconds else None,
    }
