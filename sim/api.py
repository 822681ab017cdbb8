"""The Python API for notebooks and scripts: load, override, run, get tables and plots.

    from sim import api
    base = api.load("sprint_race")
    more_supply = base.with_overrides({"firms.doubao.supply": 0.6})
    runs = {"base": api.run(base, seed=1), "more supply": api.run(more_supply, seed=1)}
    api.compare(runs)                 # final shares side by side (sim/compare.py)
    runs["base"].plot("market_share") # a matplotlib Figure
    api.save(runs["base"], "results") # results/sprint_race/<run-id>/

Ensembles, sweeps and the claims check (``sim.experiments.run_ensemble``,
``sim.experiments.sweep``, ``sim.claims.check_claims``) take ``posterior=``: a posterior
file's path, ``"default"`` (seeds/posterior.toml) or a Posterior from :func:`posterior`;
replicate ``i`` then runs with the parameters drawn for it (sim/posterior.py).

The command line (sim/cli/) is a thin layer over these same functions.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from sim import folder
from sim.results import Result
from sim.scenario import Scenario, load_scenario, prepare_scenario

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from sim.plots.painter import Painter
    from sim.posterior import Posterior


@dataclass(kw_only=True)
class RunResult(Result):
    """One finished run: its scenario (``run.seed``, ``run.users``, ``run.months`` as run),
    its tables, and ``facts``: ``wall_seconds`` and ``stage_seconds`` (the simulation's time
    per stage of the month)."""

    kind: ClassVar[str] = "run"

    @property
    def seed(self) -> int:
        """The model's random seed."""
        return self.scenario.run.seed

    @property
    def users(self) -> int:
        """Simulated users."""
        return self.scenario.run.users

    @property
    def wall_seconds(self) -> float:
        """Seconds the simulation and its tables took."""
        return self.facts.get("wall_seconds", 0.0)

    @property
    def stage_seconds(self) -> dict[str, float]:
        """Seconds per stage of the month, summed over the months."""
        return self.facts.get("stage_seconds", {})

    def outcomes(self) -> pd.DataFrame:
        """One row per firm: shares, status, kill-line crossing and exit."""
        from sim.reports import outcome_table

        return outcome_table(self.firms, self.events)

    def plot(self, name: str) -> Figure:
        """One of the run plots by name: market_share, kill_line, capital_runway,
        migration, concentration, startups."""
        from sim.plots.run import run_plot, startup_targets

        return run_plot(
            self.tables,
            name,
            runway_threshold=self.scenario.kill_line.runway_months,
            startup_targets=startup_targets(),
        )


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

    The run's size comes from the scenario (``run.seed``, ``run.users``, ``run.months``);
    the keywords override it, through ``prepare_scenario``, so the result's scenario is
    always the one that ran.

    Args:
        scenario: a loaded Scenario, or a path or name to load.
        seed: random seed (default: the scenario's ``run.seed``).
        users: simulated users (default: ``run.users``).
        months: horizon in months (default: ``run.months``).
    """
    from sim.model import AIMarket

    scenario = prepare_scenario(scenario, seed=seed, users=users, months=months)
    began = time.perf_counter()
    model = AIMarket(scenario)
    model.run()
    tables = model.tables()
    facts = {
        "wall_seconds": round(time.perf_counter() - began, 3),
        "stage_seconds": {name: round(s, 4) for name, s in model.stage_seconds.items()},
    }
    return RunResult(scenario=scenario, tables=tables, facts=facts)


def posterior(path: str | Path = "default") -> Posterior:
    """A calibration posterior read and checked (``"default"``: seeds/posterior.toml), to
    pass as ``posterior=`` to ``run_ensemble``, ``sweep`` or ``check_claims``; its
    ``draw(seed, i)`` gives replicate ``i``'s parameters and ``summary()`` its spread.

    Raises:
        ScenarioError: a missing or bad file (one line).
    """
    from sim.posterior import as_posterior

    return as_posterior(path)


def save(
    result: Result,
    out: str | Path | None = None,
    *,
    plots: bool = True,
    csv: bool = False,
    painter: Painter | None = None,
) -> Path:
    """Write a result's folder atomically (see sim/folder.py; a run:
    ``<out>/<scenario>/<run-id>/``); returns its path. A ``painter``
    (sim/plots/painter.py) draws half of a run's plots in a second process."""
    return folder.save(result, out, plots=plots, csv=csv, painter=painter)


