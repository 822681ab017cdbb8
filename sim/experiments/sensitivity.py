"""Global sensitivity analysis with SALib: which parameters drive an outcome.

    killline sensitivity sprint_race --method morris \\
        --param economics.legacy_margin=0.2:0.6 --param kill_line.runway_months=3:9 \\
        --outcome midtier_survival --samples 20 --replicates 4

Two methods (``--param key.path=lo:hi`` gives each parameter's range; the outcomes are
those of sim/outcomes.py; sim/experiments/methods.py talks to SALib):

* ``morris``: elementary-effects screening (Morris 1991, with Campolongo's mu*). ``N``
  trajectories of ``D + 1`` points each on a grid of ``levels`` levels: ``N * (D + 1)``
  sample points. ``mu*`` (mean absolute effect of moving one parameter across a step of
  the grid) ranks the parameters; ``sigma`` (spread of those effects) large against
  ``mu*`` means interactions or non-linear effects.
* ``sobol``: variance-based indices (Saltelli's sampling). ``N`` base samples (a power of 2)
  give ``N * (D + 2)`` points, or ``N * (2D + 2)`` with second-order indices. ``S1``: the
  share of the outcome's variance due to the parameter alone; ``ST``: with all its
  interactions. Confidence intervals by bootstrap.

Seeds. Every sample point runs with the same ``R`` seeds (``--replicates R``): those of
replicates 0 to R-1 of the scenario's ensemble (sim/experiments/engine.py), and its
outcome is their mean. These common random numbers keep luck from masquerading as a
parameter's effect; with ``R = 1`` every point sees one and the same draw of luck, so the
indices describe that draw, and a larger ``R`` averages over luck. The sample itself is
drawn with the scenario's seed, so an analysis is reproducible. A parameter whose value in
the scenario is an integer is rounded to the nearest integer at every sample point (the
analysis uses the unrounded sample).

``sim.folder.save(result, out)`` writes ``<out>/<scenario>/sensitivity-<method>-<run-id>/``
with ``summary.md`` (sim/reports.py) and a chart per outcome (sim/plots/analysis.py).
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import pandas as pd

from sim.experiments.engine import run_points, run_store
from sim.experiments.methods import (
    DEFAULT_SAMPLES,
    METHODS,
    analyse,
    draw_sample,
    problem_for,
)
from sim.folder import save
from sim.outcomes import OUTCOMES, check_names
from sim.results import Result
from sim.scenario import Scenario, prepare_scenario
from sim.schema import ScenarioError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

# ---------------------------------------------------------------------------- the problem


def parse_bounds(text: str) -> tuple[str, float, float]:
    """``key.path=lo:hi`` -> ``("key.path", lo, hi)``.

    Raises:
        ValueError: when the text is not of that form, or lo >= hi.
    """
    key, sep, span = text.partition("=")
    low, colon, high = span.partition(":")
    key = key.strip()
    try:
        lo, hi = float(low), float(high)
    except ValueError:
        lo = hi = math.nan
    if not sep or not colon or not key or not (lo < hi):
        raise ValueError(f"--param {text!r}: expected key.path=lo:hi with numbers lo < hi")
    return key, lo, hi


def value_at(scenario: Scenario, key: str) -> Any:
    """The scenario's value at a key path (``economics.legacy_margin``, ``firms.kimi.quality``)."""
    node: Any = scenario.to_dict()
    for part in key.split("."):
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def check_bounds(scenario: Scenario, bounds: Mapping[str, tuple[float, float]]) -> dict[str, bool]:
    """Check every parameter against the scenario: the key exists (else ScenarioError naming
    the nearest key), it is numeric, and both ends of its range are valid values. Returns
    which parameters are integers."""
    integers = {}
    for key, (lo, hi) in bounds.items():
        try:
            current = value_at(scenario, key)
        except (KeyError, IndexError, ValueError, TypeError):
            scenario.with_overrides({key: lo})  # names the nearest valid key
            raise ScenarioError("--param", key, "unknown key") from None
        if isinstance(current, bool) or not isinstance(current, int | float):
            raise ScenarioError("--param", key, "only numeric parameters can be analysed")
        if not lo < hi:
            raise ScenarioError("--param", key, f"range {lo:g}:{hi:g} is empty (lo must be < hi)")
        integers[key] = isinstance(current, int)
        for end in (lo, hi):
            scenario.with_overrides({key: round(end) if integers[key] else end})
    return integers


# ---------------------------------------------------------------------------- the result


@dataclass(kw_only=True)
class SensitivityResult(Result):
    """A finished analysis.

    Attributes:
        scenario: the base scenario.
        tables: ``indices``, one row per (outcome, parameter), most influential first:
            ``mu``, ``mu_star``, ``sigma``, ``mu_star_conf`` (Morris) or ``S1``, ``S1_conf``,
            ``ST``, ``ST_conf`` (Sobol), ``rank`` from 1; ``samples``, one row per sample
            point: the parameter values as run and the outcomes averaged over the
            replicates; ``runs``, one row per (sample point, replicate) with its seed and
            outcomes; and ``second_order`` (Sobol second-order indices) when asked for.
        facts: the method, SALib's problem (names and bounds), settings, executor,
            timings (what the manifest records).
    """

    kind: ClassVar[str] = "sensitivity"
    folder: Path | None = None

    @property
    def method(self) -> str:
        """``morris`` or ``sobol``."""
        return self.facts["method"]

    @property
    def problem(self) -> dict[str, Any]:
        """SALib's problem: the parameters' names and bounds."""
        return self.facts["problem"]

    @property
    def indices(self) -> pd.DataFrame:
        """One row per (outcome, parameter), ranked."""
        return self.tables["indices"]

    @property
    def samples(self) -> pd.DataFrame:
        """One row per sample point: the parameters and the mean outcomes."""
        return self.tables["samples"]

    @property
    def runs(self) -> pd.DataFrame:
        """One row per (sample point, replicate)."""
        return self.tables["runs"]

    @property
    def second_order(self) -> pd.DataFrame | None:
        """Sobol second-order indices when asked for, else None."""
        return self.tables.get("second_order")

    def plot(self, outcome: str = "midtier_survival") -> Figure:
        """The method's chart for one outcome."""
        from sim.plots.analysis import morris_chart, sobol_chart

        chart = morris_chart if self.method == "morris" else sobol_chart
        return chart(self.indices, outcome)


