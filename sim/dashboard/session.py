"""A live run for the dashboard: the market built from a scenario and the settings, stepped
a month at a time, with the tables recorded so far and, for the live plots, the same
records as arrays (:class:`Snapshot`), read without building the tables.

The session runs the same :class:`sim.model.AIMarket` as ``killline run``: stepping it to
the horizon gives the same tables as a run of the same scenario and seed.

    live = LiveRun(load_scenario("sprint_race"))
    live.step(3)                 # three months
    live.tables()["firms"]       # months 0-3
    live.snapshot().share        # months 0-3 x firms, as an array
    live.reset({"kill_line.runway_months": 9})
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sim.dashboard.controls import apply, defaults

if TYPE_CHECKING:
    import pandas as pd

    from sim.model import AIMarket
    from sim.scenario import Scenario


NO_FIRM = "none"  # the migration table's name for no assistant
SERIES = ("share", "mau_m", "distance_to_kill_line", "capital_bn", "runway_months", "status")


@dataclass(frozen=True)
class Snapshot:
    """The run so far as arrays: months 0 to ``month`` in rows, the firms in roster order
    (``firms``) in columns.

    Attributes:
        month: the last month recorded.
        horizon: the scenario's last month.
        firms: firm ids, the columns of every array.
        series: column of the firm table (``SERIES``) -> months x firms array
            (``share`` a fraction, ``mau_m`` millions, ``distance_to_kill_line`` doublings,
            ``capital_bn`` billions of RMB, ``runway_months``, ``status`` text).
        moved_m: users who switched assistant over the run so far (millions), from (rows)
            -> to (columns), firms in ``firms`` order and no assistant last.
    """

    month: int
    horizon: int
    firms: tuple[str, ...]
    series: dict[str, np.ndarray]
    moved_m: np.ndarray


class LiveRun:
    """The market of a scenario under the dashboard's settings, stepped on demand.

    Args:
        scenario: the scenario as written (the controls' defaults).
        settings: control key -> value (sim/dashboard/controls.py); the rest at default.
    """

    def __init__(self, scenario: Scenario, settings: Mapping[str, float] | None = None) -> None:
        self.base = scenario
        self.defaults: dict[str, float] = defaults(scenario)
        self.settings: dict[str, float] = dict(self.defaults)
        self.model: AIMarket
        self.step_seconds = 0.0
        self.resets = 0
        self.reset(settings or {})

    def reset(self, settings: Mapping[str, float] | None = None) -> None:
        """Build month 0 again, with ``settings`` changed (validated by the schema)."""
        from sim.model import AIMarket

        wanted = {**self.settings, **(settings or {})}
        changed = {key: value for key, value in wanted.items() if value != self.defaults[key]}
        self.scenario = apply(self.base, changed)
        self.settings = wanted
        self.model = AIMarket(self.scenario)
        self.step_seconds = 0.0
        self.resets += 1  # the market built afresh: the live plots are drawn anew
        self._tables: dict[str, pd.DataFrame] | None = None
        firms = self.scenario.firm_ids
        self._flow_index = {name: i for i, name in enumerate([*firms, NO_FIRM])}
        self._moved_m = np.zeros((len(firms) + 1, len(firms) + 1))
        self._flows_read = 0

    @property
    def month(self) -> int:
        """Months stepped so far."""
        return self.model.month

    @property
    def horizon(self) -> int:
        """The scenario's last month."""
        return self.scenario.run.months

    @property
    def done(self) -> bool:
        """Whether the run has reached its horizon."""
        return self.month >= self.horizon

    def step(self, months: int = 1) -> int:
        """Step up to ``months`` months (never past the horizon); returns months stepped."""
        count = max(0, min(months, self.horizon - self.month))
        began = time.perf_counter()
        for _ in range(count):
            self.model.step()
        self.step_seconds += time.perf_counter() - began
        if count:
            self._tables = None
        return count

    @property
    def months_per_second(self) -> float:
        """Stepping speed so far (0 before the first step)."""
        return self.month / self.step_seconds if self.step_seconds > 0 else 0.0

    def tables(self) -> dict[str, pd.DataFrame]:
        """The tidy tables of months 0 to now (sim/tables.py), built once per month."""
        if self._tables is None:
            self._tables = self.model.tables()
        return self._tables

    def snapshot(self) -> Snapshot:
        """The run so far as arrays (:class:`Snapshot`), read from the model's records
        without building the tables; the migration matrix is summed as months arrive."""
        recorder = self.model.recorder
        ids = tuple(self.model.params.firm_ids)
        rows = len(recorder.firm_values["month"]) // len(ids)
        series = {
            column: np.asarray(recorder.firm_values[column]).reshape(rows, len(ids))
            for column in SERIES
        }
        flows = recorder.migration[self._flows_read :]
        if flows:
            index = self._flow_index
            sources = np.fromiter((index[row["from"]] for row in flows), int, len(flows))
            targets = np.fromiter((index[row["to"]] for row in flows), int, len(flows))
            moved = np.fromiter((row["users_m"] for row in flows), float, len(flows))
            np.add.at(self._moved_m, (sources, targets), moved)
            self._flows_read += len(flows)
        return Snapshot(self.month, self.horizon, ids, series, self._moved_m.copy())
