"""The Python API for notebooks and scripts: load, override, run, get tables and plots.

    from sim import api
    base = api.load("sprint_race")
    more_supply = base.with_overrides({"firms.doubao.supply": 0.6})
    runs = {"base": api.run(base, seed=1), "more supply": api.run(more_supply, seed=1)}
    api.compare(runs)                 # final shares side by side
    runs["base"].plot("market_share") # a matplotlib Figure

The command line (sim/cli.py) is a thin layer over these same functions.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from sim import plots
from sim.model import AIMarket
from sim.results import (
    RunTables,
    atomic_folder,
    default_root,
    manifest_for,
    run_id,
    write_manifest,
    write_resolved,
    write_tables,
)
from sim.scenario import Scenario, load_scenario, prepare_scenario
from sim.summary import outcome_table, summary_markdown


@dataclass
class RunResult(RunTables):
    """One finished run: its scenario, seed, tables and timings."""

    scenario: Scenario
    seed: int
    users: int
    tables: dict[str, pd.DataFrame]
    wall_seconds: float
    stage_seconds: dict[str, float] = field(default_factory=dict)

    def outcomes(self) -> pd.DataFrame:
        """One row per firm: shares, status, kill-line crossing and exit."""
        return outcome_table(self.firms, self.events)

    def plot(self, name: str) -> Figure:
        """One of the run plots by name: market_share, kill_line, capital_runway,
        migration, concentration, startups."""
        runway = self.scenario.kill_line.runway_months
        makers = {
            "market_share": lambda: plots.market_share(self.firms),
            "kill_line": lambda: plots.kill_line_distance(self.firms, self.events),
            "capital_runway": lambda: plots.capital_and_runway(self.firms, runway_threshold=runway),
            "migration": lambda: plots.migration_heatmap(self.migration, self.firms),
            "concentration": lambda: plots.concentration(self.market),
            "startups": lambda: plots.startups(self.startups, startup_targets()),
        }
        if name not in makers:
            raise KeyError(f"unknown plot {name!r}; choose from {', '.join(makers)}")
        return makers[name]()


def load(scenario: str | Path, overrides: Mapping[str, Any] | None = None) -> Scenario:
    """Load a scenario by path or by name (``"sprint_race"``), with optional overrides."""
    return load_scenario(scenario, overrides)


def run(
    scenario: Scenario | str | Path,
    *,
    seed: int | None = None,
    users: int | None = None,
    months: int | None = None,
) -> RunResult:
    """Run a scenario once and return its tables.

    Args:
        scenario: a loaded Scenario, or a path or name to load.
        seed: random seed (default: the scenario's ``run.seed``).
        users: simulated users (default: ``run.users``).
        months: horizon in months (default: ``run.months``).
    """
    scenario = prepare_scenario(scenario, seed=seed, users=users, months=months)
    began = time.perf_counter()
    model = AIMarket(scenario)
    model.run()
    tables = model.tables()
    return RunResult(
        scenario=scenario,
        seed=scenario.run.seed,
        users=scenario.run.users,
        tables=tables,
        wall_seconds=time.perf_counter() - began,
        stage_seconds=dict(model.stage_seconds),
    )


def save(
    result: RunResult, out: str | Path | None = None, *, csv: bool = False, with_plots: bool = True
) -> Path:
    """Write a run's folder ``<out>/<scenario>/<run-id>/`` atomically; returns its path."""
    root = Path(out) if out is not None else default_root()
    final = root / result.scenario.name / run_id(result.scenario, result.seed)
    began = time.perf_counter()

    def fill(folder: Path) -> None:
        write_tables(folder, result.tables, csv=csv)
        write_resolved(folder, result.scenario)
        saved = []
        if with_plots:
            saved = plots.save_run_plots(
                result.tables,
                folder / "plots",
                runway_threshold=result.scenario.kill_line.runway_months,
                startup_targets=startup_targets(),
            )
        facts = {
            "scenario": f"`{result.scenario.name}`",
            "seed": result.seed,
            "simulated users": f"{result.users:,}",
            "months": result.scenario.run.months,
            "claims": ", ".join(result.scenario.claims) or "none",
            "wall time (s)": f"{result.wall_seconds:.2f}",
        }
        (folder / "summary.md").write_text(
            summary_markdown(result.scenario.title, result.tables, saved, facts), encoding="utf-8"
        )
        write_manifest(
            folder,
            manifest_for(
                result.scenario,
                wall_seconds=round(result.wall_seconds, 3),
                write_seconds=round(time.perf_counter() - began, 3),
                stage_seconds={k: round(v, 4) for k, v in result.stage_seconds.items()},
                tables={name: len(table) for name, table in result.tables.items()},
            ),
        )

    return atomic_folder(final, fill)


def compare(runs: Mapping[str, RunResult], metric: str = "share") -> pd.DataFrame:
    """Final values of a firm metric side by side, one column per run."""
    columns = {}
    for label, result in runs.items():
        last = result.firms[result.firms["month"] == result.firms["month"].max()]
        columns[label] = last.set_index("firm")[metric]
    return pd.DataFrame(columns)


def startup_targets() -> dict[str, float | str]:
    """The article's count of young AI firms (F1, F2) from seeds/calibration.toml."""
    from sim.calibration import targets

    found = targets()
    return {
        "date": found["startups_alive_2026_01"]["date"],
        "alive_aged_1_3": found["startups_alive_2026_01"]["value"],
        "closed_aged_1_3": found["startups_closed_2026_01"]["value"],
    }
