"""Ensembles: seeds, executors (serial, local processes, a real Dask cluster), resume after
an interruption, failing replicates, the results folder and the command line."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import cli
from pandas.testing import assert_frame_equal

from sim.experiments import (
    EnsembleInterrupted,
    EnsembleResult,
    PartialEnsembleExists,
    ReplicateFailed,
    engine,
    ensemble,
    executors,
    replicate_seed,
    replicate_seeds,
    run_ensemble,
)
from sim.experiments.ensemble import ENSEMBLE_TABLES
from sim.experiments.stats import wilson_interval
from sim.experiments.store import partial_folder
from sim.model import AIMarket
from sim.outcomes import OUTCOMES, compute
from sim.plots.ensemble import ENSEMBLE_PLOTS
from sim.scenario import Scenario, load_scenario, prepare_scenario

SIZE = {"run.users": 2000, "run.months": 12, "run.startups": 2000}
SIZE_ARGS = ["--users", "2000", "--months", "12", "--set", "run.startups=2000"]
REPLICATES = 5


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return load_scenario("sprint_race", SIZE)


@pytest.fixture(scope="module")
def serial(scenario: Scenario) -> EnsembleResult:
    """The reference: every replicate run one after another in this process."""
    return run_ensemble(scenario, REPLICATES, workers=1, progress=False)


@pytest.fixture(scope="module")
def dask_cluster() -> Iterator[str]:
    """A real Dask scheduler with two single-threaded worker processes on loopback."""
    from distributed import LocalCluster

    with LocalCluster(
        host="127.0.0.1",
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address="127.0.0.1:0",  # a free port: never clashes with a running cluster
    ) as cluster:
        yield cluster.scheduler_address


def assert_same_ensemble(a: EnsembleResult, b: EnsembleResult) -> None:
    assert a.seeds == b.seeds
    assert list(a.tables) == list(b.tables)
    for name in a.tables:
        assert_frame_equal(a.tables[name], b.tables[name], check_exact=True)


# ---------------------------------------------------------------------------- seeds


def test_replicate_seeds_are_spawned_children_of_the_scenario_seed() -> None:
    children = np.random.SeedSequence(20260129).spawn(4)
    expected = [int(c.generate_state(1, dtype=np.uint32)[0]) for c in children]
    assert replicate_seeds(20260129, 4) == expected
    assert [replicate_seed(20260129, i) for i in range(4)] == expected
    # replicate i does not depend on how many replicates the ensemble has
    assert replicate_seeds(20260129, 10)[:4] == expected
    assert len(set(replicate_seeds(1, 200))) == 200


def test_a_replicate_is_the_model_run_with_its_seed(
    scenario: Scenario, serial: EnsembleResult
) -> None:
    seed = serial.seeds[3]
    model = AIMarket(scenario, rng=seed, record=())
    model.run()
    tables = model.tables()
    firms = serial.firms[serial.firms["replicate"] == 3].drop(columns=["replicate", "seed"])
    assert_frame_equal(firms.reset_index(drop=True), tables["firms"], check_exact=True)
    row = serial.outcomes.set_index("replicate").loc[3]
    assert row["seed"] == seed
    for name, value in compute(tables).items():
        assert row[name] == pytest.approx(value, nan_ok=True)


def test_leaving_out_optional_tables_changes_no_result(scenario: Scenario) -> None:
    full = AIMarket(scenario, rng=5).run().tables()
    lean = AIMarket(scenario, rng=5, record=()).run().tables()
    assert set(lean) == {"firms", "market", "events", "verticals"}
    for name in lean:
        assert_frame_equal(full[name], lean[name], check_exact=True)


# ---------------------------------------------------------------------------- executors


def test_serial_processes_and_dask_give_identical_tables(
    scenario: Scenario,
    serial: EnsembleResult,
    dask_cluster: str,
    tmp_path: Path,
) -> None:
    processes = run_ensemble(scenario, REPLICATES, workers=2, out=tmp_path, progress=False)
    assert processes.facts["executor"] == "processes" and processes.facts["workers"] == 2
    assert_same_ensemble(serial, processes)

    on_dask = run_ensemble(scenario, REPLICATES, scheduler=dask_cluster, progress=False)
    assert on_dask.facts["executor"] == "dask" and on_dask.facts["workers"] == 2
    assert_same_ensemble(serial, on_dask)

    # the folder holds the same tables
    for name in ("firms", "market", "events", "outcomes"):
        on_disk = pd.read_parquet(processes.folder / f"{name}.parquet")
        assert_frame_equal(on_disk, getattr(serial, name), check_exact=True)


def test_dask_executor_accepts_a_connected_client(
    scenario: Scenario, serial: EnsembleResult, dask_cluster: str
) -> None:
    from distributed import Client

    with Client(dask_cluster, set_as_default=False) as client:
        result = run_ensemble(scenario, 2, scheduler=client, progress=False)
        assert client.status == "running"  # left open for its owner
    for name in result.tables:
        expected = serial.tables[name][serial.tables[name]["replicate"] < 2]
        assert_frame_equal(result.tables[name], expected, check_exact=True)


def test_unreachable_scheduler_is_one_line_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(executors, "CONNECT_TIMEOUT", 1.0)
    args = ["ensemble", "sprint_race", "--replicates", "2", *SIZE_ARGS, "--quiet",
            "--scheduler", "tcp://127.0.0.1:9", "--out", str(tmp_path)]  # fmt: skip
    code, _, err = cli(args)
    assert code == 2
    assert err.count("\n") == 1 and "cannot reach the Dask scheduler" in err
    assert not any(tmp_path.iterdir())  # nothing written, so nothing blocks the next run


def test_the_engine_runs_any_function_in_task_order() -> None:
    tasks = [(exponent,) for exponent in range(6)]
    for workers in (1, 2):
        results, facts = engine.run_tasks(pow, 2, tasks, workers=workers, progress=False)
        assert results == [2**exponent for exponent in range(6)]
        assert facts["runs"] == 6 and facts["workers"] == workers
    with pytest.raises(engine.RunFailed, match=r"^task 2 failed: TypeError"):
        engine.run_tasks(pow, 2, [(1,), (2,), ("x",), ("y",)], workers=1, progress=False)


# ---------------------------------------------------------------------------- resume


def test_resume_after_an_interruption_gives_identical_tables(
    scenario: Scenario, serial: EnsembleResult, tmp_path: Path
) -> None:
    stored: list[int] = []

    def interrupt_after_two(index: int) -> None:
        stored.append(index)
        if len(stored) == 2:
            raise KeyboardInterrupt

    with pytest.raises(EnsembleInterrupted) as caught:
        run_ensemble(
            scenario,
            REPLICATES,
            workers=1,
            out=tmp_path,
            progress=False,
            on_replicate=interrupt_after_two,
        )
    partial = partial_folder(tmp_path, prepare_scenario(scenario, replicates=REPLICATES),
                             [*ENSEMBLE_TABLES, "outcomes"])  # fmt: skip
    assert caught.value.folder == partial
    assert caught.value.finished == 2 and caught.value.total == REPLICATES
    assert sorted(p.name for p in (partial / "replicates").iterdir()) == ["000000", "000001"]
    assert not list((tmp_path / scenario.name).glob("ensemble-2*"))  # nothing final yet

    # running again without --resume would silently redo or drop the work: refused
    with pytest.raises(PartialEnsembleExists, match="2 of 5 replicates"):
        run_ensemble(scenario, REPLICATES, workers=1, out=tmp_path, progress=False)

    resumed = run_ensemble(
        scenario, REPLICATES, workers=2, out=tmp_path, resume=True, plots=False, progress=False
    )
    assert resumed.facts["replicates_resumed"] == 2 and resumed.facts["replicates_run"] == 3
    assert_same_ensemble(serial, resumed)
    assert not partial.exists()
    assert resumed.folder is not None and resumed.folder.name.startswith("ensemble-")
    manifest = json.loads((resumed.folder / "manifest.json").read_text())
    assert manifest["seeds"] == serial.seeds and manifest["replicates_resumed"] == 2


def test_interrupted_cli_run_keeps_replicates_and_says_how_to_resume(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = {"n": 0}
    real = ensemble.run_replicate

    def interrupt_on_third(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(ensemble, "run_replicate", interrupt_on_third)
    args = ["ensemble", "sprint_race", "--replicates", "4", *SIZE_ARGS, "--workers", "1",
            "--quiet", "--no-plots", "--out", str(tmp_path)]  # fmt: skip
    code, _, err = cli(args)
    assert code == 130
    assert "2 of 4 replicates kept in" in err and "--resume" in err
    monkeypatch.setattr(ensemble, "run_replicate", real)
    code, out, _ = cli([*args, "--resume"])
    assert code == 0 and "results:" in out


# ---------------------------------------------------------------------------- failures


def test_a_failing_replicate_is_reported_by_number(
    scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad_seed = replicate_seed(scenario.run.seed, 2)

    class BrokenMarket(AIMarket):
        def __init__(self, scenario, *, rng=None, **kwargs):
            if rng == bad_seed:
                raise RuntimeError("model blew up")
            super().__init__(scenario, rng=rng, **kwargs)

    monkeypatch.setattr(engine, "AIMarket", BrokenMarket)
    with pytest.raises(ReplicateFailed) as caught:
        run_ensemble(scenario, 4, workers=1, out=tmp_path, progress=False)
    assert caught.value.index == 2 and caught.value.seed == bad_seed
    assert str(caught.value) == f"replicate 2 (seed {bad_seed}) failed: RuntimeError: model blew up"
    assert "model blew up" in caught.value.error.traceback
    # the replicates finished before it are kept for a resume
    replicates = next((tmp_path / scenario.name).glob("ensemble-partial-*")) / "replicates"
    assert sorted(p.name for p in replicates.iterdir()) == ["000000", "000001"]

    code, _, err = cli(["ensemble", "sprint_race", "--replicates", "4", *SIZE_ARGS,
                        "--workers", "1", "--quiet", "--out", str(tmp_path / "cli")])  # fmt: skip
    assert code == 1
    assert (
        err
        == f"killline: error: replicate 2 (seed {bad_seed}) failed: RuntimeError: model blew up\n"
    )


# ---------------------------------------------------------------------------- results


def test_cli_ensemble_writes_the_folder(tmp_path: Path) -> None:
    code, out, err = cli(["ensemble", "sprint_race", "--replicates", "3", *SIZE_ARGS,
                          "--workers", "2", "--quiet", "--out", str(tmp_path)])  # fmt: skip
    assert code == 0, err
    (folder,) = (tmp_path / "sprint_race").glob("ensemble-*")
    assert f"results: {folder}" in out
    for name in ("firms", "market", "events", "outcomes", "percentiles", "exits", "survival"):
        assert (folder / f"{name}.parquet").is_file(), name
    assert not (folder / "migration.parquet").exists()
    firms = pd.read_parquet(folder / "firms.parquet")
    assert list(firms.columns[:2]) == ["replicate", "seed"]
    assert sorted(firms["replicate"].unique()) == [0, 1, 2]
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["replicates"] == 3 and manifest["workers"] == 2
    assert manifest["seeds"] == replicate_seeds(20260129, 3)
    assert manifest["replicates_per_second"] > 0
    outcomes = pd.read_parquet(folder / "outcomes.parquet")
    assert len(outcomes) == 3 and set(OUTCOMES) <= set(outcomes.columns)
    summary = (folder / "summary.md").read_text()
    assert "## Survival by tier at the horizon" in summary and "## Firms" in summary
    for plot in ENSEMBLE_PLOTS:
        assert (folder / "plots" / f"{plot}.png").stat().st_size > 5000
        assert f"plots/{plot}.png" in summary


def test_summaries(serial: EnsembleResult) -> None:
    firms = serial.firms
    months = firms["month"].nunique()
    n_firms = firms["firm"].nunique()
    pct = serial.percentiles
    firm_rows = pct[pct["scope"] == "firm"]
    assert len(firm_rows) == months * n_firms * 3
    assert (firm_rows["p5"] <= firm_rows["p50"] + 1e-12).all()
    assert (firm_rows["p50"] <= firm_rows["p95"] + 1e-12).all()
    share = firm_rows[(firm_rows["metric"] == "share") & (firm_rows["firm"] == "doubao")]
    last = firms[(firms["firm"] == "doubao") & (firms["month"] == firms["month"].max())]
    assert share["p50"].iloc[-1] == pytest.approx(last["share"].median())
    assert set(pct.loc[pct["scope"] == "market", "metric"]) >= {"hhi", "top3_share"}

    exits = serial.exits
    assert len(exits) == REPLICATES * n_firms
    tiers = serial.tier_survival().set_index("tier")
    midtier = serial.outcomes["midtier_survival"].mean()
    assert tiers.loc["midtier", "survival"] == pytest.approx(midtier)
    assert tiers["low"].le(tiers["survival"]).all() and tiers["high"].ge(tiers["survival"]).all()

    survival = serial.survival
    assert set(survival["tier"]) == set(firms["tier"])
    assert (survival["low"] <= survival["survival"] + 1e-12).all()
    assert (survival["survival"] <= survival["high"] + 1e-12).all()
    for _, curve in survival.groupby("tier"):
        assert curve["survival"].is_monotonic_decreasing
        assert curve["survival"].iloc[0] == 1.0

    summary = serial.firm_summary()
    probabilities = summary[["p_acquired", "p_pivoted", "p_closed", "p_in_market"]].sum(axis=1)
    assert np.allclose(probabilities, 1.0)


def test_wilson_interval() -> None:
    low, high = wilson_interval(8, 10)
    assert low == pytest.approx(0.4902, abs=1e-4) and high == pytest.approx(0.9433, abs=1e-4)
    assert wilson_interval(0, 5)[0] == 0.0 and wilson_interval(5, 5)[1] == 1.0
    assert all(math.isnan(v) for v in wilson_interval(0, 0))


def test_bad_input_is_one_line_exit_2(tmp_path: Path) -> None:
    for args, expected in (
        (["--replicates", "0"], "run.replicates"),
        (["--set", "kill_line.runway_month=3"], "did you mean 'runway_months'"),
        (["--workers", "0"], "--workers must be at least 1"),
    ):
        code, _, err = cli(["ensemble", "sprint_race", *args, "--quiet", "--out", str(tmp_path)])
        assert code == 2, args
        assert err.count("\n") == 1 and expected in err, err


def test_migration_table_on_request(scenario: Scenario) -> None:
    result = run_ensemble(scenario, 2, workers=1, migration=True, progress=False)
    migration = result.tables["migration"]
    assert list(migration.columns[:2]) == ["replicate", "seed"]
    assert sorted(migration["replicate"].unique()) == [0, 1]
    assert "migration" not in run_ensemble(scenario, 1, workers=1, progress=False).tables