def open_folder(path: str | Path) -> Result:
    """A results folder read back as the result it holds: a :class:`RunResult`, an
    ensemble (``sim.experiments.EnsembleResult``), or a sweep or analysis (its tables).

    Raises:
        sim.folder.FolderInvalid: not a results folder, or a file missing or altered
            since it was written (checked against the checksums in its manifest).
    """
    from sim.scenario import read_toml

    path = Path(path)
    manifest = folder.verify_folder(path)
    scenario = Scenario.model_validate(read_toml(path / "resolved.toml", what="resolved scenario"))
    tables = folder.read_tables(path, sorted(table.stem for table in path.glob("*.parquet")))
    kind = manifest.get("kind", "run")
    if kind == "run":
        return RunResult(scenario=scenario, tables=tables, facts=manifest)
    if kind == "ensemble":
        from sim.experiments import EnsembleResult

        return EnsembleResult(scenario=scenario, tables=tables, facts=manifest, folder=path)
    return FolderResult(kind_of=kind, scenario=scenario, tables=tables, facts=manifest)


@dataclass(kw_only=True)
class FolderResult(Result):
    """A sweep or analysis read back from its folder: its tables and facts."""

    kind_of: str

    @property
    def kind(self) -> str:  # type: ignore[override]
        """The folder's kind (``sweep``, ``sensitivity``)."""
        return self.kind_of


def compare(runs: Mapping[str, Result] | list[Result], metric: str = "share") -> pd.DataFrame:
    """Final values of a firm metric side by side, one column per run or ensemble (an
    ensemble's median), labelled by the mapping's keys (or scenario and seed).

    For the outcome table, paired differences and plots, see :func:`comparison`.
    """
    from sim.compare import final_values

    return final_values(comparison(runs), metric).set_index("firm")


def comparison(runs: Mapping[str, Result] | list[Result]) -> list:
    """Runs or ensembles as the sides of a comparison (sim/compare.py): pass them to
    ``compare.outcome_table``, ``compare.paired_differences``, ``compare.save_comparison``
    or ``sim.plots.compare.compare_plot``."""
    from sim.compare import sides

    if isinstance(runs, Mapping):
        return sides(list(runs.values()), list(runs))
    return sides(list(runs))


def replot(path: str | Path, out: str | Path | None = None) -> list[Path]:
    """Redraw a results folder's plots from its tables: a run's run plots, an ensemble's
    ensemble charts (fans, survival, exits), never single-run charts of pooled replicates.

    Args:
        path: a run or ensemble folder.
        out: where to write the PNGs (default: the folder's ``plots/``).

    Raises:
        FileNotFoundError: not a results folder.
        ValueError: a sweep or analysis folder (its charts are written when it runs).
    """
    result = open_folder(path)
    target = Path(out) if out is not None else Path(path) / "plots"
    if result.kind == "run":
        from sim.plots.run import save_run_plots, startup_targets

        saved = save_run_plots(
            result.tables,
            target,
            runway_threshold=result.scenario.kill_line.runway_months,
            startup_targets=startup_targets(),
        )
    elif result.kind == "ensemble":
        from sim.plots.ensemble import save_ensemble_plots

        saved = save_ensemble_plots(result.summary_tables(), target)
    else:
        saved = None
    if saved is not None:
        folder.record_plots(Path(path), saved)
        return saved
    raise ValueError(
        f"{path}: a {result.kind} folder; plot redraws run and ensemble folders (a "
        f"{result.kind}'s charts are in its plots/ folder, drawn when it ran)"
    )
