"""Validation: a run's or an ensemble's simulated users against an observed panel.

A scenario that names a panel (``observed = "observed_2024.toml"``, a file in seeds/) is
compared, point by point, with what was observed: an app's MAU in a month, a quarterly or
period average, a ratio of two periods (Q3 against Q2), a bound ("a few million at most"),
and the market's totals (CNNIC's adopters, QuestMobile's users of AI-native apps). A single
run gives one simulated value per point; an ensemble gives the median and the 90% band
(5th to 95th percentile) over its replicates. The panel's ``[[aims]]`` are the
backtest's targets (DeepSeek reaches 1亿 within three months of R1 ...), computed the
same way, with the share of replicates that meet each.

    from sim import validation
    points, aims = validation.compare(result.tables, "observed_2024.toml")

``write(folder, tables, scenario)`` writes ``validation.csv``, ``validation_aims.csv`` and
``plots/validation.png`` into a results folder (called by sim/folder.py).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import numpy as np
import pandas as pd
from pydantic import Field, ValidationError, model_validator

from sim.schema_types import SEEDS_DIR, ScenarioError, Strict, YearMonth, schema_error

if TYPE_CHECKING:
    from sim.scenario import Scenario

# measures read from the run's tables: firm measures from `firms`, the rest from `market`
FIRM_MEASURES = ("mau_m", "users_m", "api_share", "api_tokens_tn")
MARKET_MEASURES = ("adopters_m", "active_users_m", "mau_in_market_m")
BAND = (0.05, 0.95)
POINT_COLUMNS = (
    "id",
    "firm",
    "measure",
    "basis",
    "start",
    "end",
    "observed",
    "simulated",
    "low",
    "high",
    "sim_over_observed",
    "verdict",
    "share_met",
    "source",
)
AIM_COLUMNS = ("id", "aim", "target", "simulated", "low", "high", "met", "share_met")


class Window(Strict):
    """A calendar window of a firm's (or the market's) measure, reduced by `stat`."""

    firm: str
    measure: str = "mau_m"
    start: YearMonth
    end: YearMonth
    base_start: YearMonth | None = None
    base_end: YearMonth | None = None

    @model_validator(mode="after")
    def _order(self) -> Window:
        if self.end < self.start:
            raise ValueError(f"end: {self.end} is before start {self.start}")
        if (self.base_start is None) != (self.base_end is None):
            raise ValueError("base_start: give both base_start and base_end, or neither")
        if self.base_end is not None and self.base_end < self.base_start:
            raise ValueError(f"base_end: {self.base_end} is before base_start {self.base_start}")
        return self


class Point(Window):
    """One observed figure (see the header of seeds/observed_2024.toml)."""

    id: str
    basis: Literal["month", "average", "ratio", "at_most", "at_least"]
    value: Annotated[float, Field(gt=0.0)]
    source: str

    @model_validator(mode="after")
    def _basis(self) -> Point:
        if (self.basis == "ratio") != (self.base_start is not None):
            raise ValueError("base_start: a ratio needs base_start and base_end, others none")
        if self.basis == "month" and self.start != self.end:
            raise ValueError("end: a month point has start = end")
        return self


class Aim(Window):
    """A target of the backtest: a window's value (or its ratio to a base window, or its
    lead over the largest rival) at least, at most, or within a tolerance of `value`."""

    id: str
    text: str
    stat: Literal["mean", "max", "min", "lead"] = "mean"
    base_stat: Literal["mean", "max", "min"] = "mean"
    op: Literal["at_least", "at_most", "within"]
    value: Annotated[float, Field(gt=0.0)]
    tolerance: Annotated[float, Field(ge=0.0)] = 0.0


class Panel(Strict):
    """An observed panel file: its points and the backtest's aims."""

    points: list[Point]
    aims: list[Aim] = Field(default_factory=list)


