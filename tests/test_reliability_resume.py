"""Resume everywhere: sweeps and sensitivity analyses keep their finished runs and resume
like ensembles; a resume with other settings is refused naming the difference; a lock keeps
two identical experiments apart; a damaged replicate on disk is reported and run again."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest
from helpers import cli
from pandas.testing import assert_frame_equal

from sim.experiments import (
    EnsembleInterrupted,
    PartialEnsembleExists,
    engine,
    ensemble,
    run_ensemble,
    sensitivity,
    sweep,
)
from sim.experiments.ensemble import ENSEMBLE_TABLES
from sim.experiments.store import RunStore, locked, partial_folder
from sim.scenario import Scenario, load_scenario, prepare_scenario

TINY = {"run.users": 500, "run.months": 4, "run.startups": 500}
TINY_ARGS = ["--users", "500", "--months", "4", "--set", "run.startups=500"]
GRID = {"kill_line.runway_months": [3, 6], "economics.legacy_margin": [0.2, 0.4]}
OUTCOMES = ["midtier_survival", "top3_end"]


@pytest.fixture(scope="module")
def tiny() -> Scenario:
    return load_scenario("sprint_race", TINY)


def interrupt_on(call: int, real, monkeypatch: pytest.MonkeyPatch, module, name: str) -> None:
    """Make ``module.name`` raise KeyboardInterrupt on its ``call``-th call (serial runs)."""
    calls = {"n": 0}

    def wrapped(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == call:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, wrapped)


# ---------------------------------------------------------------------------- sweeps


def test_an_interrupted_sweep_resumes_to_the_same_tables(
    tiny: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reference = sweep(tiny, GRID, 2, outcomes=OUTCOMES, workers=1, progress=False)
    interrupt_on(4, engine.run_outcomes, monkeypatch, engine, "run_outcomes")
    with pytest.raises(EnsembleInterrupted) as caught:
        sweep(tiny, GRID, 2, outcomes=OUTCOMES, workers=1, progress=False, out=tmp_path)
    assert caught.value.finished == 3 and caught.value.total == 8
    assert caught.value.unit == "runs" and caught.value.folder is not None
    assert len(RunStore(caught.value.folder).finished()) == 3
    monkeypatch.undo()

    with pytest.raises(PartialEnsembleExists, match="3 of 8 runs"):
        sweep(tiny, GRID, 2, outcomes=OUTCOMES, workers=1, progress=False, out=tmp_path)
    resumed = sweep(tiny, GRID, 2, outcomes=OUTCOMES, workers=1, progress=False,
                    out=tmp_path, resume=True, plots=False)  # fmt: skip
    assert resumed.facts["runs_resumed"] == 3
    for name in ("sweep", "means"):
        assert_frame_equal(resumed.tables[name], reference.tables[name], check_exact=True)
    assert resumed.folder is not None and resumed.folder.name.startswith("sweep-")
    assert not caught.value.folder.exists()  # the partial folder goes once the sweep is saved


def test_a_sweep_resumed_with_other_values_is_refused(
    tiny: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    interrupt_on(2, engine.run_outcomes, monkeypatch, engine, "run_outcomes")
    with pytest.raises(EnsembleInterrupted):
        sweep(tiny, GRID, 1, outcomes=OUTCOMES, workers=1, progress=False, out=tmp_path)
    monkeypatch.undo()
    other = {**GRID, "kill_line.runway_months": [3, 9]}
    with pytest.raises(
        PartialEnsembleExists, match=r"points\[2\]\.kill_line\.runway_months: 6 there, 9 now"
    ):
        sweep(tiny, other, 1, outcomes=OUTCOMES, workers=1, progress=False,
              out=tmp_path, resume=True)  # fmt: skip


def test_an_interrupted_cli_sensitivity_says_how_to_resume_and_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    interrupt_on(3, engine.run_outcomes, monkeypatch, engine, "run_outcomes")
    args = ["sensitivity", "sprint_race", *TINY_ARGS, "--param", "kill_line.runway_months=3:9",
            "--outcome", "top3_end", "--samples", "2", "--workers", "1", "--quiet",
            "--no-plots", "--out", str(tmp_path)]  # fmt: skip
    code, _, err = cli(args)
    assert code == 130
    assert "2 of 4 runs kept in" in err and "--resume" in err
    monkeypatch.undo()
    printed = shlex.split(err.strip().splitlines()[-1].split(": ", 2)[-1])
    assert printed[0] == "killline" and printed[-1] == "--resume"
    code, out, err = cli(printed[1:])
    assert code == 0, err
    folder = Path(out.strip().splitlines()[-1].removeprefix("results: "))
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["runs_resumed"] == 2 and manifest["runs"] == 4
    assert not list((tmp_path / "sprint_race").glob("sensitivity-morris-partial-*"))


def test_sensitivity_resumes_to_the_same_indices(
    tiny: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bounds = {"kill_line.runway_months": (3.0, 9.0)}
    options = {"samples": 2, "outcomes": ["top3_end"], "workers": 1, "progress": False}
    reference = sensitivity(tiny, bounds, **options)
    interrupt_on(2, engine.run_outcomes, monkeypatch, engine, "run_outcomes")
    with pytest.raises(EnsembleInterrupted):
        sensitivity(tiny, bounds, **options, out=tmp_path)
    monkeypatch.undo()
    resumed = sensitivity(tiny, bounds, **options, out=tmp_path, resume=True, plots=False)
    for name in ("indices", "runs"):
        assert_frame_equal(resumed.tables[name], reference.tables[name], check_exact=True)


def test_a_damaged_line_of_kept_runs_is_run_again(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "partial")
    store.write(0, {"a": 1.0})
    store.write(1, {"a": float("nan")})
    with store.path.open("a") as handle:
        handle.write('{"position": 2, "outco')  # a write cut short
    found = store.finished()
    assert sorted(found) == [0, 1] and store.corrupt == 1


# ---------------------------------------------------------------------------- ensembles


def test_an_ensemble_resumed_with_other_settings_is_refused(
    tiny: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    interrupt_on(2, ensemble.run_replicate, monkeypatch, ensemble, "run_replicate")
    with pytest.raises(EnsembleInterrupted):
        run_ensemble(tiny, 3, workers=1, out=tmp_path, progress=False)
    monkeypatch.undo()
    code, _, err = cli(["ensemble", "sprint_race", "--replicates", "3", "--users", "600",
                        "--months", "4", "--set", "run.startups=500", "--workers", "1",
                        "--quiet", "--out", str(tmp_path), "--resume"])  # fmt: skip
    assert code == 2 and err.count("\n") == 1
    assert "run.users: 500 there, 600 now" in err and "other settings" in err


def test_two_identical_ensembles_are_kept_apart(tiny: Scenario, tmp_path: Path) -> None:
    scenario = prepare_scenario(tiny, replicates=2)
    partial = partial_folder(tmp_path, scenario, [*ENSEMBLE_TABLES, "outcomes"])
    with locked(partial):  # as a first ensemble holds it while it runs
        with pytest.raises(PartialEnsembleExists, match="under way"):
            run_ensemble(scenario, workers=1, out=tmp_path, progress=False)
        code, _, err = cli(["ensemble", "sprint_race", "--replicates", "2", *TINY_ARGS,
                            "--workers", "1", "--quiet", "--out", str(tmp_path)])  # fmt: skip
        assert code == 2 and "under way" in err and err.count("\n") == 1
    # once it is done, the lock is gone with it
    result = run_ensemble(scenario, workers=1, out=tmp_path, progress=False, plots=False)
    assert result.replicates == 2
    assert not list((tmp_path / scenario.name).glob(".*.lock"))


def test_a_damaged_replicate_is_reported_and_run_again(
    tiny: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reference = run_ensemble(tiny, 3, workers=1, progress=False)
    interrupt_on(3, ensemble.run_replicate, monkeypatch, ensemble, "run_replicate")
    with pytest.raises(EnsembleInterrupted) as caught:
        run_ensemble(tiny, 3, workers=1, out=tmp_path, progress=False)
    monkeypatch.undo()
    table = caught.value.folder / "replicates" / "000001" / "firms.parquet"
    data = bytearray(table.read_bytes())
    data[len(data) // 2] ^= 0xFF
    table.write_bytes(bytes(data))
    code, out, err = cli(["ensemble", "sprint_race", "--replicates", "3", *TINY_ARGS,
                          "--workers", "1", "--quiet", "--no-plots", "--out", str(tmp_path),
                          "--resume"])  # fmt: skip
    assert code == 0, err
    assert "replicates 1 were damaged on disk and were run again" in err
    folder = Path(out.strip().splitlines()[-1].removeprefix("results: "))
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["replicates_corrupt_rerun"] == [1] and manifest["replicates_resumed"] == 1
    import pandas as pd

    firms = pd.read_parquet(folder / "firms.parquet")
    assert_frame_equal(firms, reference.tables["firms"], check_exact=True, check_dtype=False)
