"""``killline calibrate`` as a function: the fit, its posterior predictive, and the
folder they are written to.

    result = calibrate(load_settings().replace(particles=8), out="results", workers=2)
    result.folder          # results/calibration/<run-id>/
    result.posterior       # sim.posterior.Posterior

While it runs, the fit lives in ``<out>/calibration/<run-id>-partial/`` (pyabc's
``history.db`` and ``settings.json``); an interrupted calibration is resumed from it with
``resume=`` (``--resume``), with the same settings and any number of generations. When the
generations are done, the posterior predictive is run (``predictive_draws`` runs of the whole
history from the posterior, the same number at the parameters' point values) and
``<out>/calibration/<run-id>/`` is written atomically: ``posterior.toml``, ``history.db``,
the fit tables, the plots, ``summary.md``, ``report.html`` and ``manifest.json``. Resuming a
finished folder continues its fit into a new one.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from sim.experiments.engine import open_executor
from sim.experiments.store import EnsembleInterrupted, locked
from sim.inference.evaluate import evaluate
from sim.inference.settings import Settings
from sim.inference.smc import LIBRARY, Fit, generations_done, posterior_of
from sim.posterior import POSTERIOR_FILE, Posterior, code_hash, file_hash
from sim.priors import carried, load_priors
from sim.schema_types import SEEDS_DIR
from sim.staging import check_root

SETTINGS_NAME = "settings.json"
DATABASE = "history.db"
PARTIAL = "-partial"


class ResumeError(ValueError):
    """``--resume`` of a folder that is no calibration, or with other settings."""


@dataclass
class Calibration:
    """A finished calibration: its folder, posterior and tables."""

    folder: Path
    posterior: Posterior
    settings: Settings
    facts: dict[str, Any]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)


def run_id(settings: Settings) -> str:
    """A folder name: time, seed and a digest of the settings."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    digest = hashlib.sha256(json.dumps(settings.to_dict(), sort_keys=True).encode()).hexdigest()
    return f"{stamp}-seed{settings.seed}-{digest[:8]}"


def resume_settings(folder: Path, changes: dict[str, Any]) -> tuple[Settings, str]:
    """The settings of a calibration folder to resume, with ``changes`` (flags given):
    only ``generations`` and ``predictive_draws`` may differ; returns them and the
    folder's run id."""
    note = folder / SETTINGS_NAME
    if not (note.is_file() and (folder / DATABASE).is_file()):
        raise ResumeError(f"--resume {folder}: not a calibration folder (no {SETTINGS_NAME})")
    stored = json.loads(note.read_text(encoding="utf-8"))
    settings = Settings.from_dict(stored["settings"])
    for key, value in changes.items():
        if value is None or key in ("generations", "predictive_draws"):
            continue
        if getattr(settings, key) != value:
            raise ResumeError(
                f"--resume {folder}: it was run with {key} = {getattr(settings, key)}, "
                f"not {value}; only --generations and --predictive-draws may change"
            )
    kept = ("generations", "predictive_draws")
    return settings.replace(**{k: changes.get(k) for k in kept}), stored["run_id"]


def _work_folder(root: Path, settings: Settings, resume: Path | None) -> tuple[Path, str, Settings]:
    """The partial folder the fit runs in (made or found), its run id and settings."""
    if resume is None:
        name = run_id(settings)
        work = root / f"{name}{PARTIAL}"
        work.mkdir(parents=True)
        _note(work, settings, name, time_spent=0.0, generations=[])
        return work, name, settings
    resume = Path(resume)
    if resume.name.endswith(PARTIAL):
        stored = json.loads((resume / SETTINGS_NAME).read_text(encoding="utf-8"))
        return resume, stored["run_id"], settings
    name = run_id(settings)  # a finished folder: its fit continues into a new one
    work = root / f"{name}{PARTIAL}"
    work.mkdir(parents=True)
    shutil.copyfile(resume / DATABASE, work / DATABASE)
    stored = json.loads((resume / SETTINGS_NAME).read_text(encoding="utf-8"))
    _note(work, settings, name, stored.get("wall_seconds", 0.0), stored.get("generations", []))
    return work, name, settings


def _note(
    folder: Path, settings: Settings, name: str, time_spent: float, generations: list
) -> None:
    text = json.dumps(
        {
            "run_id": name,
            "settings": settings.to_dict(),
            "wall_seconds": round(time_spent, 3),
            "generations": generations,
        },
        indent=2,
    )
    temporary = folder / f".{SETTINGS_NAME}.tmp"
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(folder / SETTINGS_NAME)


