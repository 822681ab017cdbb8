"""Sweeps: the grid, common random numbers, the table and folder, failures, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from helpers import cli
from pandas.testing import assert_frame_equal
from sizes import SIZE, SIZE_ARGS

from sim.experiments import RunFailed, SweepResult, engine, replicate_seed, sweep
from sim.experiments.stats import point_means
from sim.experiments.sweep import grid, parse_sweep_param, split_values
from sim.model import AIMarket
from sim.outcomes import OUTCOMES
from sim.scenario import Scenario, load_scenario
from sim.schema import ScenarioError

GRID = {"kill_line.runway_months": [3, 6, 12], "economics.legacy_margin": [0.2, 0.5]}


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return load_scenario("sprint_race", SIZE)


@pytest.fixture(scope="module")
def result(scenario: Scenario) -> SweepResult:
    return sweep(scenario, GRID, 2, workers=2, progress=False)


@pytest.fixture(scope="module")
def table(result: SweepResult) -> pd.DataFrame:
    return result.table


def test_parse_sweep_param() -> None:
    assert parse_sweep_param("kill_line.runway_months=3,6,9") == (
        "kill_line.runway_months",
        [3, 6, 9],
    )
    assert parse_sweep_param("a.b = 0.5, 1e-2 ,true") == ("a.b", [0.5, 0.01, True])
    assert split_values('[1, 2],"x,y",{ a = 1, b = 2 }') == ["[1, 2]", '"x,y"', "{ a = 1, b = 2 }"]
    assert parse_sweep_param('acquisition.acquirers=["qwen"],["doubao", "qwen"]') == (
        "acquisition.acquirers",
        [["qwen"], ["doubao", "qwen"]],
    )
    for bad in ("kill_line.runway_months", "=1,2", "a.b=", "a.b=1,,2"):
        with pytest.raises(ValueError, match=r"expected key\.path=v1,v2"):
            parse_sweep_param(bad)


def test_grid_is_the_product_of_the_values() -> None:
    points = grid(GRID)
    assert len(points) == 3 * 2
    assert points[0] == {"kill_line.runway_months": 3, "economics.legacy_margin": 0.2}
    assert points[1] == {"kill_line.runway_months": 3, "economics.legacy_margin": 0.5}
    assert len({tuple(p.values()) for p in points}) == 6


def test_sweep_table_has_every_point_and_replicate(
    result: SweepResult, table: pd.DataFrame, scenario: Scenario
) -> None:
    assert len(table) == 3 * 2 * 2  # points x replicates
    assert list(table.columns[:5]) == [
        "point",
        "replicate",
        "seed",
        "kill_line.runway_months",
        "economics.legacy_margin",
    ]
    assert set(OUTCOMES) <= set(table.columns)
    assert table.groupby("point")["replicate"].apply(list).tolist() == [[0, 1]] * 6
    # common random numbers: replicate i has the same seed at every point
    seeds = table.groupby("replicate")["seed"].unique()
    assert [list(s) for s in seeds] == [
        [replicate_seed(scenario.run.seed, 0)],
        [replicate_seed(scenario.run.seed, 1)],
    ]
    assert result.kind == "sweep" and result.scenario is not None
    assert list(result.tables) == ["sweep", "means"]
    assert result.parameters == list(GRID)
    assert result.facts["runs"] == 12 and result.facts["points"] == 6
    assert not table.attrs


def test_a_sweep_point_is_the_scenario_with_its_overrides(
    table: pd.DataFrame, scenario: Scenario
) -> None:
    row = table[(table["point"] == 4) & (table["replicate"] == 1)].iloc[0]
    point = grid(GRID)[4]
    model = AIMarket(scenario.with_overrides(point), rng=int(row["seed"]))
    model.run()
    last = model.tables()["market"].iloc[-1]
    assert row["hhi_end"] == last["hhi"]
    assert row["kill_line.runway_months"] == point["kill_line.runway_months"]


def test_serial_and_processes_agree(table: pd.DataFrame, scenario: Scenario) -> None:
    serial = sweep(scenario, GRID, 2, workers=1, progress=False)
    assert_frame_equal(serial.table, table, check_exact=True)


def test_point_means(result: SweepResult, table: pd.DataFrame) -> None:
    means = result.means
    assert_frame_equal(means, point_means(table, list(GRID)))
    assert len(means) == 6 * len(OUTCOMES)
    first = means[(means["point"] == 0) & (means["outcome"] == "hhi_end")].iloc[0]
    values = table.loc[table["point"] == 0, "hhi_end"]
    assert first["mean"] == pytest.approx(values.mean())
    assert first["n"] == 2
    assert first["ci_low"] <= first["mean"] <= first["ci_high"]


def test_bad_values_are_rejected_before_any_run(scenario: Scenario) -> None:
    with pytest.raises(ScenarioError, match="did you mean 'runway_months'"):
        sweep(scenario, {"kill_line.runway_month": [3, 6]}, 1, workers=1, progress=False)
    with pytest.raises(ScenarioError, match="legacy_margin"):
        sweep(scenario, {"economics.legacy_margin": [0.5, 1.5]}, 1, workers=1, progress=False)


def test_a_failing_run_is_reported_by_point_and_replicate(
    scenario: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad_seed = replicate_seed(scenario.run.seed, 1)

    class BrokenMarket(AIMarket):
        def __init__(self, scenario, *, rng=None, **kwargs):
            if rng == bad_seed and scenario.kill_line.runway_months == 6:
                raise ValueError("no market today")
            super().__init__(scenario, rng=rng, **kwargs)

    monkeypatch.setattr(engine, "AIMarket", BrokenMarket)
    with pytest.raises(RunFailed) as caught:
        sweep(scenario, {"kill_line.runway_months": [3, 6]}, 2, workers=1, progress=False)
    assert str(caught.value) == (
        f"point 1 (kill_line.runway_months=6), replicate 1 (seed {bad_seed}) failed: "
        "ValueError: no market today"
    )


def test_cli_sweep_writes_the_folder(tmp_path: Path) -> None:
    code, _, err = cli(["sweep", "sprint_race", *SIZE_ARGS, "--param",
                          "kill_line.runway_months=3,12", "--replicates", "2", "--workers", "2",
                          "--outcome", "hhi_end", "--outcome", "firms_exited", "--quiet",
                          "--out", str(tmp_path)])  # fmt: skip
    assert code == 0, err
    (folder,) = (tmp_path / "sprint_race").glob("sweep-*")
    table = pd.read_parquet(folder / "sweep.parquet")
    assert len(table) == 2 * 2
    assert list(table.columns) == [
        "point",
        "replicate",
        "seed",
        "kill_line.runway_months",
        "hhi_end",
        "firms_exited",
    ]
    means = pd.read_parquet(folder / "means.parquet")
    assert len(means) == 2 * 2
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["grid"] == {"kill_line.runway_months": [3, 12]} and manifest["runs"] == 4
    assert (folder / "plots" / "sweep-kill_line_runway_months.png").is_file()
    assert "common random numbers" in (folder / "summary.md").read_text()


def test_bad_param_is_one_line_exit_2(tmp_path: Path) -> None:
    for param, expected in (
        ("kill_line.runway_month=3,6", "did you mean 'runway_months'"),
        ("kill_line.runway_months", "expected key.path=v1,v2"),
        ("kill_line.runway_months=3,-1", "kill_line.runway_months"),
    ):
        code, _, err = cli(["sweep", "sprint_race", "--param", param, "--replicates", "1",
                            "--quiet", "--out", str(tmp_path)])  # fmt: skip
        assert code == 2, param
        assert err.count("\n") == 1 and expected in err, err
    code, _, err = cli(["sweep", "sprint_race", "--param", "kill_line.runway_months=3",
                        "--outcome", "midtier_survivl", "--out", str(tmp_path)])  # fmt: skip
    assert code == 2 and "did you mean 'midtier_survival'" in err
    assert not any(tmp_path.iterdir())


def test_array_values_are_swept_and_shown_as_text(scenario: Scenario) -> None:
    key, values = parse_sweep_param('acquisition.acquirers=["qwen"],["doubao", "qwen"]')
    found = sweep(scenario, {key: values}, 1, outcomes=["firms_exited"], workers=1, progress=False)
    assert found.table[key].tolist() == ['["qwen"]', '["doubao", "qwen"]']
    assert len(found.means) == 2
