"""One model evaluation of a calibration: the history run at a parameter set, reduced to
the summaries of the fitted points (sim/inference/summaries.py).

The evaluation is a task of the project's executors (sim/experiments/executors.py: serial,
local processes, Dask): ``evaluate(shared, seed, values)`` is a pure function of its
arguments. Its seed comes from the calibration's seed, the generation and the proposal's
index within it (:func:`evaluation_seed`), never from where it runs, so a calibration gives
the same posterior serially, on processes or on Dask.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.experiments.engine import simulate
from sim.inference.summaries import summarize
from sim.scenario import Scenario
from sim.validation import Point

# SeedSequence spawn keys: the model runs' stream and pyabc's proposals' stream
EVALUATION_STREAM = 0x6576616C
PROPOSAL_STREAM = 0x70726F70


@dataclass(frozen=True)
class Evaluation:
    """What every evaluation shares (sent once per worker): the history scenario at the
    calibration's size, the fitted points and the model runs per evaluation."""

    scenario: Scenario
    points: tuple[Point, ...]
    replicates: int = 1


def evaluation_seed(seed: int, generation: int, index: int) -> int:
    """The scenario seed of proposal ``index`` of ``generation``."""
    sequence = np.random.SeedSequence(seed, spawn_key=(EVALUATION_STREAM, generation, index))
    return int(sequence.generate_state(1, dtype=np.uint32)[0])


def proposal_seed(seed: int, generation: int) -> np.ndarray:
    """The seed of pyabc's draws (proposals, perturbations) in ``generation``."""
    sequence = np.random.SeedSequence(seed, spawn_key=(PROPOSAL_STREAM, generation))
    return sequence.generate_state(4, dtype=np.uint32)


def run_tables(scenario: Scenario, replicates: int) -> dict[str, pd.DataFrame]:
    """The firms and market tables of ``replicates`` runs (a ``replicate`` column)."""
    firms, market = [], []
    for index in range(replicates):
        _, tables = simulate(scenario, index)
        firms.append(tables["firms"].assign(replicate=index))
        market.append(tables["market"].assign(replicate=index))
    return {
        "firms": pd.concat(firms, ignore_index=True),
        "market": pd.concat(market, ignore_index=True),
    }


def evaluate(shared: Evaluation, seed: int, values: Mapping[str, float]) -> dict[str, float]:
    """The summaries of the history run with ``values`` ({key path: value}) seeded ``seed``."""
    scenario = shared.scenario.with_overrides({**values, "run.seed": seed})
    return summarize(run_tables(scenario, shared.replicates), shared.points)
