"""Experiments: many seeded runs of a scenario, on one engine.

* engine.py: replicate seeds, the (point, replicate) tasks, running them on an executor
  with first-failure-wins (:class:`RunFailed`);
* executors.py: serial, local processes, a Dask cluster;
* store.py: an unfinished ensemble's replicates on disk, and resuming it;
* stats.py: every statistic reported (intervals, bands, percentiles, survival);
* ensemble.py, sweep.py, sensitivity.py (with methods.py, SALib): the three experiments.

    from sim.experiments import run_ensemble, sweep, sensitivity

Their results are written to folders by ``sim.folder.save`` (an ensemble run with ``out=``
is saved as it finishes).
"""

from sim.experiments.engine import (
    ReplicateFailed,
    RunFailed,
    replicate_seed,
    replicate_seeds,
    run_points,
    run_tasks,
)
from sim.experiments.ensemble import EnsembleResult, run_ensemble
from sim.experiments.executors import make_executor
from sim.experiments.sensitivity import SensitivityResult, sensitivity
from sim.experiments.store import EnsembleInterrupted, PartialEnsembleExists
from sim.experiments.sweep import SweepResult, sweep

__all__ = [
    "EnsembleInterrupted",
    "EnsembleResult",
    "PartialEnsembleExists",
    "ReplicateFailed",
    "RunFailed",
    "SensitivityResult",
    "SweepResult",
    "make_executor",
    "replicate_seed",
    "replicate_seeds",
    "run_ensemble",
    "run_points",
    "run_tasks",
    "sensitivity",
    "sweep",
]
