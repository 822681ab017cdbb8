"""Result folders: writing a run atomically, and reading it back.

A run folder ``results/<scenario>/<run-id>/`` holds:

* ``firms.parquet``, ``market.parquet``, ``migration.parquet``, ``startups.parquet``: the
  tidy tables (``.csv`` beside them with ``csv=True``); ``events.csv`` (and ``.parquet``);
* ``resolved.toml``: the scenario exactly as run, every default filled in;
* ``manifest.json``: package versions, seed, users, scenario hash, wall time;
* ``summary.md``: the key-outcomes table with the plots inline; ``plots/*.png``.

Everything is written into a hidden temporary folder beside the target, which is renamed
into place only when complete: an interrupted run leaves no half-written folder.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import tempfile
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd
import tomli_w

from sim.scenario import Scenario

TABLES = ("firms", "market", "migration", "startups", "events")
PACKAGES = ("killline", "mesa", "numpy", "pandas", "pyarrow", "matplotlib", "pydantic")


def run_id(scenario: Scenario, seed: int) -> str:
    """A readable, unique-enough folder name: time, seed and scenario hash."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-seed{seed}-{scenario.digest()[:8]}"


def versions() -> dict[str, str]:
    """Versions of Python and the packages a result depends on."""
    found = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def atomic_folder(final: Path, fill: Callable[[Path], None]) -> Path:
    """Create `final` by filling a temporary sibling folder and renaming it into place.

    If `final` exists already, a numbered suffix is added rather than overwriting it.
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    target = final
    counter = 1
    while target.exists():
        counter += 1
        target = final.with_name(f"{final.name}-{counter}")
    temporary = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        fill(temporary)
        os.replace(temporary, target)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    return target


def write_tables(folder: Path, tables: Mapping[str, pd.DataFrame], *, csv: bool) -> None:
    """Write each table as Parquet (and CSV on request); events always as CSV too."""
    for name, table in tables.items():
        table.to_parquet(folder / f"{name}.parquet", index=False)
        if csv or name == "events":
            table.to_csv(folder / f"{name}.csv", index=False)


def write_resolved(folder: Path, scenario: Scenario) -> None:
    """The scenario as run, every default filled in."""
    (folder / "resolved.toml").write_text(tomli_w.dumps(scenario.to_dict()), encoding="utf-8")


def write_manifest(folder: Path, manifest: Mapping[str, Any]) -> None:
    (folder / "manifest.json").write_text(
        json.dumps(manifest, indent=2, ensure_ascii=False, default=str), encoding="utf-8"
    )


def manifest_for(scenario: Scenario, **facts: Any) -> dict[str, Any]:
    """The manifest of a run: what ran (the scenario, its seed, users and months), with
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


class RunTables:
    """Named access to a result's tidy tables, kept in ``self.tables`` (see sim/tables.py)."""

    tables: dict[str, pd.DataFrame]

    @property
    def firms(self) -> pd.DataFrame:
        """One row per (month, firm), and per replicate in ensembles."""
        return self.tables["firms"]

    @property
    def market(self) -> pd.DataFrame:
        """One row per month, and per replicate in ensembles."""
        return self.tables["market"]

    @property
    def events(self) -> pd.DataFrame:
        """One row per event."""
        return self.tables["events"]

    @property
    def migration(self) -> pd.DataFrame:
        """One row per (month, from, to) with people moving."""
        return self.tables["migration"]

    @property
    def startups(self) -> pd.DataFrame:
        """One row per month: the long tail of startups."""
        return self.tables["startups"]


def read_tables(folder: str | Path) -> dict[str, pd.DataFrame]:
    """Read a result folder's tables back (Parquet)."""
    folder = Path(folder)
    if not (folder / "manifest.json").is_file():
        raise FileNotFoundError(f"{folder}: not a result folder (no manifest.json)")
    return {
        name: pd.read_parquet(folder / f"{name}.parquet")
        for name in TABLES
        if (folder / f"{name}.parquet").is_file()
    }


def read_manifest(folder: str | Path) -> dict[str, Any]:
    """A result folder's manifest."""
    return json.loads((Path(folder) / "manifest.json").read_text(encoding="utf-8"))


def default_root() -> Path:
    """Where results go when no ``--out`` is given: ``results/`` in the working folder."""
    return Path("results")
