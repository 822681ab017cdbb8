"""Results folders: ONE atomic writer for runs, ensembles, sweeps and sensitivity analyses.

A folder holds the result's tables (``<name>.parquet``; ``.csv`` beside them with
``csv=True``; a run's ``events.csv`` always), ``resolved.toml`` (the scenario exactly as run),
``manifest.json`` (versions, seed, scenario hash, timings), ``summary.md``, ``report.html``
(the same report as one self-contained page) and ``plots/*.png``; a run or ensemble whose
scenario names an observed panel also ``validation.csv``, ``validation_aims.csv`` and
``plots/validation.png`` (sim/validation.py). Names:

* a run: ``<out>/<scenario>/<run-id>/``
* an ensemble: ``<out>/<scenario>/ensemble-<run-id>/``
* a sweep: ``<out>/<scenario>/sweep-<run-id>/``
* a sensitivity analysis: ``<out>/<scenario>/sensitivity-<method>-<run-id>/``
* a claims check: ``<out>/claims/<run-id>/`` (its report: sim/claims/report.py)

Everything is written into a hidden staging folder beside the target, which is renamed
into place only when complete: an error or an interruption leaves no half-written folder
(and a staging folder whose writer was killed is removed by the next writer). The manifest
records the SHA-256 of every file; :func:`verify_folder` checks them before a folder is
read back (``killline plot``, ``compare``).

    from sim import folder
    folder.save(result, "results")          # dispatches on result.kind
"""

from __future__ import annotations

import hashlib
import json
import platform
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

# where folders are written; re-exported, so callers import them from here
from sim.staging import (  # noqa: F401
    OutputError,
    WriteFailed,
    atomic_folder,
    check_root,
    default_root,
)

if TYPE_CHECKING:
    import pandas as pd

    from sim.plots.painter import Painter
    from sim.reports import Document
    from sim.results import Result
    from sim.scenario import Scenario

TABLES = ("firms", "market", "migration", "startups", "events", "verticals")
# an ensemble's summaries written beside its tables (the rest are recomputed from them)
ENSEMBLE_SUMMARIES = ("percentiles", "exits", "survival")
PACKAGES = ("killline", "mesa", "numpy", "pandas", "pyarrow", "matplotlib", "pydantic")


def run_id(scenario: Scenario, seed: int) -> str:
    """A readable, unique-enough folder name: time, seed and scenario hash."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-seed{seed}-{scenario.digest()[:8]}"


def versions() -> dict[str, str]:
    """Versions of Python and the packages a result depends on."""
    from importlib import metadata

    found = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


# ---------------------------------------------------------------------------- integrity


class FolderInvalid(ValueError):
    """A results folder that is incomplete, corrupt or altered since it was written."""


def sha256_of(path: Path) -> str:
    """The SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def checksums(folder: Path) -> dict[str, str]:
    """SHA-256 of every file in a folder but its manifest, by path relative to it."""
    return {
        path.relative_to(folder).as_posix(): sha256_of(path)
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.name != "manifest.json"
    }


def verify_folder(folder: str | Path) -> dict[str, Any]:
    """Check a results folder against its manifest before reading it back; returns the
    manifest.

    Every file the manifest lists must be there with its SHA-256, except the plots, which
    ``killline plot`` may redraw. A folder written before manifests held checksums is
    checked for its manifest and tables alone.

    Raises:
        FolderInvalid: one line naming the folder and the first file that is missing, or
            altered since it was written.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FolderInvalid(f"{folder}: not a results folder (no such folder)")
    path = folder / "manifest.json"
    if not path.is_file():
        raise FolderInvalid(f"{folder}: not a results folder (no manifest.json)")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise FolderInvalid(f"{folder}: manifest.json is unreadable ({exc})") from None
    if not isinstance(manifest, dict):
        raise FolderInvalid(f"{folder}: manifest.json is not a manifest (not a JSON object)")
    for name, expected in (manifest.get("sha256") or {}).items():
        if name.startswith("plots/"):
            continue
        file = folder / name
        if not file.is_file():
            raise FolderInvalid(f"{folder}: {name} is missing (the manifest lists it)")
        if sha256_of(file) != expected:
            raise FolderInvalid(
                f"{folder}: {name} does not match its SHA-256 in manifest.json "
                "(altered or corrupt since it was written)"
            )
    return manifest


def record_plots(folder: Path, saved: list[Path]) -> None:
    """Update the manifest's checksums of plots redrawn into the folder."""
    path = folder / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    sums = manifest.setdefault("sha256", {})
    for plot in saved:
        plot = Path(plot)
        if plot.parent.resolve() == (folder / "plots").resolve():
            sums[f"plots/{plot.name}"] = sha256_of(plot)
    write_manifest(folder, manifest)


