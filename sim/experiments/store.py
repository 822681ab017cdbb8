"""The resume store: an unfinished ensemble's replicates on disk, one folder each.

An ensemble saved to a folder keeps every finished replicate in ``replicates/`` of a
partial folder, ``<out>/<scenario>/ensemble-partial-r<replicates>-u<users>-<digest>/``,
whose name follows from the scenario (its digest covers the seed, users, months and number
of replicates) and the tables kept, so a resumed ensemble finds it again. Each replicate is
written into a hidden temporary folder and renamed into place: a replicate folder that
exists is complete, and its ``sha256.json`` lets a resumed ensemble find one damaged since
(it is reported and run again). Ctrl-C keeps them (:class:`EnsembleInterrupted`);
``resume=True`` runs only the missing ones.

A sweep or a sensitivity analysis keeps its finished runs the same way, one line of outcomes
each in ``runs.jsonl`` of ``<out>/<scenario>/<kind>-partial-<digest>/`` (:class:`RunStore`).

Every partial folder records its settings in ``partial.json``: a resume whose settings
differ from a partial run's is refused naming the difference (:func:`check_resume`), and a
lock (``flock`` on a file beside it, released when its process ends) keeps two identical
experiments from running into the same folder at once (:func:`locked`).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import math
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from sim.folder import write_resolved
from sim.scenario import Scenario
from sim.staging import open_up

if TYPE_CHECKING:
    import pandas as pd


class EnsembleInterrupted(KeyboardInterrupt):
    """Ctrl-C during an ensemble (a sweep, an analysis): the finished replicates (runs) are
    kept in ``folder``."""

    def __init__(
        self, folder: Path | None, finished: int, total: int, unit: str = "replicates"
    ) -> None:
        self.folder, self.finished, self.total, self.unit = folder, finished, total, unit
        super().__init__(f"{finished} of {total} {unit} finished")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.folder, self.finished, self.total, self.unit))


class WorkLost(RuntimeError):
    """The workers died (a process killed, a Dask scheduler gone) during an ensemble, a
    sweep or an analysis: the finished replicates (runs) are kept in ``folder``."""

    def __init__(
        self, reason: str, folder: Path | None, finished: int, total: int, unit: str
    ) -> None:
        self.reason, self.folder, self.finished, self.total, self.unit = (
            reason, folder, finished, total, unit
        )  # fmt: skip
        kept = f"{finished} of {total} {unit} kept in {folder}" if folder else "nothing kept"
        super().__init__(f"{reason}: {kept}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (WorkLost, (self.reason, self.folder, self.finished, self.total, self.unit))


class PartialEnsembleExists(ValueError):
    """An interrupted ensemble (sweep, analysis) of the same scenario waits to be resumed,
    one with other settings is asked to resume, or an identical one is running."""


# ---------------------------------------------------------------------------- settings


def flat_settings(scenario: Scenario, **extra: object) -> dict[str, object]:
    """The settings a partial run is resumed with: every key path of the resolved scenario
    and the experiment's own (``extra``), as plain JSON values."""
    found: dict[str, object] = {}

    def walk(node: object, path: str) -> None:
        if isinstance(node, Mapping):
            for key, value in node.items():
                walk(value, f"{path}.{key}" if path else str(key))
        elif isinstance(node, list) and node and all(isinstance(v, Mapping) for v in node):
            for index, value in enumerate(node):
                walk(value, f"{path}[{index}]")
        else:
            found[path] = node

    walk(scenario.to_dict(), "")
    walk(json.loads(json.dumps(extra, default=str)), "")
    found.pop("name", None)
    return found


