"""A live run for the dashboard: the market built from a scenario and the settings, stepped
a month at a time, with the tables recorded so far.

The session runs the same :class:`sim.model.AIMarket` as ``killline run``: stepping it to
the horizon gives the same tables as a run of the same scenario and seed.

    live = LiveRun(load_scenario("sprint_race"))
    live.step(3)                 # three months
    live.tables()["firms"]       # months 0-3
    live.reset({"kill_line.runway_months": 9})
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

from sim.dashboard.controls import apply, defaults

if TYPE_CHECKING:
    import pandas as pd

    from sim.model import AIMarket
    from sim.scenario import Scenario


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
        self._tables: dict[str, pd.DataFrame] | None = None

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
