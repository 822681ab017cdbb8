"""Morris and Sobol through SALib: the problem, the sample and the indices.

* ``morris``: elementary-effects screening (Morris 1991, with Campolongo's mu*). ``N``
  trajectories of ``D + 1`` points each on a grid of ``levels`` levels.
* ``sobol``: variance-based indices (Saltelli's sampling). ``N`` base samples (a power of 2)
  give ``N * (D + 2)`` points, or ``N * (2D + 2)`` with second-order indices.

sim/experiments/sensitivity.py runs the sample points; this module only talks to SALib.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from sim.experiments.stats import BOOTSTRAP_RESAMPLES, CONFIDENCE

METHODS = ("morris", "sobol")
DEFAULT_SAMPLES = {"morris": 10, "sobol": 64}
INDEX_COLUMNS = {
    "morris": ("mu", "mu_star", "sigma", "mu_star_conf"),
    "sobol": ("S1", "S1_conf", "ST", "ST_conf"),
}


def problem_for(bounds: Mapping[str, tuple[float, float]]) -> dict[str, Any]:
    """SALib's problem definition."""
    return {
        "num_vars": len(bounds),
        "names": list(bounds),
        "bounds": [[float(lo), float(hi)] for lo, hi in bounds.values()],
    }


def sample_size(method: str, samples: int, dimensions: int, *, second_order: bool = False) -> int:
    """Sample points SALib draws: Morris ``N(D+1)``; Sobol ``N(D+2)``, or ``N(2D+2)`` with
    second-order indices."""
    if method == "morris":
        return samples * (dimensions + 1)
    if method == "sobol":
        return samples * (2 * dimensions + 2 if second_order else dimensions + 2)
    raise ValueError(f"unknown method {method!r}; choose from {', '.join(METHODS)}")


def draw_sample(
    problem: Mapping[str, Any],
    method: str,
    samples: int,
    *,
    levels: int = 4,
    second_order: bool = False,
    seed: int = 0,
) -> np.ndarray:
    """The SALib sample: one row per sample point, one column per parameter."""
    if method == "morris":
        from SALib.sample import morris

        return morris.sample(dict(problem), samples, num_levels=levels, seed=seed)
    if method == "sobol":
        if samples < 1 or samples & (samples - 1):
            raise ValueError(f"sobol: --samples must be a power of 2 (got {samples})")
        from SALib.sample import sobol

        return sobol.sample(dict(problem), samples, calc_second_order=second_order, seed=seed)
    raise ValueError(f"unknown method {method!r}; choose from {', '.join(METHODS)}")


def analyse(
    problem: Mapping[str, Any],
    method: str,
    sample: np.ndarray,
    outputs: Mapping[str, np.ndarray],
    *,
    levels: int = 4,
    second_order: bool = False,
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """SALib's indices for each outcome, tidy: one row per (outcome, parameter), ranked.

    An outcome that is the same at every sample point has no effect to apportion: Morris
    effects are then exactly zero, Sobol indices undefined (NaN); ``note`` says so. An
    outcome with missing values (a tier absent from the scenario) is left out the same way.
    """
    names = list(problem["names"])
    rows, second_rows = [], []
    for outcome, values in outputs.items():
        note = ""
        if not np.all(np.isfinite(values)):
            note = "missing values"
        elif np.ptp(values) == 0.0:
            note = "constant"
        if note:
            fill = 0.0 if (method == "morris" and note == "constant") else math.nan
            found = {column: [fill] * len(names) for column in INDEX_COLUMNS[method]}
        elif method == "morris":
            from SALib.analyze import morris

            with warnings.catch_warnings():
                # one trajectory has no spread of elementary effects: numpy warns as it
                # computes sigma, which is NaN (and reported as such)
                warnings.filterwarnings("ignore", category=RuntimeWarning)
                found = morris.analyze(
                    dict(problem),
                    sample,
                    values,
                    num_levels=levels,
                    conf_level=CONFIDENCE,
                    num_resamples=BOOTSTRAP_RESAMPLES,
                    seed=seed,
                )
        else:
            from SALib.analyze import sobol

            found = sobol.analyze(
                dict(problem),
                values,
                calc_second_order=second_order,
                conf_level=CONFIDENCE,
                num_resamples=BOOTSTRAP_RESAMPLES,
                seed=seed,
            )
            if second_order:
                for i, first in enumerate(names):
                    for j in range(i + 1, len(names)):
                        second_rows.append(
                            {
                                "outcome": outcome,
                                "parameter": first,
                                "other": names[j],
                                "S2": float(found["S2"][i][j]),
                                "S2_conf": float(found["S2_conf"][i][j]),
                            }
                        )
        table = pd.DataFrame(
            {"outcome": outcome, "parameter": names}
            | {column: np.asarray(found[column], dtype=float) for column in INDEX_COLUMNS[method]}
        )
        key = "mu_star" if method == "morris" else "ST"
        table = table.sort_values(key, ascending=False, kind="stable", na_position="last")
        table["rank"] = np.arange(1, len(table) + 1)
        table["note"] = note
        rows.append(table)
    indices = pd.concat(rows, ignore_index=True)
    second = pd.DataFrame(second_rows) if second_order and method == "sobol" else None
    return indices, second
