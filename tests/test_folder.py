"""Tests for sim/folder.py: the one atomic results-folder writer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim import folder
from sim.api import RunResult
from sim.scenario import load_scenario
from tests.test_plots import make_tables


def test_atomic_folder_leaves_nothing_on_error(tmp_path: Path) -> None:
    def fill(into: Path) -> None:
        (into / "half.txt").write_text("half written")
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError, match="interrupted"):
        folder.atomic_folder(tmp_path / "out" / "run", fill)
    assert list((tmp_path / "out").iterdir()) == []


def test_atomic_folder_never_overwrites(tmp_path: Path) -> None:
    first = folder.atomic_folder(tmp_path / "run", lambda into: None)
    second = folder.atomic_folder(tmp_path / "run", lambda into: None)
    assert (first.name, second.name) == ("run", "run-2")


def run_result() -> RunResult:
    tables = make_tables(np.random.default_rng(7))
    tables["firms"]["mau_m"] = tables["firms"]["users_m"]
    tables["market"]["adopters_m"] = 500.0
    scenario = load_scenario("sprint_race")
    return RunResult(scenario=scenario, tables=tables, facts={"wall_seconds": 0.5})


def test_save_writes_a_run_folder(tmp_path: Path) -> None:
    written = folder.save(run_result(), tmp_path, plots=False, csv=True)
    assert written.parent == tmp_path / "sprint_race"
    names = {path.name for path in written.iterdir()}
    assert {"firms.parquet", "firms.csv", "events.csv", "resolved.toml", "manifest.json"} <= names
    assert "summary.md" in names and "plots" not in names
    back = folder.read_tables(written)
    pd.testing.assert_frame_equal(back["firms"], run_result().firms)
    manifest = folder.read_manifest(written)
    assert manifest["wall_seconds"] == 0.5 and manifest["tables"]["firms"] == len(back["firms"])


def test_save_leaves_nothing_when_a_report_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(result: object, into: Path, plots: bool) -> None:
        raise ValueError("broken report")

    monkeypatch.setitem(folder.REPORTS, "run", broken)
    with pytest.raises(ValueError, match="broken report"):
        folder.save(run_result(), tmp_path)
    assert list((tmp_path / "sprint_race").iterdir()) == []
