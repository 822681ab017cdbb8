"""PRIM, the patient rule induction method: a box in parameter space where an outcome occurs.

Scenario discovery (Bryant & Lempert 2010, as the EMA Workbench does it) asks where, inside
the plausible ranges, a claim holds or fails. PRIM (Friedman & Fisher 1999) answers with a
box: the ranges of a few restricted parameters inside which the outcome is dense.

* **Peeling.** From the box holding every point, each step tries to cut off, along every
  parameter and at either end, the ``peel_alpha`` share of the points still inside (at least
  one whole value: on a Morris grid a parameter takes a few levels, and a cut removes whole
  levels), and keeps the cut after which the mean outcome inside is highest. ``peel_alpha``
  = 0.05 is Friedman & Fisher's and the EMA Workbench's default: small steps are "patient",
  so that one unlucky cut early cannot steer the search. Peeling stops before the box would
  hold fewer than ``min_support`` of all points. Pasting (growing the box back) is not done:
  on a grid of a few levels a cut is already the smallest possible.
* **The trajectory and its trade-off.** Each step gives a box with its *coverage* (the share
  of all points with the outcome that lie inside) and *density* (the share of the points
  inside that have it). Peeling trades coverage for density; the box reported is the one
  with the largest coverage x density (both count equally) among the admissible boxes: at
  least ``min_density`` dense (for a claim, the verdict's threshold, so that inside the box
  the verdict is what the density says), at most ``max_dimensions`` restricted parameters
  (a box must be readable), and every restriction significant.
* **Significance** (the EMA Workbench's quasi-p-values, Bryant & Lempert 2010): for each
  restricted parameter, the one-sided binomial probability of the box's count of outcomes
  at the density of the box with that restriction lifted. A restriction above
  ``max_p_value`` is luck, not structure; on pure noise no admissible box remains.

    from sim.experiments.prim import find_box
    box = find_box(x, y, names, peel_alpha=0.05, min_support=0.1, min_density=0.8,
                   max_dimensions=3, max_p_value=0.05)
    box.limits if box else "no box"      # {name: (low, high)} of the restricted parameters
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Box:
    """A box found by PRIM.

    Attributes:
        limits: the restricted parameters' ranges, {name: (low, high)} (the values of the
            points inside; every other parameter is free).
        coverage: share of all points with the outcome that lie inside.
        density: share of the points inside that have the outcome.
        support: share of all points that lie inside.
        p_values: each restriction's quasi-p-value, by name.
        outside_density: share of the points outside that have the outcome.
    """

    limits: dict[str, tuple[float, float]]
    coverage: float
    density: float
    support: float
    p_values: dict[str, float]
    outside_density: float


def peel(
    x: np.ndarray, y: np.ndarray, *, peel_alpha: float, min_support: float
) -> list[tuple[np.ndarray, np.ndarray]]:
    """The peeling trajectory: (lower, upper) bounds of every box, the full one first.

    Args:
        x: points, one row each, one column per parameter.
        y: the outcome at each point, 0 or 1 (or a share).
        peel_alpha: share of the points inside cut off at each step.
        min_support: the smallest share of all points a box may hold.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    n, d = x.shape
    lower, upper = x.min(axis=0), x.max(axis=0)
    inside = np.ones(n, dtype=bool)
    trajectory = [(lower.copy(), upper.copy())]
    floor = min_support * n
    while True:
        best = None
        count = int(inside.sum())
        for j in range(d):
            column = x[inside, j]
            values = np.unique(column)
            if len(values) < 2:
                continue
            wanted = max(peel_alpha * count, 1.0)
            below = np.searchsorted(np.sort(column), values, side="right")
            above = count - np.searchsorted(np.sort(column), values, side="left")
            # the lowest cut removing at least `wanted` points, at either end
            low_at = values[min(int(np.argmax(below >= wanted)), len(values) - 2) + 1]
            high_at = values[::-1][min(int(np.argmax(above[::-1] >= wanted)), len(values) - 2) + 1]
            for side, cut in (("low", low_at), ("high", high_at)):
                kept = inside & (x[:, j] >= cut if side == "low" else x[:, j] <= cut)
                left = int(kept.sum())
                if left < floor or left == count:
                    continue
                mean = float(y[kept].mean())
                if best is None or (mean, left) > (best[0], best[1]):
                    best = (mean, left, j, side, cut, kept)
        if best is None:
            return trajectory
        _, _, j, side, cut, inside = best
        if side == "low":
            lower[j] = cut
        else:
            upper[j] = cut
        trajectory.append((lower.copy(), upper.copy()))


def _inside(x: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    return np.all((x >= lower) & (x <= upper), axis=1)


def _binomial_tail(hits: int, trials: int, rate: float) -> float:
    """P(at least ``hits`` successes in ``trials`` at ``rate``)."""
    from scipy.stats import binom

    return float(binom.sf(hits - 1, trials, rate)) if rate < 1.0 else 1.0


def find_box(
    x: np.ndarray,
    y: np.ndarray,
    names: Sequence[str],
    *,
    peel_alpha: float,
    min_support: float,
    min_density: float,
    max_dimensions: int,
    max_p_value: float,
) -> Box | None:
    """The box where the outcome is densest for its coverage, or None when there is none
    (see the module's docstring for each setting).

    Args:
        x: points, one row each, one column per parameter (in ``names`` order).
        y: the outcome at each point: True / 1 where it occurs.
        names: the parameters' names.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if len(y) == 0 or y.sum() == 0:
        return None
    full_lower, full_upper = x.min(axis=0), x.max(axis=0)
    best, best_score = None, -math.inf
    for lower, upper in peel(x, y, peel_alpha=peel_alpha, min_support=min_support)[1:]:
        restricted = np.flatnonzero((lower > full_lower) | (upper < full_upper))
        if not 1 <= len(restricted) <= max_dimensions:
            continue
        inside = _inside(x, lower, upper)
        hits, count = float(y[inside].sum()), int(inside.sum())
        density = hits / count
        if density < min_density:
            continue
        p_values = {}
        for j in restricted:
            lifted_lower, lifted_upper = lower.copy(), upper.copy()
            lifted_lower[j], lifted_upper[j] = full_lower[j], full_upper[j]
            lifted = _inside(x, lifted_lower, lifted_upper)
            rate = float(y[lifted].mean())
            p_values[names[j]] = _binomial_tail(round(hits), count, rate)
        if max(p_values.values()) > max_p_value:
            continue
        coverage = hits / float(y.sum())
        if coverage * density > best_score:
            outside = ~inside
            best_score = coverage * density
            best = Box(
                limits={names[j]: (float(lower[j]), float(upper[j])) for j in restricted},
                coverage=coverage,
                density=density,
                support=count / len(y),
                p_values=p_values,
                outside_density=float(y[outside].mean()) if outside.any() else math.nan,
            )
    return best