def write_tables(
    folder: Path,
    tables: Mapping[str, pd.DataFrame],
    *,
    csv: bool = False,
    events_csv: bool = True,
) -> None:
    """Write each table as Parquet (and CSV on request); the events as CSV too unless
    ``events_csv`` is False (an ensemble's events stay in Parquet only)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    for name, table in tables.items():
        # Straight through pyarrow, without pandas' index metadata: the same file to read.
        arrow = pa.Table.from_pandas(table, preserve_index=False)
        pq.write_table(arrow, folder / f"{name}.parquet")
        if csv or (events_csv and name == "events"):
            table.to_csv(folder / f"{name}.csv", index=False)


def write_resolved(folder: Path, scenario: Scenario) -> None:
    """The scenario as run, every default filled in."""
    import tomli_w

    (folder / "resolved.toml").write_text(tomli_w.dumps(scenario.to_dict()), encoding="utf-8")


def write_manifest(folder: Path, manifest: Mapping[str, Any]) -> None:
    """``manifest.json``: what ran, with what, and how long it took."""
    (folder / "manifest.json").write_text(
        json.dumps(manifest, indent=2, ensure_ascii=False, default=str), encoding="utf-8"
    )


def manifest_for(scenario: Scenario, **facts: Any) -> dict[str, Any]:
    """The manifest of a result: what ran (the scenario, its seed, users and months), with
    what, and how long it took; `facts` add to it."""
    return {
        "scenario": scenario.name,
        "title": scenario.title,
        "scenario_sha256": scenario.digest(),
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "versions": versions(),
        "seed": scenario.run.seed,
        "users": scenario.run.users,
        "months": scenario.run.months,
        **facts,
    }


def read_tables(folder: str | Path, names: Iterable[str] | None = None) -> dict[str, pd.DataFrame]:
    """Read a result folder's tables back (Parquet): ``names``, or by default the tables a
    run writes (sim/tables.py)."""
    import pandas as pd

    folder = Path(folder)
    if not (folder / "manifest.json").is_file():
        raise FileNotFoundError(f"{folder}: not a result folder (no manifest.json)")
    tables = {}
    for name in TABLES if names is None else names:
        path = folder / f"{name}.parquet"
        if path.is_file():
            try:
                tables[name] = pd.read_parquet(path)
            except Exception as exc:  # pyarrow raises its own kinds for a damaged file
                raise FolderInvalid(f"{folder}: {path.name} is unreadable ({exc})") from None
    return tables


def read_manifest(folder: str | Path) -> dict[str, Any]:
    """A result folder's manifest."""
    return json.loads((Path(folder) / "manifest.json").read_text(encoding="utf-8"))


# ---------------------------------------------------------------------------- saving a result


def folder_name(result: Result) -> str:
    """The folder's name under ``<out>/<scenario>/``, by the result's kind."""
    scenario = result.scenario
    stamp = run_id(scenario, result.facts.get("seed", scenario.run.seed))
    prefix = {"run": "", "ensemble": "ensemble-", "sweep": "sweep-", "claims": ""}.get(result.kind)
    if prefix is None and result.kind == "sensitivity":
        prefix = f"sensitivity-{result.facts['method']}-"
    if prefix is None:
        raise ValueError(f"unknown kind of result {result.kind!r}")
    return prefix + stamp


def save(
    result: Result,
    out: str | Path | None = None,
    *,
    plots: bool = True,
    csv: bool = False,
    painter: Painter | None = None,
) -> Path:
    """Write a result's folder ``<out>/<scenario>/<name>/`` atomically; returns its path.

    The tables of :func:`folder_tables` are written as Parquet (see :func:`write_tables`),
    then ``resolved.toml``, the plots and ``summary.md`` of the result's kind, and
    ``manifest.json`` (the scenario, versions and ``result.facts``).

    Args:
        result: a run, ensemble, sweep or sensitivity result (sim/results.py).
        out: the results root (default: ``results/``).
        plots: draw the plots (``plots/*.png``).
        csv: write a CSV beside each Parquet table.
        painter: a second process that draws half of a run's plots (sim/plots/painter.py).
    """
    began = time.perf_counter()
    root = check_root(out)
    group = "claims" if result.kind == "claims" else result.scenario.name
    final = root / group / folder_name(result)
    report = REPORTS.get(result.kind)
    if report is None:
        raise ValueError(f"unknown kind of result {result.kind!r}")

    tables = folder_tables(result)

    def fill(folder: Path) -> None:
        write_tables(folder, tables, csv=csv, events_csv=result.kind == "run")
        write_resolved(folder, result.scenario)
        if painter is not None and result.kind == "run":
            _run_report(result, folder, plots, painter)
        else:
            report(result, folder, plots)
        if result.scenario.observed and result.kind in ("run", "ensemble"):
            from sim import validation

            validation.write(folder, result.tables, result.scenario, plots=plots)
        facts = {"kind": result.kind, **result.facts} if result.kind != "run" else result.facts
        write_manifest(
            folder,
            manifest_for(
                result.scenario,
                **facts,
                write_seconds=round(time.perf_counter() - began, 3),
                tables={name: len(table) for name, table in tables.items()},
                sha256=checksums(folder),
            ),
        )

    return atomic_folder(final, fill)


