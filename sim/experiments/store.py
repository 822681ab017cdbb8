"""The resume store: an unfinished ensemble's replicates on disk, one folder each.

An ensemble saved to a folder keeps every finished replicate in ``replicates/`` of a
partial folder, ``<out>/<scenario>/ensemble-partial-r<replicates>-u<users>-<digest>/``,
whose name follows from the scenario (its digest covers the seed, users, months and number
of replicates) and the tables kept, so a resumed ensemble finds it again. Each replicate is
written into a hidden temporary folder and renamed into place: a replicate folder that
exists is complete. Ctrl-C keeps them (:class:`EnsembleInterrupted`); ``resume=True`` runs
only the missing ones.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from sim.folder import write_resolved
from sim.scenario import Scenario

if TYPE_CHECKING:
    import pandas as pd


class EnsembleInterrupted(KeyboardInterrupt):
    """Ctrl-C during an ensemble: the finished replicates are kept in ``folder``."""

    def __init__(self, folder: Path | None, finished: int, total: int) -> None:
        self.folder, self.finished, self.total = folder, finished, total
        super().__init__(f"{finished} of {total} replicates finished")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.folder, self.finished, self.total))


class PartialEnsembleExists(ValueError):
    """An interrupted ensemble of the same scenario waits to be resumed."""


class ReplicateStore:
    """The finished replicates of an ensemble in progress, one folder each.

    Args:
        folder: the partial ensemble folder; replicates go into its ``replicates/``.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.root = folder / "replicates"
        if self.root.is_dir():  # what an interrupted write left behind
            for leftover in self.root.glob(".*"):
                shutil.rmtree(leftover, ignore_errors=True)

    def path(self, index: int) -> Path:
        """The folder of replicate ``index`` (present only once it is complete)."""
        return self.root / f"{index:06d}"

    def finished(self) -> list[int]:
        """Numbers of the replicates already on disk."""
        if not self.root.is_dir():
            return []
        return sorted(int(p.name) for p in self.root.iterdir() if p.name.isdigit())

    def write(self, index: int, parquet: Mapping[str, bytes]) -> None:
        """Store one replicate's tables (Parquet bytes by table name) atomically."""
        if self.path(index).exists():
            return
        self.root.mkdir(parents=True, exist_ok=True)
        temporary = Path(tempfile.mkdtemp(prefix=f".{index:06d}.", dir=self.root))
        try:
            for name, data in parquet.items():
                (temporary / f"{name}.parquet").write_bytes(data)
            os.replace(temporary, self.path(index))
        except BaseException:
            shutil.rmtree(temporary, ignore_errors=True)
            raise

    def read(self, index: int, names: Iterable[str]) -> dict[str, pa.Table]:
        """One replicate's tables."""
        return {name: pq.read_table(self.path(index) / f"{name}.parquet") for name in names}

    def describe(self, scenario: Scenario, tables: Sequence[str]) -> None:
        """What the partial folder holds (``partial.json``, ``resolved.toml``), for a reader
        who finds it after an interruption."""
        note = self.folder / "partial.json"
        if note.exists():
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        write_resolved(self.folder, scenario)
        note.write_text(
            json.dumps(
                {
                    "scenario": scenario.name,
                    "scenario_sha256": scenario.digest(),
                    "replicates": scenario.run.replicates,
                    "users": scenario.run.users,
                    "months": scenario.run.months,
                    "seed": scenario.run.seed,
                    "tables": list(tables),
                    "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
                },
                indent=2,
            ),
            encoding="utf-8",
        )


def partial_folder(root: Path, scenario: Scenario, tables: Sequence[str]) -> Path:
    """Where an unfinished ensemble of this scenario keeps its replicates.

    The name follows from the scenario's digest (which covers seed, users, months and the
    number of replicates) and the tables kept, so a resumed ensemble finds it again.
    """
    key = json.dumps({"scenario": scenario.digest(), "tables": sorted(tables)}, sort_keys=True)
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    run = scenario.run
    return root / scenario.name / f"ensemble-partial-r{run.replicates}-u{run.users}-{digest}"


def parquet_bytes(table: pa.Table) -> bytes:
    """A table as the bytes of a Parquet file (encoded in the worker, written here)."""
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return sink.getvalue().to_pybytes()


def concatenate(
    read: Callable[[int], Mapping[str, pa.Table]], total: int, names: Sequence[str]
) -> dict[str, pd.DataFrame]:
    """Every replicate's tables, one after the other in replicate order."""
    parts: dict[str, list[pa.Table]] = {name: [] for name in names}
    for index in range(total):
        tables = read(index)
        for name in names:
            parts[name].append(tables[name])
    # an empty table's text columns have no type: unify them with the others'
    return {
        name: pa.concat_tables(tables, promote_options="permissive").to_pandas()
        for name, tables in parts.items()
    }
