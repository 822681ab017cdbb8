"""Summaries of a history run: the simulated value of every modelled point of the observed
panel, computed as the validation table computes it (sim/validation.py).

A point is *fitted* when the model has its measure (an app's MAU, the market's adopters and
users of AI-native apps, a vendor's API share or its API tokens), when it ends after month
0 (the roster fixes month 0: no parameter moves it), and, with ``fit_until``, when it ends
by then; the points after ``fit_until`` are *held out* (the out-of-sample split).

    from sim.inference import summaries
    fitted, held_out = summaries.split(panel, start="2024-07", fit_until="2025-06")
    values = summaries.summarize(tables, fitted)      # {point id: simulated value}

Each point belongs to a *series*, ``firm.measure`` (``market.adopters_m`` for the market):
the distance (sim/inference/distance.py) weighs series, not points, so a firm observed
often does not outweigh one observed once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from sim.validation import FIRM_MEASURES, MARKET_MEASURES, Panel, Point


def series_of(point: Point) -> str:
    """The series a point belongs to: ``firm.measure``."""
    return f"{point.firm}.{point.measure}"


def modelled(point: Point) -> bool:
    """Whether the model has the point's measure."""
    table = FIRM_MEASURES if point.firm != "market" else MARKET_MEASURES
    return point.measure in table


def split(
    panel: Panel, start: str, fit_until: str | None = None
) -> tuple[tuple[Point, ...], tuple[Point, ...]]:
    """The points a calibration fits and those it holds out.

    Args:
        panel: the observed panel.
        start: the first simulated month (``run.start``, YYYY-MM); points ending before it
            are month 0's, fixed by the roster.
        fit_until: the last month of the fit (YYYY-MM); None: every point is fitted.
    """
    usable = [p for p in panel.points if modelled(p) and p.end >= start]
    if fit_until is None:
        return tuple(usable), ()
    return (
        tuple(p for p in usable if p.end <= fit_until),
        tuple(p for p in usable if p.end > fit_until),
    )


class RunArrays:
    """A run's (or an ensemble's) monthly values as replicate x month arrays, built once:
    the same windows, means and ratios as sim/validation.py's tables, at a fraction of
    their cost (a calibration reads them thousands of times)."""

    def __init__(self, tables: Mapping[str, pd.DataFrame]) -> None:
        self.tables = tables
        firms, market = tables["firms"], tables["market"]
        self.dates = np.unique(
            np.concatenate([firms["date"].to_numpy(str), market["date"].to_numpy(str)])
        )
        self.replicates = np.unique(self._replicate(firms))
        self.codes = {name: self._codes(tables[name]) for name in ("firms", "market")}
        self.firm_ids = firms["firm"].to_numpy(str)
        self.cache: dict[tuple[str, str], np.ndarray] = {}

    @staticmethod
    def _replicate(rows: pd.DataFrame) -> np.ndarray:
        if "replicate" in rows:
            return rows["replicate"].to_numpy()
        return np.zeros(len(rows), dtype=int)

    def _codes(self, rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        dates = np.searchsorted(self.dates, rows["date"].to_numpy(str))
        return np.searchsorted(self.replicates, self._replicate(rows)), dates

    def series(self, firm: str, measure: str) -> np.ndarray | None:
        """Replicate x month values of a measure (NaN where a firm has no row); None when
        the model does not have it."""
        key = (firm, measure)
        if key not in self.cache:
            if firm == "market":
                name, mask = "market", slice(None)
            else:
                name, mask = "firms", self.firm_ids == firm
            rows = self.tables[name]
            if measure not in rows or not np.any(mask):
                return None
            replicate, date = self.codes[name]
            values = np.full((len(self.replicates), len(self.dates)), np.nan)
            values[replicate[mask], date[mask]] = rows[measure].to_numpy(float)[mask]
            self.cache[key] = values
        return self.cache[key]

    def window(self, values: np.ndarray, start: str, end: str, stat: str) -> np.ndarray:
        inside = (self.dates >= start) & (self.dates <= end)
        if not inside.any():
            return np.full(len(values), np.nan)
        return {"mean": np.mean, "max": np.max, "min": np.min}[stat](values[:, inside], axis=1)

    def point(self, point: Point) -> np.ndarray | None:
        """Per replicate, the simulated value of a point (as sim/validation.point_values)."""
        if not modelled(point):
            return None
        values = self.series(point.firm, point.measure)
        if values is None:
            return None
        stat = {"at_most": "max", "at_least": "min"}.get(point.basis, "mean")
        found = self.window(values, point.start, point.end, stat)
        if point.base_start is not None:
            base = self.window(values, point.base_start, point.base_end, "mean")
            with np.errstate(divide="ignore", invalid="ignore"):
                found = found / base
        return found


def summarize(tables: Mapping[str, pd.DataFrame], points: Sequence[Point]) -> dict[str, float]:
    """The simulated value of every point: the median over the tables' replicates (NaN
    where the window has no finite value, a ratio over a zero base say)."""
    arrays = RunArrays(tables)
    found = {}
    for point in points:
        values = arrays.point(point)
        finite = values[np.isfinite(values)] if values is not None else np.array([])
        found[point.id] = float(np.median(finite)) if finite.size else float("nan")
    return found


def per_replicate(tables: Mapping[str, pd.DataFrame], points: Sequence[Point]) -> pd.DataFrame:
    """One row per replicate, one column per point: the simulated values."""
    arrays = RunArrays(tables)
    columns = {}
    for point in points:
        values = arrays.point(point)
        columns[point.id] = (
            values if values is not None else np.full(len(arrays.replicates), np.nan)
        )
    return pd.DataFrame(columns, index=pd.Index(arrays.replicates, name="replicate"))