@cache
def load_panel(name: str) -> Panel:
    """Read and check a panel file in seeds/ (one-line ScenarioError on bad input)."""
    from sim.scenario import read_toml

    path = SEEDS_DIR / name
    data = read_toml(path, what="observed panel")
    try:
        panel = Panel.model_validate(data)
    except ValidationError as exc:
        raise schema_error(path, exc) from None
    ids = [p.id for p in panel.points] + [a.id for a in panel.aims]
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        raise ScenarioError(path, "points.id", f"ids must be unique; repeated: {twice[0]!r}")
    return panel


# ---------------------------------------------------------------------------- the values


class _Paths:
    """The run's monthly paths, replicate x date, pivoted once per measure."""

    def __init__(self, tables: dict[str, pd.DataFrame]) -> None:
        self.tables = tables
        self.firm_ids = list(dict.fromkeys(tables["firms"]["firm"]))
        self.pivoted: dict[str, pd.DataFrame] = {}

    def _wide(self, table: str, measure: str) -> pd.DataFrame:
        key = f"{table}.{measure}"
        if key not in self.pivoted:
            rows = self.tables[table]
            index = rows["replicate"] if "replicate" in rows else pd.Series(0, index=rows.index)
            columns = ["firm", "date"] if table == "firms" else ["date"]
            frame = rows[columns].assign(replicate=index.to_numpy(), v=rows[measure].to_numpy())
            self.pivoted[key] = frame.pivot(index="replicate", columns=columns, values="v")
        return self.pivoted[key]

    def series(self, firm: str, measure: str) -> pd.DataFrame | None:
        """Replicate x date table of one measure (None when the model does not have it)."""
        if measure in FIRM_MEASURES:
            if firm not in self.firm_ids:
                return None
            return self._wide("firms", measure)[firm]
        if measure in MARKET_MEASURES:
            return self._wide("market", measure)
        return None


def _reduce(wide: pd.DataFrame, start: str, end: str, stat: str) -> np.ndarray:
    """Per replicate, the window's monthly values reduced by `stat` (NaN outside the run)."""
    dates = [d for d in wide.columns if start <= d <= end]
    if not dates:
        return np.full(len(wide), np.nan)
    values = wide[dates].to_numpy(dtype=float)
    return {"mean": np.mean, "max": np.max, "min": np.min}[stat](values, axis=1)


def _lead(paths: _Paths, window: Window) -> np.ndarray:
    """Per replicate, the firm's window mean over the largest rival's (above 1: it leads)."""
    own = _reduce(paths.series(window.firm, window.measure), window.start, window.end, "mean")
    rivals = [
        _reduce(paths.series(f, window.measure), window.start, window.end, "mean")
        for f in paths.firm_ids
        if f != window.firm
    ]
    best = np.max(np.vstack(rivals), axis=0) if rivals else np.zeros_like(own)
    with np.errstate(divide="ignore", invalid="ignore"):
        return own / best


def window_values(
    paths: _Paths, window: Window, stat: str = "mean", base_stat: str = "mean"
) -> np.ndarray | None:
    """Per replicate, the window's value (a ratio when it has a base window); None when
    the model does not have the measure."""
    if stat == "lead":
        return _lead(paths, window)
    wide = paths.series(window.firm, window.measure)
    if wide is None:
        return None
    value = _reduce(wide, window.start, window.end, stat)
    if window.base_start is not None:
        base = _reduce(wide, window.base_start, window.base_end, base_stat)
        with np.errstate(divide="ignore", invalid="ignore"):
            value = value / base
    return value


def point_values(paths: _Paths, point: Point) -> np.ndarray | None:
    """Per replicate, the simulated value of an observed point (its window's mean, or its
    largest / smallest month for an "at most" / "at least" bound); None when the model does
    not have the measure."""
    stat = {"at_most": "max", "at_least": "min"}.get(point.basis, "mean")
    return window_values(paths, point, stat)


