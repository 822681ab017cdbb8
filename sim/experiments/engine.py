"""The engine: many seeded runs of a scenario as (point, replicate) tasks on an executor.

Every ensemble, sweep and sensitivity analysis (and, in time, calibration and the claims
check) is a list of tasks, each a pure function of the scenario and its arguments, run by
the executors of sim/experiments/executors.py (serial, local processes, Dask):

    results, facts = run_tasks(fn, scenario, tasks, workers=2)   # results in task order
    with open_executor(workers, scheduler, fn) as executor:         # or streamed
        for position, value in stream(fn, scenario, tasks, executor, failed=...):
            ...

``fn(scenario, *task)`` runs for each task. The first failure (in task order) wins: the
tasks not started are dropped, those running finish, and the failure is raised as
:class:`RunFailed` naming the run (its point, replicate and seed).

Seeds: replicate ``i`` runs the model with the integer seed drawn from the ``i``-th child of
``numpy.random.SeedSequence(run.seed).spawn(n)``, so it is the same whatever executor runs
it and however many replicates there are.
"""

from __future__ import annotations

import contextlib
import inspect
import shutil
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.experiments.executors import (
    Executor,
    TaskError,
    TaskFailed,
    WorkerLost,
    make_executor,
    progress_bar,
)
from sim.experiments.store import (
    EnsembleInterrupted,
    PartialEnsembleExists,
    RunStore,
    WorkLost,
    check_resume,
    describe_partial,
    flat_settings,
    locked,
    run_partial_folder,
)
from sim.model import AIMarket
from sim.outcomes import compute
from sim.posterior import Posterior, replicate_scenario
from sim.scenario import Scenario

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


# ---------------------------------------------------------------------------- errors


