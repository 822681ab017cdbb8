"""Sensitivity analysis: SALib sample sizes, runs and indices, integer parameters, the
folder, failures and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import cli
from sizes import SIZE, SIZE_ARGS

from sim.experiments import replicate_seed, sensitivity
from sim.experiments.methods import draw_sample, problem_for, sample_size
from sim.experiments.sensitivity import check_bounds, parse_bounds
from sim.scenario import Scenario, load_scenario
from sim.schema import ScenarioError

BOUNDS = {
    "economics.legacy_margin": (0.1, 0.6),
    "kill_line.runway_months": (2.0, 9.0),
    "kill_line.confirm_months": (1.0, 4.0),
}


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return load_scenario("sprint_race", SIZE)


@pytest.mark.parametrize("samples", [2, 5])
def test_morris_sample_size(samples: int) -> None:
    problem = problem_for(BOUNDS)
    drawn = draw_sample(problem, "morris", samples, levels=4, seed=3)
    assert drawn.shape == (samples * (len(BOUNDS) + 1), len(BOUNDS))
    assert sample_size("morris", samples, len(BOUNDS)) == len(drawn)
    for column, (lo, hi) in enumerate(BOUNDS.values()):
        assert drawn[:, column].min() >= lo and drawn[:, column].max() <= hi


@pytest.mark.parametrize("second_order", [False, True])
@pytest.mark.parametrize("samples", [8, 16])
def test_sobol_sample_size(samples: int, second_order: bool) -> None:
    problem = problem_for(BOUNDS)
    drawn = draw_sample(problem, "sobol", samples, second_order=second_order, seed=3)
    dimensions = len(BOUNDS)
    expected = samples * (2 * dimensions + 2) if second_order else samples * (dimensions + 2)
    assert drawn.shape == (expected, dimensions)
    assert sample_size("sobol", samples, dimensions, second_order=second_order) == expected


def test_sobol_needs_a_power_of_two() -> None:
    with pytest.raises(ValueError, match="power of 2"):
        draw_sample(problem_for(BOUNDS), "sobol", 12)


def test_morris_runs_every_sample_point_with_every_replicate(scenario: Scenario) -> None:
    result = sensitivity(
        scenario,
        BOUNDS,
        method="morris",
        samples=2,
        replicates=2,
        outcomes=["midtier_survival", "hhi_end"],
        workers=2,
        progress=False,
    )
    points = sample_size("morris", 2, len(BOUNDS))
    assert len(result.samples) == points
    assert len(result.runs) == points * 2
    assert result.facts["runs"] == points * 2
    assert result.kind == "sensitivity"
    assert list(result.tables) == ["indices", "samples", "runs"] and result.second_order is None
    # the same seeds at every sample point
    assert sorted(result.runs["seed"].unique()) == sorted(
        replicate_seed(scenario.run.seed, i) for i in range(2)
    )
    # an integer parameter is run at integer values
    assert pd.api.types.is_integer_dtype(result.samples["kill_line.confirm_months"])
    # the mean over replicates is what the analysis sees
    means = result.runs.groupby("sample")["hhi_end"].mean().to_numpy()
    assert np.allclose(result.samples["hhi_end"].to_numpy(), means)
    indices = result.indices
    assert len(indices) == 2 * len(BOUNDS)
    assert set(indices.columns) >= {"outcome", "parameter", "mu", "mu_star", "sigma", "rank"}
    for _, table in indices.groupby("outcome"):
        assert sorted(table["parameter"]) == sorted(BOUNDS)
        assert table["mu_star"].is_monotonic_decreasing
        assert (table["mu_star"] >= 0).all()


def test_sobol_indices(scenario: Scenario) -> None:
    bounds = {k: BOUNDS[k] for k in ("economics.legacy_margin", "kill_line.runway_months")}
    result = sensitivity(
        scenario,
        bounds,
        method="sobol",
        samples=4,
        outcomes=["hhi_end"],
        workers=1,
        progress=False,
    )
    assert len(result.samples) == 4 * (2 + 2)
    assert set(result.indices.columns) >= {"S1", "S1_conf", "ST", "ST_conf"}
    assert len(result.indices) == 2


def test_check_bounds(scenario: Scenario) -> None:
    assert check_bounds(scenario, BOUNDS) == {
        "economics.legacy_margin": False,
        "kill_line.runway_months": False,
        "kill_line.confirm_months": True,
    }
    with pytest.raises(ScenarioError, match="did you mean 'legacy_margin'"):
        check_bounds(scenario, {"economics.legacy_margn": (0.1, 0.2)})
    with pytest.raises(ScenarioError, match="only numeric"):
        check_bounds(scenario, {"run.start": (1.0, 2.0)})
    with pytest.raises(ScenarioError, match="legacy_margin"):
        check_bounds(scenario, {"economics.legacy_margin": (0.5, 1.5)})


def test_parse_bounds() -> None:
    assert parse_bounds("economics.legacy_margin=0.1:0.6") == ("economics.legacy_margin", 0.1, 0.6)
    for bad in ("economics.legacy_margin=0.1-0.6", "a=1", "a=2:1", "=1:2", "a=x:2"):
        with pytest.raises(ValueError, match=r"expected key\.path=lo:hi"):
            parse_bounds(bad)


def test_cli_sensitivity_writes_the_folder(tmp_path: Path) -> None:
    code, out, err = cli(["sensitivity", "sprint_race", *SIZE_ARGS, "--method", "morris",
                          "--param", "economics.legacy_margin=0.1:0.6",
                          "--param", "kill_line.runway_months=2:9", "--samples", "2",
                          "--outcome", "firms_exited", "--workers", "2", "--quiet",
                          "--out", str(tmp_path)])  # fmt: skip
    assert code == 0, err
    (folder,) = (tmp_path / "sprint_race").glob("sensitivity-morris-*")
    assert f"results: {folder}" in out
    indices = pd.read_parquet(folder / "indices.parquet")
    assert list(indices["outcome"].unique()) == ["firms_exited"] and len(indices) == 2
    assert len(pd.read_parquet(folder / "samples.parquet")) == 2 * 3
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["sample_points"] == 6 and manifest["method"] == "morris"
    assert (folder / "plots" / "morris-firms_exited.png").is_file()
    assert "## firms_exited" in (folder / "summary.md").read_text()


def test_bad_input_is_one_line_exit_2(tmp_path: Path) -> None:
    base = ["sensitivity", "sprint_race", "--quiet", "--out", str(tmp_path)]
    for args, expected in (
        (["--param", "economics.legacy_margn=0.1:0.6"], "did you mean 'legacy_margin'"),
        (["--param", "economics.legacy_margin=0.1-0.6"], "expected key.path=lo:hi"),
        (["--param", "run.start=1:2"], "only numeric"),
        (["--param", "economics.legacy_margin=0.1:0.6", "--method", "sobol", "--samples", "6"],
         "power of 2"),
        (["--param", "economics.legacy_margin=0.1:0.6", "--outcome", "hhi"], "unknown outcome"),
    ):  # fmt: skip
        code, _, err = cli([*base, *args])
        assert code == 2, args
        assert err.count("\n") == 1 and expected in err, err
    assert not any(tmp_path.iterdir())