def _meets(values: np.ndarray, op: str, target: float, tolerance: float = 0.0) -> np.ndarray:
    if op == "at_least":
        return values >= target
    if op == "at_most":
        return values <= target
    return np.abs(values / target - 1.0) <= tolerance


def _summary(values: np.ndarray) -> tuple[float, float, float]:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return (np.nan, np.nan, np.nan)
    low, median, high = np.quantile(finite, [BAND[0], 0.5, BAND[1]])
    return float(median), float(low), float(high)


def point_table(tables: dict[str, pd.DataFrame], panel: Panel) -> pd.DataFrame:
    """One row per observed point: observed, simulated (median over replicates), the 90%
    band, their ratio and a verdict ("in band", "above", "below" for values; "met" or
    "missed" for bounds; "not modelled" when the model has no such measure)."""
    ensemble = "replicate" in tables["firms"] and tables["firms"]["replicate"].nunique() > 1
    paths, rows = _Paths(tables), []
    for point in panel.points:
        values = point_values(paths, point)
        row = {name: getattr(point, name) for name in ("id", "firm", "measure", "basis")}
        row |= {"start": point.start, "end": point.end, "observed": point.value}
        row |= {"source": point.source}
        if values is None:
            rows.append(row | {"verdict": "not modelled"})
            continue
        median, low, high = _summary(values)
        row |= {"simulated": median, "low": low, "high": high}
        row["sim_over_observed"] = median / point.value
        if point.basis in ("at_most", "at_least"):
            met = _meets(values, point.basis, point.value)
            row["share_met"] = float(np.mean(met))
            row["verdict"] = (
                "met" if _meets(np.array([median]), point.basis, point.value)[0] else "missed"
            )
        elif ensemble and low <= point.value <= high:
            row["verdict"] = "in band"
        else:
            row["verdict"] = "above" if median > point.value else "below"
        rows.append(row)
    return pd.DataFrame(rows, columns=list(POINT_COLUMNS))


def aim_table(tables: dict[str, pd.DataFrame], panel: Panel) -> pd.DataFrame:
    """One row per aim: its value (median and 90% band), whether the median meets it, and
    the share of replicates that do."""
    paths, rows = _Paths(tables), []
    for aim in panel.aims:
        values = window_values(paths, aim, aim.stat, aim.base_stat)
        median, low, high = _summary(values)
        target = {"at_least": ">= ", "at_most": "<= ", "within": "= "}[aim.op] + f"{aim.value:g}"
        if aim.op == "within":
            target += f" +-{aim.tolerance:.0%}"
        met = _meets(values, aim.op, aim.value, aim.tolerance)
        rows.append(
            {
                "id": aim.id,
                "aim": aim.text,
                "target": target,
                "simulated": median,
                "low": low,
                "high": high,
                "met": bool(_meets(np.array([median]), aim.op, aim.value, aim.tolerance)[0]),
                "share_met": float(np.mean(met)),
            }
        )
    return pd.DataFrame(rows, columns=list(AIM_COLUMNS))


def compare(
    tables: dict[str, pd.DataFrame], panel: str | Panel
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The point table and the aim table of a run's or an ensemble's tables."""
    panel = load_panel(panel) if isinstance(panel, str) else panel
    return point_table(tables, panel), aim_table(tables, panel)


def write(
    folder: Path, tables: dict[str, pd.DataFrame], scenario: Scenario, *, plots: bool = True
) -> list[Path]:
    """``validation.csv``, ``validation_aims.csv`` and ``plots/validation.png`` of a result
    whose scenario names an observed panel; returns the paths written."""
    panel = load_panel(scenario.observed)
    points, aims = compare(tables, panel)
    written = [folder / "validation.csv", folder / "validation_aims.csv"]
    points.to_csv(written[0], index=False)
    aims.to_csv(written[1], index=False)
    if plots:
        from sim.plots.style import save_figures
        from sim.plots.validation import validation_figure

        written += save_figures(
            {"validation": lambda: validation_figure(tables, panel)}, folder / "plots"
        )
    return written