class RunFailed(RuntimeError):
    """A run of an ensemble, sweep or sensitivity analysis raised; the message names it."""

    def __init__(self, what: str, error: TaskError, others: int = 0) -> None:
        self.error, self.others = error, others
        self.what = what
        more = f" (and {others} more)" if others else ""
        super().__init__(f"{what} failed: {error.message}{more}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (RunFailed, (self.what, self.error, self.others))


class ReplicateFailed(RunFailed):
    """A replicate of an ensemble raised; the message names it by number and seed."""

    def __init__(self, index: int, seed: int, error: TaskError, others: int = 0) -> None:
        self.index, self.seed = index, seed
        super().__init__(f"replicate {index} (seed {seed})", error, others)

    def __reduce__(self) -> tuple[Any, ...]:
        return (ReplicateFailed, (self.index, self.seed, self.error, self.others))


# ---------------------------------------------------------------------------- one run


def simulate(
    scenario: Scenario, index: int, record: Iterable[str] = ()
) -> tuple[int, dict[str, pd.DataFrame]]:
    """Replicate ``index`` of the scenario: its seed and its tables (firms, market, events
    and the optional ``record`` tables)."""
    seed = replicate_seed(scenario.run.seed, index)
    model = AIMarket(scenario, rng=seed, record=tuple(record))
    model.run()
    return seed, model.tables()


def run_outcomes(
    scenario: Scenario,
    index: int,
    overrides: Mapping[str, Any] | None = None,
    names: Sequence[str] | None = None,
    posterior: Posterior | None = None,
) -> dict[str, float]:
    """The outcomes (sim/outcomes.py) of replicate ``index`` of the scenario with overrides:
    the task of a sweep or a sensitivity analysis. The seed is that of replicate ``index``
    of the overridden scenario, so every point of a sweep sees the same random streams.
    With a posterior, the replicate's draw (sim/posterior.py) sets every key the
    overrides do not: a point's own values win."""
    if overrides:
        scenario = scenario.with_overrides(overrides)
    scenario, _ = replicate_scenario(scenario, index, posterior, fixed=overrides or ())
    _, tables = simulate(scenario, index)
    return compute(tables, names)


# ---------------------------------------------------------------------------- kept runs


@contextlib.contextmanager
def run_store(
    out: str | Path | None, scenario: Scenario, kind: str, resume: bool, **settings: Any
) -> Iterator[RunStore | None]:
    """The store of a sweep's or an analysis's finished runs under ``out`` (None without
    ``out``), locked while the experiment runs; a resume with other settings than the
    partial run's is refused. A partial folder that kept no run is removed on the way out
    (nothing is left by an executor that could not start)."""
    if out is None:
        yield None
        return
    folder = run_partial_folder(Path(out), scenario, kind, **settings)
    with locked(folder):
        store = RunStore(folder)
        if resume and not store.path.is_file():
            check_resume(folder, kind, flat_settings(scenario, **settings))
        describe_partial(folder, scenario, **settings)
        try:
            yield store
        finally:
            if not store.path.is_file():
                shutil.rmtree(folder, ignore_errors=True)


# ---------------------------------------------------------------------------- running tasks

# (position, error, others) -> the exception to raise for the first failed task
Failure = Callable[[int, TaskError, int], Exception]


@contextlib.contextmanager
def open_executor(
    workers: int | None = None, scheduler: Any = None, fn: Callable[..., Any] | None = None
) -> Iterator[Executor]:
    """The executor for ``workers`` / ``scheduler``, connected (a Dask scheduler that cannot
    be reached raises ConnectionError here, before anything is run or written); local
    workers import ``fn``'s module before their first task."""
    module = inspect.getmodule(fn) if fn is not None else None
    preload = (module,) if module is not None and module.__name__.startswith("sim.") else ()
    with make_executor(workers, scheduler, preload) as executor:
        yield executor


def stream(
    fn: Callable[..., Any],
    shared: Any,
    tasks: Sequence[tuple],
    executor: Executor,
    failed: Failure | None = None,
) -> Iterator[tuple[int, Any]]:
    """Run ``fn(shared, *task)`` for every task; yield ``(position, result)`` as each
    finishes.

    Raises:
        RunFailed: (or what ``failed`` builds) for the first task in task order that
            raised, once those running have finished.
    """
    try:
        yield from executor.successes(fn, shared, tasks)
    except TaskFailed as exc:
        if failed is None:
            raise RunFailed(f"task {exc.position}", exc.error, exc.others) from None
        raise failed(exc.position, exc.error, exc.others) from None


def run_tasks(
    fn: Callable[..., Any],
    shared: Any,
    tasks: Sequence[tuple],
    *,
    workers: int | None = None,
    scheduler: Any = None,
    progress: bool | None = None,
    desc: str = "",
    failed: Failure | None = None,
    done: Mapping[int, Any] | None = None,
    on_result: Callable[[int, Any], None] | None = None,
) -> tuple[list[Any], dict[str, Any]]:
    """Run every task with a progress bar; return the results in task order and the facts
    of the run (executor, workers, runs, run_seconds, runs_per_second).

    Args:
        done: results already at hand by position (a resumed run): those tasks are skipped.
        on_result: called with ``(position, result)`` as each task finishes (to store it).

    Raises:
        RunFailed: as for :func:`stream`.
    """
    done = done or {}
    results: list[Any] = [done.get(position) for position in range(len(tasks))]
    todo = [position for position in range(len(tasks)) if position not in done]

    def failed_here(position: int, error: TaskError, others: int) -> Exception:
        if failed is None:
            return RunFailed(f"task {todo[position]}", error, others)
        return failed(todo[position], error, others)

    began = time.perf_counter()
    described: dict[str, Any] = {"executor": "none", "workers": 0}
    with progress_bar(len(tasks), initial=len(done), desc=desc, enabled=progress) as bar:
        if todo:
            with open_executor(workers, scheduler, fn) as executor:
                described = executor.describe()
                chosen = [tasks[position] for position in todo]
                for place, value in stream(fn, shared, chosen, executor, failed_here):
                    results[todo[place]] = value
                    if on_result is not None:
                        on_result(todo[place], value)
                    bar.update(1)
    seconds = time.perf_counter() - began
    return results, {
        **described,
        "runs": len(tasks),
        "runs_resumed": len(done),
        "run_seconds": round(seconds, 3),
        "runs_per_second": round(len(todo) / seconds, 3) if todo and seconds else None,
    }


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
    store: RunStore | None = None,
    resume: bool = False,
    posterior: Posterior | None = None,
) -> tuple[list[tuple[int, int, int, dict[str, float]]], dict[str, Any]]:
    """The runs of a sweep or a sensitivity analysis: replicates 0 to ``replicates - 1`` of
    the scenario with each point's overrides (:func:`run_outcomes`). With a ``store``, each
    finished run is kept on disk as it finishes, and ``resume`` runs only the missing ones.

    Args:
        scenario: the base scenario.
        points: the overrides of each point.
        replicates: runs per point.
        names: the outcomes to compute.
        seeds: each point's ensemble seed (``run.seed`` of its scenario), which the seeds of
            its replicates are spawned from.
        point_label: names point ``i`` in the message of a failed run.
        workers, scheduler, progress: as for :func:`run_tasks`.
        desc: the progress bar's label.
        posterior: draw each replicate's parameters from it (:func:`run_outcomes`).

    Returns:
        ``(point, replicate, seed, outcomes)`` of every run, points in order and replicates
        in order within each; and the facts of the run (:func:`run_tasks`).

    Raises:
        RunFailed: a run raised; the message names its point, replicate and seed (the
            finished runs stay in the store).
        PartialEnsembleExists: the store holds runs and ``resume`` is False.
        EnsembleInterrupted: Ctrl-C (the finished runs stay in the store).
    """
    tail = (posterior,) if posterior is not None else ()
    tasks = [(index, point, names, *tail) for point in points for index in range(replicates)]
    done = store.finished() if store is not None else {}
    if done and not resume:
        raise PartialEnsembleExists(
            f"an interrupted run of this scenario ({len(done)} of {len(tasks)} runs) is in "
            f"{store.folder}: resume it (--resume) or remove that folder"
        )

    def failed(position: int, error: TaskError, others: int) -> RunFailed:
        number, index = divmod(position, replicates)
        seed = replicate_seed(seeds[number], index)
        return RunFailed(f"{point_label(number)}, replicate {index} (seed {seed})", error, others)

    try:
        results, facts = run_tasks(
            run_outcomes,
            scenario,
            tasks,
            workers=workers,
            scheduler=scheduler,
            progress=progress,
            desc=desc,
            failed=failed,
            done=done,
            on_result=store.write if store is not None else None,
        )
    except KeyboardInterrupt:
        kept = len(store.finished()) if store is not None else 0
        folder = store.folder if kept and store is not None else None
        raise EnsembleInterrupted(folder, kept, len(tasks), "runs") from None
    except WorkerLost as exc:
        kept = len(store.finished()) if store is not None else 0
        folder = store.folder if kept and store is not None else None
        raise WorkLost(str(exc), folder, kept, len(tasks), "runs") from None
    if store is not None and store.corrupt:
        facts["runs_corrupt_rerun"] = store.corrupt
    runs = []
    for position, values in enumerate(results):
        number, index = divmod(position, replicates)
        runs.append((number, index, replicate_seed(seeds[number], index), values))
    return runs, facts
