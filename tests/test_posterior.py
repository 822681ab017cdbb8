"""Posterior draws in ensembles, sweeps and the claims check: the draw of each replicate,
the ``parameters`` table, the same draw on every executor, a sweep's point over the draw,
resuming with another posterior, and bad posterior files (one line, exit 2)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import cli
from pandas.testing import assert_frame_equal

from sim.claims import check_claims, load_claims
from sim.experiments import PartialEnsembleExists, replicate_seed, run_ensemble, sweep
from sim.experiments.store import partial_folder
from sim.folder import sha256_of
from sim.model import AIMarket
from sim.posterior import (
    CODE_DIR,
    POSTERIOR_FILE,
    Posterior,
    code_hash,
    load_posterior,
    model_modules,
    parameters_table,
    replicate_scenario,
    write_posterior,
)
from sim.priors import carried, load_priors
from sim.scenario import Scenario, load_scenario, prepare_scenario
from sim.schema import ScenarioError

SIZE = {"run.users": 2000, "run.months": 4, "run.startups": 2000}
SIZE_ARGS = ["--users", "2000", "--months", "4", "--set", "run.startups=2000"]
REPLICATES = 3
KEYS = ("choice.b_quality", "awareness.forget")
META = {"library": "pyabc 0.12", "date": "2026-12-01", "code_sha256": "0" * 64}


def write(path: Path, values: list[list[float]], weights: list[float]) -> Path:
    """A posterior file of ``KEYS`` with these particles, carrying seeds/priors.toml's
    carried priors."""
    return write_posterior(
        path, KEYS, np.array(values), np.array(weights), carried(load_priors()), META
    )


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("posterior")


@pytest.fixture(scope="module")
def spread(folder: Path) -> Path:
    """Five particles across the priors' ranges, unequally weighted."""
    values = [[2.2, 0.05], [3.1, 0.08], [4.0, 0.1], [4.9, 0.15], [5.8, 0.25]]
    return write(folder / "spread.toml", values, [1.0, 2.0, 3.0, 2.0, 1.0])


@pytest.fixture(scope="module")
def far(folder: Path) -> Path:
    """One particle: quality weighs half as much as its default (4.0) in users' choice."""
    return write(folder / "far.toml", [[2.0, 0.1]], [1.0])


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return prepare_scenario(load_scenario("sprint_race", SIZE), replicates=REPLICATES)


@pytest.fixture(scope="module")
def serial(scenario: Scenario, spread: Path):
    return run_ensemble(scenario, workers=1, progress=False, posterior=spread)


@pytest.fixture(scope="module")
def dask_cluster() -> Iterator[str]:
    """A real Dask scheduler with two single-threaded worker processes on loopback."""
    from distributed import LocalCluster

    with LocalCluster(
        host="127.0.0.1",
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address="127.0.0.1:0",
    ) as cluster:
        yield cluster.scheduler_address


# ---------------------------------------------------------------------------- the draw


def test_the_draw_is_deterministic_and_differs_across_replicates(spread: Path) -> None:
    post, again = load_posterior(spread), load_posterior(spread)
    draws = [post.draw(7, i) for i in range(12)]
    assert draws == [again.draw(7, i) for i in range(12)]
    assert list(draws[0]) == list(post.parameters)
    assert len({tuple(d.values()) for d in draws}) == 12
    assert post.draw(8, 0) != post.draw(7, 0)
    particles = {tuple(row) for row in post.values}
    assert all((d["choice.b_quality"], d["awareness.forget"]) in particles for d in draws)


def test_carried_priors_stay_in_their_ranges(spread: Path) -> None:
    post = load_posterior(spread)
    assert {p.key for p in post.carried} == {p.key for p in carried(load_priors())}
    draws = pd.DataFrame([post.draw(3, i) for i in range(300)])
    for prior in post.carried:
        column = draws[prior.key]
        assert column.between(prior.low, prior.high).all(), prior.key
        assert column.std() > 0.1 * (prior.high - prior.low), prior.key


def test_the_parameters_table_is_what_each_replicate_scenario_holds(
    scenario: Scenario, spread: Path
) -> None:
    post = load_posterior(spread)
    table = parameters_table(post, scenario, range(4))
    assert list(table.columns) == ["replicate", *post.parameters]
    for row in table.to_dict("records"):
        ran, values = replicate_scenario(scenario, int(row["replicate"]), post)
        assert values == {k: v for k, v in row.items() if k != "replicate"}
        assert ran.choice.b_quality == row["choice.b_quality"]
        assert ran.acquisition.value_per_user_rmb == row["acquisition.value_per_user_rmb"]
        assert ran.run.seed == scenario.run.seed
    empty = parameters_table(None, scenario, range(4))
    assert list(empty.columns) == ["replicate"] and list(empty["replicate"]) == [0, 1, 2, 3]


