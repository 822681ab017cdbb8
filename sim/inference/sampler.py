"""A pyabc sampler that runs the model on the project's executors.

pyabc hands a sampler ``simulate_one``, which proposes a parameter (from the prior in
generation 0, else by perturbing a particle of the last generation), simulates and accepts
or rejects it. This sampler splits the three steps so that the result cannot depend on
where the model runs:

1. proposals are drawn in this process, ``batch`` at a time, from pyabc's own random draws
   seeded by (calibration seed, generation) alone;
2. the batch's model runs go to the executor (serial, local processes or Dask), each seeded
   by (calibration seed, generation, proposal index) (sim/inference/evaluate.py);
3. the results are accepted or rejected in proposal order by pyabc's own acceptor, until
   the generation has ``n`` particles; runs of the last batch beyond the n-th acceptance
   are dropped, as a serial sampler would never have made them.

The generation's particles, its number of evaluations and so its acceptance rate are then
the same whatever the executor and the batch size. A line per generation (epsilon,
acceptance, ESS, wall time) and a bar over its particles show the progress.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pyabc
from pyabc.inference_util.inference_util import evaluate_proposal, generate_valid_proposal

from sim.experiments.engine import RunFailed, stream
from sim.experiments.executors import Executor, TaskError, progress_bar
from sim.inference.evaluate import Evaluation, evaluate, evaluation_seed, proposal_seed

# the arguments of pyabc's proposal and judgement steps, taken from its simulate_one
PROPOSE = (
    "m",
    "p",
    "model_prior",
    "parameter_priors",
    "model_perturbation_kernel",
    "transitions",
)
JUDGE = (
    "models",
    "summary_statistics",
    "distance_function",
    "eps",
    "acceptor",
    "x_0",
    "weight_function",
    "proposal_id",
)


class Precomputed(pyabc.Model):
    """The pyabc model of a calibration: its summaries were computed on the executor, and
    it hands pyabc the one of the proposal being judged."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.current: dict[str, float] = {}

    def sample(self, pars: Any) -> dict[str, float]:
        return self.current


class ExecutorSampler(pyabc.sampler.Sampler):
    """Proposals here, model runs on ``executor``, acceptance here, in proposal order.

    Args:
        executor: where the model runs (sim/experiments/executors.py), already open.
        shared: what every evaluation shares (the scenario at the calibration's size).
        seed: the calibration's seed.
        batch: proposals drawn and run together.
        to_values: a pyabc parameter (sampling scale) -> {key path: value}.
        report: called after each generation with its facts (t, epsilon, particles,
            evaluations, acceptance, ess, wall_seconds).
        progress: show a bar over the generation's particles (None: on a terminal).
    """

    def __init__(
        self,
        executor: Executor,
        shared: Evaluation,
        seed: int,
        batch: int,
        to_values: Callable[[Mapping[str, float]], dict[str, float]],
        report: Callable[[dict[str, Any]], None] | None = None,
        progress: bool | None = None,
    ) -> None:
        super().__init__()
        self.executor, self.shared, self.seed, self.batch = executor, shared, seed, batch
        self.to_values, self.report, self.progress = to_values, report, progress

    def sample_until_n_accepted(
        self,
        n: int,
        simulate_one: Callable,
        t: int,
        *,
        max_eval: float = np.inf,
        all_accepted: bool = False,
        ana_vars: Any = None,
    ) -> pyabc.Sample:
        steps = getattr(simulate_one, "keywords", None)
        if not steps or "transitions" not in steps:
            raise TypeError("ExecutorSampler needs pyabc's generation sampler (no calibration)")
        began = time.perf_counter()
        state = np.random.RandomState(proposal_seed(self.seed, t))
        sample = self._create_empty_sample()
        model = steps["models"][0]
        evaluations = index = 0
        with progress_bar(n, desc=f"generation {t}", unit="particle", enabled=self.progress) as bar:
            while sample.n_accepted < n and evaluations < max_eval:
                proposals = self._propose(steps, t, state)
                results = self._run(t, index, proposals)
                for (m, theta), result in zip(proposals, results, strict=True):
                    model.current = result
                    particle = evaluate_proposal(m, theta, t, **{key: steps[key] for key in JUDGE})
                    sample.append(particle)
                    evaluations += 1
                    if particle.accepted:
                        bar.update(1)
                    if sample.n_accepted >= n or evaluations >= max_eval:
                        break
                index += len(proposals)
        self.nr_evaluations_ = evaluations
        if sample.n_accepted < n:
            sample.ok = False
        elif self.report is not None:
            weights = np.array([p.weight for p in sample.accepted_particles])
            weights = weights / weights.sum()
            self.report(
                {
                    "t": t,
                    "epsilon": float(steps["eps"](t)),
                    "particles": n,
                    "evaluations": evaluations,
                    "acceptance": n / evaluations,
                    "ess": float(1.0 / np.sum(weights**2)),
                    "wall_seconds": round(time.perf_counter() - began, 3),
                }
            )
        return sample

    def _propose(
        self, steps: Mapping[str, Any], t: int, state: np.random.RandomState
    ) -> list[tuple[int, Any]]:
        """``batch`` proposals from pyabc's draws, the global numpy state swapped for the
        generation's own (pyabc draws from numpy's global generator)."""
        saved = np.random.get_state()
        np.random.set_state(state.get_state())
        try:
            draw = {key: steps[key] for key in PROPOSE}
            proposals = [generate_valid_proposal(t, **draw) for _ in range(self.batch)]
            state.set_state(np.random.get_state())
        finally:
            np.random.set_state(saved)
        return proposals

    def _run(self, t: int, first: int, proposals: list[tuple[int, Any]]) -> list[dict]:
        """The summaries of the proposals' runs, in proposal order."""
        tasks = [
            (evaluation_seed(self.seed, t, first + k), self.to_values(theta))
            for k, (_, theta) in enumerate(proposals)
        ]
        results: list[dict] = [{} for _ in tasks]

        def failed(position: int, error: TaskError, others: int) -> RunFailed:
            seed = tasks[position][0]
            what = f"generation {t}, evaluation {first + position} (seed {seed})"
            return RunFailed(what, error, others)

        for position, value in stream(evaluate, self.shared, tasks, self.executor, failed):
            results[position] = value
        return results


def print_generation(facts: Mapping[str, Any]) -> None:
    """The line of a finished generation, on stderr."""
    print(
        f"generation {facts['t']}: epsilon {facts['epsilon']:.4g}, accepted "
        f"{facts['particles']} of {facts['evaluations']} ({facts['acceptance']:.0%}), "
        f"ESS {facts['ess']:.1f}, {facts['wall_seconds']:.0f} s",
        file=sys.stderr,
        flush=True,
    )