def calibrate(
    settings: Settings,
    *,
    out: str | Path | None = None,
    resume: str | Path | None = None,
    workers: int | None = None,
    scheduler: Any = None,
    progress: bool | None = None,
    write_seeds: bool = False,
) -> Calibration:
    """Fit ``settings``' calibration (or resume one), write its folder and return it.

    Raises:
        EnsembleInterrupted: Ctrl-C; the finished generations stay in the partial folder.
        ResumeError: ``resume`` is no calibration folder.
    """
    from sim.inference.output import write_calibration
    from sim.inference.predictive import predictive_runs

    if out is None and resume is not None:  # beside the folder resumed
        root = check_root(Path(resume).resolve().parent)
    else:
        root = check_root(out) / "calibration"
    root.mkdir(parents=True, exist_ok=True)
    work, name, settings = _work_folder(root, settings, Path(resume) if resume else None)
    fit = Fit.prepare(settings)
    database = work / DATABASE
    stored = json.loads((work / SETTINGS_NAME).read_text(encoding="utf-8"))
    spent, generations = float(stored["wall_seconds"]), list(stored["generations"])
    began = time.perf_counter()

    def report(facts: dict[str, Any]) -> None:
        from sim.inference.sampler import print_generation

        print_generation(facts)
        generations.append(facts)
        _note(work, settings, name, spent + time.perf_counter() - began, generations)

    with locked(work), open_executor(workers, scheduler, evaluate) as executor:
        try:
            fit.run(
                database, executor, generations=settings.generations, progress=progress,
                report=report,
            )  # fmt: skip
        except KeyboardInterrupt:
            done = generations_done(database)
            raise EnsembleInterrupted(work, done, settings.generations, "generations") from None
        fit_seconds = spent + time.perf_counter() - began
        _note(work, settings, name, fit_seconds, generations)
        values, weights, table = posterior_of(database, fit.priors)
        meta = _meta(fit, table, generations, fit_seconds)
        posterior = Posterior(fit.keys, values, weights, carried(load_priors()), meta)
        predicted = time.perf_counter()
        full = fit.full
        posterior_tables, parameters = predictive_runs(
            full, posterior, settings.predictive_draws, executor
        )
        point_tables, _ = predictive_runs(full, None, settings.predictive_draws, executor)
        predictive_seconds = time.perf_counter() - predicted
    facts = {
        "run_id": name,
        "fit_wall_seconds": round(fit_seconds, 1),
        "predictive_wall_seconds": round(predictive_seconds, 1),
        "executor": executor.describe(),
    }
    folder = write_calibration(
        root / name, fit, posterior, table, generations, posterior_tables, point_tables,
        parameters, work, facts,
    )  # fmt: skip
    shutil.rmtree(work, ignore_errors=True)
    if write_seeds:
        copy_to_seeds(folder / "posterior.toml")
    return Calibration(folder, posterior, settings, facts)


def _meta(fit: Fit, table: pd.DataFrame, generations: list, wall: float) -> dict[str, Any]:
    """The [meta] table of posterior.toml: what was fitted, to what, how."""
    import pyabc

    settings = fit.settings
    panel = SEEDS_DIR / fit.scenario.observed
    meta = {
        "library": LIBRARY,
        "library_version": pyabc.__version__,
        "method": "ABC-SMC (pyabc.ABCSMC, QuantileEpsilon, multivariate normal transitions)",
        "scenario": settings.scenario,
        "panel": f"seeds/{fit.scenario.observed}",
        "panel_sha256": file_hash(panel),
        "code_sha256": code_hash(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "seed": settings.seed,
        "users": settings.users,
        "replicates_per_eval": settings.replicates_per_eval,
        "generations": len(table),
        "particles": settings.particles,
        "fit_until": settings.fit_until or "",
        "points_fitted": [p.id for p in fit.points],
        "points_held_out": [p.id for p in fit.held_out],
        "epsilon": [float(e) if e != float("inf") else -1.0 for e in table["epsilon"]],
        "evaluations": [int(e) for e in table["evaluations"]],
        "acceptance": [round(float(a), 6) for a in table["acceptance"]],
        "ess": [round(float(e), 3) for e in table["ess"]],
        "wall_seconds": round(wall, 1),
    }
    return meta


def copy_to_seeds(path: Path, target: Path = POSTERIOR_FILE) -> Path:
    """Copy a calibration's posterior.toml to seeds/posterior.toml (atomically)."""
    temporary = target.with_name(f".{target.name}.tmp")
    shutil.copyfile(path, temporary)
    temporary.replace(target)
    return target