def test_a_key_the_scenario_moves_keeps_its_value(spread: Path) -> None:
    post = load_posterior(spread)
    base = load_scenario("sprint_race", SIZE)
    moved = load_scenario("sprint_race", {**SIZE, "choice.b_quality": 3.3})
    for i in range(5):
        _, free = replicate_scenario(base, i, post)
        ran, fixed = replicate_scenario(moved, i, post)
        assert ran.choice.b_quality == fixed["choice.b_quality"] == 3.3
        # the other keys get the same draw whether or not one is fixed
        assert {k: v for k, v in free.items() if k != "choice.b_quality"} == {
            k: v for k, v in fixed.items() if k != "choice.b_quality"
        }


# ---------------------------------------------------------------------------- ensembles


def test_an_ensemble_runs_each_replicate_with_its_draw(scenario: Scenario, serial) -> None:
    table = serial.tables["parameters"]
    assert list(table["replicate"]) == list(range(REPLICATES))
    assert table["choice.b_quality"].nunique() > 1
    index = 1
    row = table.iloc[index].drop("replicate").to_dict()
    model = AIMarket(
        scenario.with_overrides(row), rng=replicate_seed(scenario.run.seed, index)
    ).run()
    firms = serial.firms.query("replicate == @index").drop(columns=["replicate", "seed"])
    assert_frame_equal(firms.reset_index(drop=True), model.tables()["firms"], check_exact=True)
    facts = serial.facts["posterior"]
    assert facts["fitted"] == list(KEYS) and facts["particles"] == 5
    assert facts["meta"] == META and facts["fixed"] == []


def test_a_far_posterior_changes_outcomes_and_none_changes_nothing(
    scenario: Scenario, far: Path
) -> None:
    plain = run_ensemble(scenario, 2, workers=1, progress=False)
    drawn = run_ensemble(scenario, 2, workers=1, progress=False, posterior=far)
    assert "parameters" not in plain.tables  # without a posterior, the folder of today
    assert (drawn.tables["parameters"]["choice.b_quality"] == 2.0).all()
    assert "posterior" not in plain.facts
    assert not plain.firms["share"].equals(drawn.firms["share"])
    # a posterior at the defaults' values of every key runs exactly the plain ensemble
    defaults = Posterior(KEYS, np.array([[4.0, 0.1]]), np.array([1.0]))
    same = run_ensemble(scenario, 2, workers=1, progress=False, posterior=defaults)
    for name in ("firms", "market", "outcomes"):
        assert_frame_equal(same.tables[name], plain.tables[name], check_exact=True)


def test_serial_processes_and_dask_give_the_same_draws_and_tables(
    scenario: Scenario, spread: Path, serial, dask_cluster: str
) -> None:
    processes = run_ensemble(scenario, workers=2, progress=False, posterior=spread)
    cluster = run_ensemble(scenario, scheduler=dask_cluster, progress=False, posterior=spread)
    assert processes.facts["executor"] == "processes"
    assert cluster.facts["executor"] == "dask"
    for other in (processes, cluster):
        assert list(other.tables) == list(serial.tables)
        for name in serial.tables:
            assert_frame_equal(other.tables[name], serial.tables[name], check_exact=True)


def test_the_folder_records_the_table_and_the_posterior(spread: Path, tmp_path: Path) -> None:
    code, out, err = cli(
        ["ensemble", "sprint_race", *SIZE_ARGS, "--replicates", "2", "--workers", "1",
         "--posterior", str(spread), "--out", str(tmp_path), "--no-plots", "--quiet"]
    )  # fmt: skip
    assert code == 0, err
    written = Path(out.strip().splitlines()[-1].removeprefix("results: "))
    manifest = json.loads((written / "manifest.json").read_text(encoding="utf-8"))
    table = pd.read_parquet(written / "parameters.parquet")
    assert manifest["sha256"]["parameters.parquet"] == sha256_of(written / "parameters.parquet")
    assert manifest["tables"]["parameters"] == len(table) == 2
    assert manifest["posterior"]["path"] == str(spread)
    assert manifest["posterior"]["sha256"] == sha256_of(spread)
    assert manifest["posterior"]["meta"] == META