# ---------------------------------------------------------------------------- running


def sensitivity(
    scenario: Scenario | str | Path,
    bounds: Mapping[str, tuple[float, float]],
    *,
    method: str = "morris",
    samples: int | None = None,
    replicates: int = 1,
    levels: int = 4,
    second_order: bool = False,
    outcomes: Iterable[str] | None = None,
    users: int | None = None,
    months: int | None = None,
    seed: int | None = None,
    workers: int | None = None,
    scheduler: Any = None,
    progress: bool | None = None,
    out: str | Path | None = None,
    resume: bool = False,
    plots: bool = True,
) -> SensitivityResult:
    """Run a Morris or Sobol analysis of the outcomes over parameter ranges.

    Args:
        scenario: a loaded Scenario, or a path or name to load.
        bounds: key path -> (low, high), e.g. ``{"economics.legacy_margin": (0.2, 0.6)}``.
        method: ``morris`` or ``sobol``.
        samples: Morris trajectories or Sobol base samples (default 10 and 64).
        replicates: seeds per sample point; the outcome is their mean.
        levels: Morris grid levels.
        second_order: Sobol second-order indices (doubles the sample).
        outcomes: outcome names (default: all of sim/outcomes.py).
        users, months, seed: run-size overrides (default: the scenario's).
        workers, scheduler, progress: as for :func:`sim.experiments.run_ensemble`.
        out, resume, plots: as for :func:`sim.experiments.sweep` (the folder is
            ``<out>/<scenario>/sensitivity-<method>-<run-id>/``).

    Raises:
        ScenarioError: an unknown key, a non-numeric parameter or a range out of bounds.
        RunFailed: a run raised; the message names the sample point and replicate.
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose from {', '.join(METHODS)}")
    if not bounds:
        raise ValueError("a sensitivity analysis needs at least one parameter")
    if replicates < 1:
        raise ValueError(f"replicates must be at least 1, not {replicates}")
    scenario = prepare_scenario(scenario, users=users, months=months, seed=seed)
    names = check_names(outcomes) if outcomes is not None else list(OUTCOMES)
    integers = check_bounds(scenario, bounds)
    problem = problem_for(bounds)
    count = samples if samples is not None else DEFAULT_SAMPLES[method]
    sample = draw_sample(
        problem,
        method,
        count,
        levels=levels,
        second_order=second_order,
        seed=scenario.run.seed,
    )
    keys = problem["names"]
    points = [
        {
            key: (round(float(v)) if integers[key] else float(v))
            for key, v in zip(keys, row, strict=True)
        }
        for row in sample
    ]
    settings = {"method": method, "points": points, "replicates": replicates, "outcomes": names}
    with run_store(out, scenario, f"sensitivity-{method}", resume, **settings) as store:
        results, ran = run_points(
            scenario,
            points,
            replicates,
            names,
            seeds=[scenario.run.seed] * len(points),
            point_label=lambda number: f"sample {number}",
            workers=workers,
            scheduler=scheduler,
            progress=progress,
            desc=f"{method} {scenario.name}",
            store=store,
            resume=resume,
        )
        result = _result(scenario, problem, method, sample, points, results, ran, names,
                         count=count, levels=levels, second_order=second_order,
                         replicates=replicates)  # fmt: skip
        if store is not None:
            result.folder = save(result, out, plots=plots)
            shutil.rmtree(store.folder, ignore_errors=True)
    return result


def _result(
    scenario: Scenario,
    problem: dict[str, Any],
    method: str,
    sample: Any,
    points: list[dict[str, Any]],
    results: list[tuple[int, int, int, dict[str, float]]],
    ran: dict[str, Any],
    names: list[str],
    *,
    count: int,
    levels: int,
    second_order: bool,
    replicates: int,
) -> SensitivityResult:
    """The analysis's indices and tables from its runs."""
    runs = pd.DataFrame(
        [
            {"sample": number, "replicate": index, "seed": seed, **points[number], **values}
            for number, index, seed, values in results
        ]
    )
    means = runs.groupby("sample", sort=True)[names].mean()
    samples_table = pd.concat(
        [pd.DataFrame(points).rename_axis("sample").reset_index(), means.reset_index(drop=True)],
        axis=1,
    )
    indices, second = analyse(
        problem,
        method,
        sample,
        {name: means[name].to_numpy(dtype=float) for name in names},
        levels=levels,
        second_order=second_order,
        seed=scenario.run.seed,
    )
    tables = {"indices": indices, "samples": samples_table, "runs": runs}
    if second is not None:
        tables["second_order"] = second
    return SensitivityResult(
        scenario=scenario,
        tables=tables,
        facts={
            **ran,
            "method": method,
            "problem": problem,
            "samples": count,
            "levels": levels if method == "morris" else None,
            "second_order": second_order if method == "sobol" else None,
            "sample_points": len(points),
            "replicates": replicates,
        },
    )
