"""The folder of a calibration, written atomically (sim/staging.py):

* ``posterior.toml``: the posterior (sim/posterior.py): particles, weights, carried
  priors, meta; ``history.db``: pyabc's database of every generation (``--resume``
  continues it); ``settings.json``: the settings, for ``--resume``;
* ``fit.csv``: per observed point: observed, the point values' median, the posterior
  predictive's median and 90% band, the log errors, fitted or held out; ``series.csv``:
  per series and split: weight, points, RMS log error before and after;
* ``exits.csv``: 01.AI, Baichuan, Zhipu, MiniMax, Moonshot, StepFun: the share of runs
  still in the market at 2025-12;
* ``generations.csv`` (epsilon, evaluations, acceptance, ESS, wall time),
  ``parameters.csv`` (each predictive run's parameters), ``posterior_summary.csv``
  (per parameter: mean, sd, 5/50/95%, the prior's range, width of prior);
* ``predictive_firms.parquet``, ``predictive_market.parquet``: the predictive runs;
* ``plots/*.png``, ``summary.md``, ``report.html``, ``manifest.json``: the report.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sim.folder import checksums, manifest_for, write_manifest, write_tables
from sim.html import write_reports
from sim.inference.predictive import exit_table, fit_table, overall_error, series_table
from sim.reports import SIMULATION_TIME, Document, Section
from sim.staging import atomic_folder

if TYPE_CHECKING:
    from sim.inference.smc import Fit
    from sim.posterior import Posterior

HEADER = """The posterior of `killline calibrate` (sim/inference/, docs/calibration.md): the
particles of the last ABC-SMC generation with their weights, fitted to the 2024-25 panel
({panel}); the carried priors are drawn per replicate from their ranges.
Reproduce it with: killline calibrate{flags}"""


def _flags(fit: Fit) -> str:
    s = fit.settings
    flags = (
        f" --generations {s.generations} --particles {s.particles} --users {s.users}"
        f" --replicates-per-eval {s.replicates_per_eval} --seed {s.seed}"
    )
    return flags + (f" --fit-until {s.fit_until}" if s.fit_until else "")


def write_posterior_file(path: Path, posterior: Posterior, header: str) -> Path:
    """posterior.toml of a calibration (sim.posterior.write_posterior)."""
    from sim.posterior import write_posterior

    return write_posterior(
        path,
        posterior.keys,
        posterior.values,
        posterior.weights,
        posterior.carried,
        posterior.meta,
        header,
    )


def _number(value: float) -> str:
    if not np.isfinite(value):
        return "-"
    return f"{value:.3g}" if abs(value) < 100 else f"{value:,.0f}"


def write_calibration(
    final: Path,
    fit: Fit,
    posterior: Posterior,
    generations: pd.DataFrame,
    walls: list[dict[str, Any]],
    posterior_tables: dict[str, pd.DataFrame],
    point_tables: dict[str, pd.DataFrame],
    parameters: pd.DataFrame,
    work: Path,
    facts: dict[str, Any],
) -> Path:
    """Write the calibration's folder; returns its path."""
    from sim.plots.calibration import fit_figure, marginals_figure, pairs_figure
    from sim.plots.style import save_figures
    from sim.plots.validation import validation_figure

    fit_rows = fit_table(posterior_tables, point_tables, fit.points, fit.held_out, fit.distance)
    series = series_table(fit_rows, fit.distance.weights)
    exits = exit_table(posterior_tables, point_tables)
    summary = posterior.summary(fit.priors)
    wall = {int(g["t"]): g["wall_seconds"] for g in walls}
    generations = generations.assign(
        wall_seconds=[wall.get(int(t), np.nan) for t in generations["generation"]]
    )

    def fill(folder: Path) -> None:
        header = HEADER.format(panel=posterior.meta["panel"], flags=_flags(fit))
        write_posterior_file(folder / "posterior.toml", posterior, header)
        shutil.copyfile(work / "history.db", folder / "history.db")
        shutil.copyfile(work / "settings.json", folder / "settings.json")
        for name, table in (
            ("fit", fit_rows),
            ("series", series),
            ("exits", exits),
            ("generations", generations),
            ("parameters", parameters),
            ("posterior_summary", summary),
        ):
            table.to_csv(folder / f"{name}.csv", index=False)
        write_tables(
            folder,
            {
                "predictive_firms": posterior_tables["firms"],
                "predictive_market": posterior_tables["market"],
            },
            events_csv=False,
        )
        plots = save_figures(
            {
                "fit": lambda: fit_figure(fit_rows),
                "predictive_users": lambda: validation_figure(posterior_tables, fit.panel),
                "marginals": lambda: marginals_figure(
                    posterior.values, posterior.weights, fit.priors
                ),
                "pairs": lambda: pairs_figure(posterior.values, posterior.weights, fit.priors),
            },
            folder / "plots",
        )
        document = _document(
            fit, posterior, generations, fit_rows, series, exits, summary, facts, plots
        )
        write_reports(folder, document)
        write_manifest(
            folder,
            manifest_for(
                fit.full,
                kind="calibration",
                **facts,
                settings=fit.settings.to_dict(),
                posterior_meta=dict(posterior.meta),
                sha256=checksums(folder),
            ),
        )

    return atomic_folder(final, fill)