def _run_report(result: Result, folder: Path, plots: bool, painter: Painter | None = None) -> None:
    """A run's plots (half drawn by the painter, when there is one) and summary.md."""
    from sim.reports import run_facts, run_summary

    scenario, facts = result.scenario, result.facts
    saved = []
    if plots:
        from sim.plots.run import save_run_plots, startup_targets

        saved = save_run_plots(
            result.tables,
            folder / "plots",
            runway_threshold=scenario.kill_line.runway_months,
            startup_targets=startup_targets(),
            painter=painter,
            tables_folder=folder,
        )
    worded = run_facts(scenario, facts)
    _write_summary(folder, run_summary(scenario.title, result.tables, worded, saved))


def folder_tables(result: Result) -> Mapping[str, pd.DataFrame]:
    """The tables a result's folder holds: ``result.tables``; for an ensemble also its
    ``percentiles``, ``exits`` (the fates, sim/fates.py) and ``survival``; a sweep's
    parameter columns that mix types (numbers and text) written as text."""
    if result.kind == "ensemble":
        summaries = result.summary_tables()
        return {**result.tables, **{name: summaries[name] for name in ENSEMBLE_SUMMARIES}}
    if result.kind == "sweep":
        return {name: _parquet_safe(table) for name, table in result.tables.items()}
    return result.tables


def _parquet_safe(table: pd.DataFrame) -> pd.DataFrame:
    """Columns mixing types (a sweep's parameter values) become text for Parquet."""
    safe = table.copy()
    for column in safe.columns:
        if safe[column].dtype == object and safe[column].map(type).nunique() > 1:
            safe[column] = safe[column].astype(str)
    return safe


def _write_summary(folder: Path, document: Document) -> None:
    """``summary.md`` and ``report.html`` of the report (sim/html.py)."""
    from sim.html import write_reports

    write_reports(folder, document)


def _ensemble_report(result: Result, folder: Path, plots: bool) -> None:
    """An ensemble's plots (sim/plots/ensemble.py) and summary.md."""
    from sim.reports import ensemble_facts, ensemble_summary

    scenario, facts = result.scenario, result.facts
    tables = result.summary_tables()
    saved = []
    if plots:
        from sim.plots.ensemble import save_ensemble_plots

        saved = save_ensemble_plots(tables, folder / "plots")
    worded = ensemble_facts(scenario, facts)
    _write_summary(folder, ensemble_summary(scenario.title, tables, worded, saved))


def _sweep_report(result: Result, folder: Path, plots: bool) -> None:
    """A sweep's charts (one per parameter, sim/plots/analysis.py) and summary.md."""
    from sim.outcomes import OUTCOMES
    from sim.reports import sweep_facts, sweep_summary

    scenario, facts = result.scenario, result.facts
    means = result.tables["means"]
    parameters = list(facts["grid"])
    saved = []
    if plots:
        from sim.plots.analysis import sweep_chart
        from sim.plots.style import save_figures

        charts = {
            f"sweep-{parameter.replace('.', '_')}": (
                lambda parameter=parameter: sweep_chart(means, parameter, parameters)
            )
            for parameter in parameters
        }
        saved = save_figures(charts, folder / "plots")
    worded = sweep_facts(scenario, facts, runs=len(result.tables["sweep"]))
    text = sweep_summary(scenario.title, means, parameters, worded, saved, outcomes=list(OUTCOMES))
    _write_summary(folder, text)


def _sensitivity_report(result: Result, folder: Path, plots: bool) -> None:
    """A sensitivity analysis's charts (one per outcome, sim/plots/analysis.py) and
    summary.md."""
    from sim.experiments.methods import INDEX_COLUMNS
    from sim.reports import sensitivity_facts, sensitivity_summary

    scenario, facts = result.scenario, result.facts
    method = facts["method"]
    indices = result.tables["indices"]
    saved = []
    if plots:
        from sim.plots.analysis import morris_chart, sobol_chart
        from sim.plots.style import save_figures

        chart = morris_chart if method == "morris" else sobol_chart
        charts = {
            f"{method}-{outcome}": lambda outcome=outcome: chart(indices, outcome)
            for outcome in dict.fromkeys(indices["outcome"])
        }
        saved = save_figures(charts, folder / "plots")
    worded = sensitivity_facts(scenario, facts)
    text = sensitivity_summary(
        scenario.title, method, indices, INDEX_COLUMNS[method], worded, saved
    )
    _write_summary(folder, text)


def _claims_report(result: Result, folder: Path, plots: bool) -> None:
    """A claims check's report.md and charts (sim/claims/report.py)."""
    from sim.claims.report import write_report

    write_report(result, folder, plots)


REPORTS: dict[str, Callable[[Result, Path, bool], None]] = {
    "claims": _claims_report,
    "run": _run_report,
    "ensemble": _ensemble_report,
    "sweep": _sweep_report,
    "sensitivity": _sensitivity_report,
}
