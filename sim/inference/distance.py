"""The distance between a run's summaries and the observed panel (docs/calibration.md).

Every point's error is a log ratio, so a miss by a factor of two weighs the same for
Doubao's 2亿 users as for ERNIE's 531万, and for a ratio as for a level:

* a value (a month, an average, a ratio): ``e = log(simulated / observed)``;
* a bound: the hinge, zero when it is met: ``max(0, log(sim / obs))`` for "at most",
  ``max(0, log(obs / sim))`` for "at least".

The simulated value is first clipped to ``[floor x observed, observed / floor]``
(seeds/inference.toml), so a firm gone from the market is a large, finite miss. Points are
grouped in series (``firm.measure``, sim/inference/summaries.py); the distance is the
weighted root mean square over series of each series' mean squared error:

    d = sqrt( sum_s w_s * mean_{p in s} e_p^2  /  sum_s w_s )

so each series counts by its weight (1 unless seeds/inference.toml says otherwise),
however many points it has. ``d`` is 0 when every point is matched (or every bound met)
and grows with every error; ``exp(d)`` reads as a typical factor of miss.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from sim.inference.summaries import series_of
from sim.validation import Point


@dataclass(frozen=True)
class Distance:
    """The distance over a set of points (a callable ``d(simulated, observed)`` on
    ``{point id: value}`` mappings, as pyabc calls it).

    Attributes:
        basis: each point's basis (month, average, ratio, at_most, at_least).
        series: each point's series.
        weights: each series' weight.
        floor: the clip of the simulated value, a fraction of the observed one.
    """

    basis: Mapping[str, str]
    series: Mapping[str, str]
    weights: Mapping[str, float]
    floor: float

    @classmethod
    def for_points(
        cls, points: Sequence[Point], weights: Mapping[str, float], floor: float
    ) -> Distance:
        """The distance over ``points``; series not in ``weights`` weigh 1."""
        series = {p.id: series_of(p) for p in points}
        return cls(
            basis={p.id: p.basis for p in points},
            series=series,
            weights={s: float(weights.get(s, 1.0)) for s in dict.fromkeys(series.values())},
            floor=floor,
        )

    def error(self, key: str, simulated: float, observed: float) -> float:
        """One point's log error (zero for a bound that is met)."""
        sim, obs = float(simulated), float(observed)
        if not np.isfinite(sim):
            sim = self.floor * obs if not sim > 0 else obs / self.floor
        sim = min(max(sim, self.floor * obs), obs / self.floor)
        error = float(np.log(sim / obs))
        basis = self.basis[key]
        if basis == "at_most":
            return max(0.0, error)
        if basis == "at_least":
            return max(0.0, -error)
        return error

    def errors(
        self, simulated: Mapping[str, float], observed: Mapping[str, float]
    ) -> dict[str, float]:
        """Each point's log error (zero for a bound that is met)."""
        return {
            key: self.error(key, simulated.get(key, np.nan), observed[key]) for key in self.basis
        }

    def by_series(
        self, simulated: Mapping[str, float], observed: Mapping[str, float]
    ) -> dict[str, float]:
        """Each series' root mean square log error."""
        errors = self.errors(simulated, observed)
        squares: dict[str, list[float]] = {}
        for key, error in errors.items():
            squares.setdefault(self.series[key], []).append(error**2)
        return {s: float(np.sqrt(np.mean(v))) for s, v in squares.items()}

    def __call__(self, simulated: Mapping[str, float], observed: Mapping[str, float]) -> float:
        series = self.by_series(simulated, observed)
        total = sum(self.weights[s] for s in series)
        return float(np.sqrt(sum(self.weights[s] * e**2 for s, e in series.items()) / total))
