"""The ABC-SMC fit on pyabc: the fitted priors of seeds/priors.toml against the history
panel, generation after generation, its history kept in a SQLite database.

    fit = Fit.prepare(settings)                       # priors, points, distance, scenario
    with open_executor(workers, scheduler, evaluate) as executor:
        fit.run(folder / "history.db", executor, generations=6)
    keys, values, weights = fit.posterior(folder / "history.db")

The priors are uniform on their sampling scale (the logarithm for a log prior), so pyabc
perturbs a log prior's parameter in its logarithm; a parameter is turned into its value
only for the model run. The tolerance of generation 0 is infinite (every prior draw is
accepted: the prior's own sample); each later one is the ``epsilon_quantile`` quantile of
the last generation's weighted distances (pyabc's QuantileEpsilon). A run stopped after
some generations continues from its database: generation ``t``'s draws depend only on the
seed and ``t``, so stopping and resuming gives the generations a straight run gives.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyabc

from sim.experiments.executors import Executor
from sim.inference.distance import Distance
from sim.inference.evaluate import Evaluation
from sim.inference.sampler import ExecutorSampler, Precomputed, print_generation
from sim.inference.settings import Settings
from sim.inference.summaries import split
from sim.priors import Prior, fitted, load_priors
from sim.scenario import Scenario, load_scenario
from sim.validation import Panel, Point, load_panel

LIBRARY = "pyabc"
# pyabc logs every generation at INFO; the sampler's own line says it once
logging.getLogger("ABC").setLevel(logging.WARNING)


def months_between(start: str, end: str) -> int:
    """Calendar months from ``start`` to ``end`` inclusive (YYYY-MM)."""
    (y0, m0), (y1, m1) = ((int(x) for x in s.split("-")) for s in (start, end))
    return (y1 - y0) * 12 + m1 - m0 + 1


@dataclass(frozen=True)
class Fit:
    """What a calibration fits, to what, with which distance."""

    settings: Settings
    priors: tuple[Prior, ...]
    scenario: Scenario  # the history at the calibration's size, to the last fitted month
    full: Scenario  # the whole history at the calibration's size (the predictive runs)
    panel: Panel
    points: tuple[Point, ...]  # fitted
    held_out: tuple[Point, ...]
    distance: Distance

    @classmethod
    def prepare(cls, settings: Settings) -> Fit:
        """The fit of ``settings``: its priors, scenario, points and distance."""
        priors = fitted(load_priors())
        full = load_scenario(settings.scenario).with_overrides(
            {"run.users": settings.users, "run.seed": settings.seed}
        )
        panel = load_panel(full.observed)
        points, held_out = split(panel, full.run.start, settings.fit_until)
        scenario = full
        if settings.fit_until is not None and points:
            last = max(p.end for p in points)
            scenario = full.with_overrides({"run.months": months_between(full.run.start, last)})
        distance = Distance.for_points(points, settings.weights, settings.floor)
        return cls(settings, priors, scenario, full, panel, points, held_out, distance)

    @property
    def observed(self) -> dict[str, float]:
        return {p.id: p.value for p in self.points}

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(p.key for p in self.priors)

    def to_values(self, parameter: Mapping[str, float]) -> dict[str, float]:
        """A pyabc parameter (sampling scale) -> {key path: value}."""
        return {p.key: float(p.to_value(float(parameter[p.key]))) for p in self.priors}

    def prior(self) -> pyabc.Distribution:
        """pyabc's prior: uniform on each fitted prior's sampling scale."""
        return pyabc.Distribution(
            **{
                p.key: pyabc.RV("uniform", p.bounds[0], p.bounds[1] - p.bounds[0])
                for p in self.priors
            }
        )

    def smc(self, sampler: pyabc.sampler.Sampler, resuming: bool = False) -> pyabc.ABCSMC:
        """The ABCSMC object of this fit on ``sampler``; a resumed fit takes its next
        tolerance from the last stored generation, as a straight run does."""
        return pyabc.ABCSMC(
            Precomputed(self.scenario.name),
            self.prior(),
            self.distance,
            population_size=self.settings.particles,
            eps=pyabc.QuantileEpsilon(
                initial_epsilon="from_sample" if resuming else np.inf,
                alpha=self.settings.epsilon_quantile,
            ),
            sampler=sampler,
        )

    def run(
        self,
        database: Path,
        executor: Executor,
        *,
        generations: int,
        progress: bool | None = None,
        report: Any = print_generation,
    ) -> int:
        """Run (or continue) the fit in ``database`` until it has ``generations``
        generations or ``max_evaluations`` evaluations; returns the generations done."""
        shared = Evaluation(self.scenario, self.points, self.settings.replicates_per_eval)
        sampler = ExecutorSampler(
            executor,
            shared,
            self.settings.seed,
            self.settings.batch,
            self.to_values,
            report=report,
            progress=progress,
        )
        url = f"sqlite:///{Path(database).resolve()}"
        done = generations_done(database)
        smc = self.smc(sampler, resuming=done > 0)
        if done:
            smc.load(url, 1)
            spent = int(smc.history.total_nr_simulations)
        else:
            smc.new(url, self.observed)
            spent = 0
        remaining = generations - done
        if remaining > 0 and spent < self.settings.max_evaluations:
            with warnings.catch_warnings():
                # pyabc compares generation 0's infinite tolerance with the next: inf - inf
                warnings.filterwarnings("ignore", "invalid value", RuntimeWarning, "pyabc")
                smc.run(
                    max_nr_populations=remaining,
                    max_total_nr_simulations=self.settings.max_evaluations,
                )
        return generations_done(database)


def generations_done(database: Path) -> int:
    """Generations stored in a fit's database (0 when there is none)."""
    if not Path(database).is_file():
        return 0
    history = pyabc.History(f"sqlite:///{Path(database).resolve()}", _id=1)
    return int(history.max_t) + 1 if history.n_populations else 0


def posterior_of(
    database: Path, priors: Sequence[Prior]
) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """The last generation's particles (values, not their sampling scale; particles x
    keys, in the priors' order), their normalised weights, and the generations' facts
    (t, epsilon, evaluations, acceptance, ess)."""
    history = pyabc.History(f"sqlite:///{Path(database).resolve()}", _id=1)
    frame, weights = history.get_distribution(m=0, t=history.max_t)
    values = np.column_stack([priors_value(p, frame[p.key].to_numpy()) for p in priors])
    weights = np.asarray(weights, dtype=float)
    return values, weights / weights.sum(), generation_table(history)


def priors_value(prior: Prior, scale: np.ndarray) -> np.ndarray:
    return np.asarray(prior.to_value(np.asarray(scale, dtype=float)), dtype=float)


def generation_table(history: pyabc.History) -> pd.DataFrame:
    """One row per generation: its tolerance, evaluations, acceptance and ESS."""
    populations = history.get_all_populations()
    populations = populations[populations["t"] >= 0].sort_values("t")
    rows = []
    for row in populations.itertuples():
        _, weights = history.get_distribution(m=0, t=int(row.t))
        weights = np.asarray(weights, dtype=float)
        weights = weights / weights.sum()
        rows.append(
            {
                "generation": int(row.t),
                "epsilon": float(row.epsilon),
                "evaluations": int(row.samples),
                "particles": int(row.particles),
                "acceptance": float(row.particles) / float(row.samples),
                "ess": float(1.0 / np.sum(weights**2)),
            }
        )
    return pd.DataFrame(rows)