def test_resuming_with_another_posterior_is_refused(
    scenario: Scenario, spread: Path, far: Path, tmp_path: Path
) -> None:
    def stop(index: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_ensemble(scenario, workers=1, progress=False, out=tmp_path, posterior=spread,
                     on_replicate=stop, plots=False)  # fmt: skip
    for other in (far, None):
        with pytest.raises(PartialEnsembleExists, match="posterior"):
            run_ensemble(scenario, workers=1, progress=False, out=tmp_path, posterior=other,
                         resume=True, plots=False)  # fmt: skip
    names = ["firms", "market", "events", "outcomes"]
    assert (
        partial_folder(tmp_path, scenario, names).name
        != partial_folder(
            tmp_path, scenario, names, {"posterior": {"sha256": sha256_of(spread)}}
        ).name
    )
    resumed = run_ensemble(scenario, workers=1, progress=False, out=tmp_path,
                           posterior=spread, resume=True, plots=False)  # fmt: skip
    assert resumed.facts["replicates_resumed"] == 1


# ---------------------------------------------------------------------------- sweeps


def test_a_sweep_resumed_with_another_posterior_is_refused(
    scenario: Scenario, spread: Path, far: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sim.experiments import EnsembleInterrupted, engine

    grid, real, calls = {"kill_line.runway_months": [3, 6]}, engine.run_outcomes, []

    def stop_second(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(engine, "run_outcomes", stop_second)
    settings = {"outcomes": ["top3_end"], "workers": 1, "progress": False, "out": tmp_path}
    with pytest.raises(EnsembleInterrupted):
        sweep(scenario, grid, 2, **settings, posterior=spread)
    monkeypatch.undo()
    for other, said in ((far, "posterior.sha256"), (None, "posterior.path")):
        with pytest.raises(PartialEnsembleExists, match=said):
            sweep(scenario, grid, 2, **settings, posterior=other, resume=True)
    resumed = sweep(scenario, grid, 2, **settings, posterior=spread, resume=True, plots=False)
    assert resumed.facts["runs_resumed"] == 1 and len(resumed.tables["parameters"]) == 4


def test_a_sweep_point_beats_the_draw(scenario: Scenario, spread: Path) -> None:
    grid = {"choice.b_quality": [2.5, 5.5]}
    swept = sweep(scenario, grid, 2, outcomes=["top3_end"], workers=1, progress=False,
                  posterior=spread)  # fmt: skip
    table = swept.tables["parameters"]
    assert list(table.columns[:2]) == ["point", "replicate"] and len(table) == 4
    for number, value in enumerate(grid["choice.b_quality"]):
        assert (table.query(f"point == {number}")["choice.b_quality"] == value).all()
    # every point sees replicate i's draw of the other keys
    first, second = (table.query(f"point == {n}").drop(columns=["point"]) for n in (0, 1))
    others = ["replicate", "awareness.forget", "funding.revenue_multiple"]
    assert_frame_equal(first[others].reset_index(drop=True), second[others].reset_index(drop=True))
    assert (
        first["awareness.forget"].nunique() > 1 or first["funding.revenue_multiple"].nunique() > 1
    )
    # and the run at a point is the run of the point's value over that draw
    row = table.iloc[3].drop(["point", "replicate"]).to_dict()
    outcome = swept.table.query("point == 1 and replicate == 1")["top3_end"].item()
    from sim.experiments.engine import run_outcomes

    assert run_outcomes(scenario.with_overrides(row), 1, names=["top3_end"])["top3_end"] == outcome


# ---------------------------------------------------------------------------- check

CLAIMS = """
[verdicts]
supported = 0.8
not_supported = 0.2

[check]
replicates = 2

[claims.S3]
statement = "A scenario differs from itself (must fail: paired draws and seeds)."
rule = "outcome_paired"
horizon = 4
params = { outcome = "top3_end", above = 0.0 }
runs = { base = { scenario = "steady" }, test = { scenario = "steady" } }

[claims.S5]
statement = "Quality weighing less moves the top three's share (a run sets a drawn key)."
rule = "outcome_paired"
horizon = 4
params = { outcome = "top3_end", above = -1.0 }
runs.base = { scenario = "steady" }
runs.test = { scenario = "steady", set = { "choice.b_quality" = 2.5 } }
"""


def test_check_with_a_posterior_keeps_the_roles_paired(spread: Path, tmp_path: Path) -> None:
    path = tmp_path / "claims.toml"
    path.write_text(CLAIMS, encoding="utf-8")
    result = check_claims(load_claims(path), replicates=2, users=1000, months=4, workers=1,
                          progress=False, posterior=spread)  # fmt: skip
    table = result.tables["parameters"]
    assert set(table["run"]) == {"steady", 'steady {"choice.b_quality": 2.5}'}
    base = table.query("run == 'steady'").drop(columns="run").reset_index(drop=True)
    test = table.query("run != 'steady'").drop(columns="run").reset_index(drop=True)
    assert (test["choice.b_quality"] == 2.5).all()
    assert base["choice.b_quality"].isin(load_posterior(spread).values[:, 0]).all()
    kept = [c for c in base.columns if c != "choice.b_quality"]
    assert_frame_equal(base[kept], test[kept])  # every role of replicate i: the same draw
    s3 = result.replicates.query("claim == 'S3'")
    assert (s3["holds"] == False).all() and (s3["value"] == 0).all()  # noqa: E712
    assert result.facts["posterior"]["fixed"] == ["choice.b_quality"]

    code, out, err = cli(
        ["check", "--claims", str(path), "--replicates", "2", "--users", "1000", "--months",
         "4", "--workers", "1", "--posterior", str(spread), "--out", str(tmp_path / "out"),
         "--no-plots", "--quiet"]
    )  # fmt: skip
    assert code == 0, err
    written = Path(out.strip().splitlines()[-1].removeprefix("results: "))
    assert "parameters.parquet" in json.loads((written / "manifest.json").read_text())["sha256"]
    report = (written / "report.md").read_text(encoding="utf-8")
    assert f"--posterior {spread}" in report and "parameters.parquet" in report


# ---------------------------------------------------------------------------- bad files

GOOD = """
[meta]
library = "test"
[fitted]
keys = ["choice.b_quality"]
weights = [0.5, 0.5]
[fitted.values]
"choice.b_quality" = [3.0, 5.0]
"""


@pytest.mark.parametrize(
    ("text", "said"),
    [
        (None, "no such posterior file"),
        ("[fitted\nkeys = 1", "malformed TOML"),
        (GOOD.replace("b_quality", "b_qualty"), "'choice.b_qualty' is not a numeric parameter"),
        (GOOD + "\n[extra]\nx = 1\n", "extra: unknown table"),
        (GOOD.replace("weights =", "weight = [1.0]\nweights ="), "fitted.weight: unknown key"),
        (GOOD.replace("[3.0, 5.0]", "[3.0, nan]"), "finite numbers"),
        (GOOD.replace("[3.0, 5.0]", "[3.0, 5.0, 4.0]"), "3 values for 2 weights"),
        (GOOD + '\n[[carried]]\nkey = "funding.round_close"\nlow = 0.5\nhigh = 0.1\n'
         'reason = "a reason long enough"\n', "carried[0]"),
        (GOOD.replace("[3.0, 5.0]", "[3.0, -5.0]"), "choice.b_quality"),
    ],
)  # fmt: skip
def test_a_bad_posterior_file_is_one_line_and_exit_2(
    text: str | None, said: str, tmp_path: Path
) -> None:
    path = tmp_path / "posterior.toml"
    if text is not None:
        path.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    for command in (
        ["ensemble", "sprint_race", *SIZE_ARGS],
        ["sweep", "sprint_race", "--param", "kill_line.runway_months=3,6", *SIZE_ARGS],
        ["check", "--claim", "C10", "--users", "1000", "--months", "4"],
    ):
        code, _, err = cli([*command, "--replicates", "1", "--workers", "1",
                            "--posterior", str(path), "--out", str(out), "--quiet"])  # fmt: skip
        assert code == 2, err
        assert len(err.strip().splitlines()) == 1 and said in err and str(path) in err, err
    assert not out.exists() or not any(out.iterdir())


def test_a_posterior_the_schema_refuses_is_named_before_any_run() -> None:
    post = Posterior(("choice.b_quality",), np.array([[-1.0]]), np.array([1.0]), source="p.toml")
    with pytest.raises(ScenarioError, match=r"p\.toml: .*b_quality"):
        run_ensemble(load_scenario("sprint_race", SIZE), 1, workers=1, posterior=post)


# ------------------------------------------------------------------ the model code's hash


def test_the_code_hash_covers_the_model_and_not_its_figures(tmp_path: Path) -> None:
    """The hash a posterior records follows the modules a history run imports: a change
    to the funding rules changes it, a change to a plot or the command line does not."""
    import shutil

    root = tmp_path / "sim"
    shutil.copytree(CODE_DIR, root, ignore=shutil.ignore_patterns("__pycache__"))
    names = {p.relative_to(root).as_posix() for p in model_modules(root)}
    assert {"model.py", "funding.py", "users.py", "inference/summaries.py"} <= names
    assert not any(n.startswith(("plots/", "cli/", "dashboard/")) for n in names)
    before = code_hash(root)
    with (root / "plots" / "style.py").open("a") as f:
        f.write("\n# a comment\n")
    with (root / "cli" / "__init__.py").open("a") as f:
        f.write("\n# a comment\n")
    assert code_hash(root) == before
    with (root / "funding.py").open("a") as f:
        f.write("\n# a comment\n")
    assert code_hash(root) != before


def test_the_shipped_posterior_was_fitted_to_this_model_code() -> None:
    """seeds/posterior.toml records the hash of the model it was fitted with: a change to
    the model's code needs a new calibration (``killline calibrate --write-seeds``)."""
    shipped = load_posterior(POSTERIOR_FILE)
    assert shipped.meta["code_sha256"] == code_hash(), (
        "the model's code changed since seeds/posterior.toml was fitted: "
        "refit it with `killline calibrate --write-seeds`"
    )