def _document(
    fit: Fit,
    posterior: Posterior,
    generations: pd.DataFrame,
    fit_rows: pd.DataFrame,
    series: pd.DataFrame,
    exits: pd.DataFrame,
    summary: pd.DataFrame,
    facts: dict[str, Any],
    plots: list[Path],
) -> Document:
    s = fit.settings
    weights = fit.distance.weights
    before, after = overall_error(fit_rows, weights, "fitted")
    held_before, held_after = overall_error(fit_rows, weights, "held out")
    info = {
        "scenario": f"{s.scenario} at {s.users:,} users, "
        f"{s.replicates_per_eval} run(s) per evaluation",
        "library": f"{posterior.meta['library']} {posterior.meta['library_version']} (ABC-SMC)",
        "generations": f"{len(generations)} of {s.particles} particles, seed {s.seed}",
        "evaluations": f"{int(generations['evaluations'].sum()):,}",
        "final ESS": f"{posterior.ess:.1f}",
        "fit on": f"points ending by {s.fit_until}" if s.fit_until else "every modelled point",
        "distance (fitted points)": f"{_number(before)} at the point values -> "
        f"{_number(after)} from the posterior",
        SIMULATION_TIME: f"{facts['fit_wall_seconds'] + facts['predictive_wall_seconds']:.2f}",
    }
    if s.fit_until:
        info["distance (held-out points)"] = f"{_number(held_before)} -> {_number(held_after)}"
    percent = "{:.0%}".format
    three = _number
    sections = [
        Section(
            "Generations",
            "Tolerance (epsilon: the distance a particle must be within; generation 0 is "
            "the prior), evaluations, acceptance, effective sample size and wall time.",
            generations,
            {"epsilon": three, "acceptance": percent, "ess": "{:.1f}", "wall_seconds": "{:.0f}"},
        ),
        Section(
            "Parameters: posterior against prior",
            "width_of_prior: the share of the prior's range (on its sampling scale) that the "
            "posterior's 90% interval covers; near 1 the data say little about it.",
            summary,
            {c: three for c in ("mean", "sd", "q05", "median", "q95", "prior_low", "prior_high")}
            | {"width_of_prior": percent},
        ),
        Section(
            "Fit per series",
            "RMS log error of the median (exp of it: the typical factor of miss) at the "
            "point values and from the posterior predictive.",
            series,
            {"rms_error_point_values": three, "rms_error_posterior": three, "weight": "{:.3g}"},
        ),
        Section(
            "Fit per point",
            "Observed; the medians of the point values' and the posterior's runs, the "
            "posterior's 90% band and the log errors (zero for a bound met).",
            fit_rows.drop(columns=["source", "series"]),
            {c: three for c in ("observed", "point_values", "posterior", "low", "high")}
            | {"error_point_values": three, "error_posterior": three},
        ),
        Section(
            "Exits by the end of 2025",
            "Share of runs in which each firm is still in the market at 2025-12 (01.AI and "
            "Baichuan left the general market in 2024-25; the others stayed).",
            exits,
            {"in_market_posterior": percent, "in_market_point_values": percent},
        ),
        Section("Plots", images=[Path("plots") / p.name for p in plots]),
    ]
    return Document("Calibration to the 2024-25 history", info, sections)