def check_resume(folder: Path, prefix: str, settings: Mapping[str, object]) -> None:
    """``--resume`` with no partial run of these settings: if one of other settings waits
    under the same scenario, refuse naming the difference (else there is nothing to resume
    and the run starts afresh)."""
    for note in sorted(folder.parent.glob(f"{prefix}-partial-*/partial.json")):
        try:
            theirs = json.loads(note.read_text(encoding="utf-8")).get("settings")
        except (OSError, ValueError):
            continue
        if not isinstance(theirs, dict) or note.parent == folder:
            continue
        keys = sorted(set(theirs) | set(settings))
        differ = [k for k in keys if theirs.get(k, "(none)") != settings.get(k, "(none)")]
        if differ:
            shown = "; ".join(
                f"{key}: {_shown(theirs.get(key))} there, {_shown(settings.get(key))} now"
                for key in differ[:3]
            )
            more = f" (and {len(differ) - 3} more)" if len(differ) > 3 else ""
            raise PartialEnsembleExists(
                f"--resume: the interrupted run in {note.parent} has other settings "
                f"({shown}{more}): resume it with its settings, or remove that folder"
            )


def _shown(value: object) -> str:
    return "(none)" if value is None else json.dumps(value, ensure_ascii=False)


@contextlib.contextmanager
def locked(folder: Path) -> Iterator[None]:
    """Hold the lock of a partial folder (a file beside it) while an experiment runs in it.

    Raises:
        PartialEnsembleExists: another process holds it: an identical run is under way.
    """
    folder.parent.mkdir(parents=True, exist_ok=True)
    path = folder.parent / f".{folder.name}.lock"
    handle = path.open("a+")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            owner = handle.read().strip() or "another process"
            raise PartialEnsembleExists(
                f"an identical run of this scenario is under way (process {owner}) in "
                f"{folder.parent}: wait for it, or use another --out"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        try:
            yield
        finally:
            path.unlink(missing_ok=True)
            with contextlib.suppress(OSError):  # an empty scenario folder goes too
                folder.parent.rmdir()
    finally:
        handle.close()


def describe_partial(folder: Path, scenario: Scenario, **facts: object) -> None:
    """``partial.json`` and ``resolved.toml`` of a partial folder, for a reader who finds it
    after an interruption and for a resume to compare its settings with."""
    note = folder / "partial.json"
    if note.exists():
        return
    folder.mkdir(parents=True, exist_ok=True)
    write_resolved(folder, scenario)
    note.write_text(
        json.dumps(
            {
                "scenario": scenario.name,
                "scenario_sha256": scenario.digest(),
                "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
                **facts,
                "settings": flat_settings(scenario, **facts),
            },
            indent=2,
            default=str,
        ),
        encoding="utf-8",
    )


class ReplicateStore:
    """The finished replicates of an ensemble in progress, one folder each.

    Args:
        folder: the partial ensemble folder; replicates go into its ``replicates/``.
        settings: the ensemble's settings besides its scenario (its posterior), recorded
            in ``partial.json`` for a resume to compare.
    """

    def __init__(self, folder: Path, settings: Mapping[str, object] | None = None) -> None:
        self.folder = folder
        self.settings = dict(settings or {})
        self.root = folder / "replicates"
        self.corrupt: list[int] = []
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

    def check(self, names: Iterable[str]) -> list[int]:
        """The replicates on disk whose every table is there with the checksum it was
        written with; a damaged one is removed (to be run again) and listed in ``corrupt``."""
        good = []
        for index in self.finished():
            if self._intact(self.path(index), names):
                good.append(index)
            else:
                shutil.rmtree(self.path(index), ignore_errors=True)
                self.corrupt.append(index)
        return good

    @staticmethod
    def _intact(folder: Path, names: Iterable[str]) -> bool:
        try:
            sums = json.loads((folder / "sha256.json").read_text(encoding="utf-8"))
            return all(
                hashlib.sha256((folder / f"{name}.parquet").read_bytes()).hexdigest() == sums[name]
                for name in names
            )
        except (OSError, ValueError, KeyError, TypeError):
            return False

    def write(self, index: int, parquet: Mapping[str, bytes]) -> None:
        """Store one replicate's tables (Parquet bytes by table name) atomically, with
        their checksums."""
        if self.path(index).exists():
            return
        self.root.mkdir(parents=True, exist_ok=True)
        temporary = Path(tempfile.mkdtemp(prefix=f".{index:06d}.", dir=self.root))
        try:
            for name, data in parquet.items():
                (temporary / f"{name}.parquet").write_bytes(data)
            sums = {name: hashlib.sha256(data).hexdigest() for name, data in parquet.items()}
            (temporary / "sha256.json").write_text(json.dumps(sums), encoding="utf-8")
            open_up(temporary)
            os.replace(temporary, self.path(index))
        except BaseException:
            shutil.rmtree(temporary, ignore_errors=True)
            raise

    def read(self, index: int, names: Iterable[str]) -> dict[str, pa.Table]:
        """One replicate's tables."""
        return {name: pq.read_table(self.path(index) / f"{name}.parquet") for name in names}

    def facts(self, scenario: Scenario, tables: Sequence[str]) -> dict[str, object]:
        """What an ensemble's partial folder records besides its scenario."""
        run = scenario.run
        return {
            "replicates": run.replicates,
            "users": run.users,
            "months": run.months,
            "seed": run.seed,
            "tables": list(tables),
            **self.settings,
        }

    def describe(self, scenario: Scenario, tables: Sequence[str]) -> None:
        """What the partial folder holds (``partial.json``, ``resolved.toml``)."""
        describe_partial(self.folder, scenario, **self.facts(scenario, tables))


class RunStore:
    """The finished runs of a sweep or a sensitivity analysis in progress: one JSON line
    of outcomes per run, by its position in the task list, in ``runs.jsonl``.

    Args:
        folder: the partial folder.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / "runs.jsonl"
        self.corrupt = 0

    def finished(self) -> dict[int, dict[str, float]]:
        """The runs on disk by position; a damaged line (a write cut short) is counted in
        ``corrupt`` and its run is done again."""
        found: dict[int, dict[str, float]] = {}
        self.corrupt = 0
        if not self.path.is_file():
            return found
        for line in self.path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                row = json.loads(line)
                position, values = int(row["position"]), dict(row["outcomes"])
                values = {k: (math.nan if v is None else v) for k, v in values.items()}
                if not all(isinstance(v, int | float) for v in values.values()):
                    raise ValueError(line)
            except (ValueError, KeyError, TypeError):
                self.corrupt += 1
                continue
            found[position] = {k: float(v) for k, v in values.items()}
        return found

    def write(self, position: int, outcomes: Mapping[str, float]) -> None:
        """Append one finished run."""
        self.folder.mkdir(parents=True, exist_ok=True)
        values = {k: (None if math.isnan(v) else v) for k, v in outcomes.items()}
        line = json.dumps({"position": position, "outcomes": values}, allow_nan=False)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")


def run_partial_folder(root: Path, scenario: Scenario, kind: str, **settings: object) -> Path:
    """Where an unfinished sweep or analysis of this scenario keeps its runs: the name
    follows from the scenario's digest and the experiment's settings."""
    key = json.dumps({"scenario": scenario.digest(), **settings}, sort_keys=True, default=str)
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    return root / scenario.name / f"{kind}-partial-{digest}"


def partial_folder(
    root: Path,
    scenario: Scenario,
    tables: Sequence[str],
    settings: Mapping[str, object] | None = None,
) -> Path:
    """Where an unfinished ensemble of this scenario keeps its replicates.

    The name follows from the scenario's digest (which covers seed, users, months and the
    number of replicates), the tables kept and the other ``settings`` (its posterior), so a
    resumed ensemble finds it again and one of other settings does not.
    """
    key = json.dumps(
        {"scenario": scenario.digest(), "tables": sorted(tables), **(settings or {})},
        sort_keys=True,
        default=str,
    )
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
