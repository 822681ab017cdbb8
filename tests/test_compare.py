"""Comparisons (sim/compare.py, `killline compare`): readable labels, the mixes that make
sense, outcome differences, paired differences over shared seeds, plots and the folder."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from helpers import cli as invoke
from helpers import small
from scipy import stats

from sim import api, compare
from sim.experiments import run_ensemble
from sim.plots.compare import COMPARE_PLOTS

SIZE = {"users": 2000, "months": 4}
SIZE_ARGS = ["--users", "2000", "--months", "4", "--set", "run.startups=2000"]


@pytest.fixture(scope="module")
def runs():
    sprint, quo = small("sprint_race"), small("status_quo")
    return {
        "sprint 1": api.run(sprint, seed=1, **SIZE),
        "sprint 2": api.run(sprint, seed=2, **SIZE),
        "quo 1": api.run(quo, seed=1, **SIZE),
    }


@pytest.fixture(scope="module")
def ensembles():
    options = {"replicates": 3, "workers": 1, "plots": False, "progress": False, "seed": 9}
    return (
        run_ensemble(small("sprint_race"), **SIZE, **options),
        run_ensemble(small("status_quo"), **SIZE, **options),
    )


def test_labels_say_what_differs(runs):
    seeds = compare.sides([runs["sprint 1"], runs["sprint 2"]])
    assert [one.label for one in seeds] == ["seed 1", "seed 2"]
    scenarios = compare.sides([runs["sprint 1"], runs["quo 1"]])
    assert [one.label for one in scenarios] == ["sprint_race", "status_quo"]
    both = compare.sides([runs["sprint 2"], runs["quo 1"]])
    assert [one.label for one in both] == ["sprint_race seed 2", "status_quo seed 1"]
    # two runs that differ only by an override are still two sides
    twice = compare.sides([runs["sprint 1"], runs["sprint 1"]])
    assert [one.label for one in twice] == ["sprint_race seed 1", "sprint_race seed 1 #2"]


def test_mixes_that_make_no_sense_are_refused(runs, ensembles):
    with pytest.raises(compare.CompareError, match=r"single runs .* with ensembles"):
        compare.sides([runs["sprint 1"], ensembles[0]])
    with pytest.raises(compare.CompareError, match="at least two"):
        compare.sides([runs["sprint 1"]])
    sweep = api.FolderResult(kind_of="sweep", scenario=runs["sprint 1"].scenario, tables={})
    with pytest.raises(compare.CompareError, match="a sweep cannot be compared"):
        compare.sides([runs["sprint 1"], sweep])


def test_outcome_table_gives_values_and_differences(runs):
    a, b = compare.sides([runs["sprint 1"], runs["quo 1"]])
    table = compare.outcome_table([a, b]).set_index("outcome")
    difference = table["status_quo - sprint_race"]
    assert (difference == table["status_quo"] - table["sprint_race"]).all() or (
        difference.isna() == table["status_quo"].isna()
    ).all()
    assert table.loc["hhi_end", "sprint_race"] == pytest.approx(
        float(runs["sprint 1"].market["hhi"].iloc[-1])
    )
    # a first-crossing month is never horizon + 1: "never" has its own row
    for name in ("first_independent_crossing_month", "first_midtier_crossing_month"):
        never = table.loc[name + compare.NEVER]
        month = table.loc[name]
        for label in ("sprint_race", "status_quo"):
            assert never[label] in (0.0, 1.0)
            assert math.isnan(month[label]) == (never[label] == 1.0)
            assert math.isnan(month[label]) or month[label] <= SIZE["months"]


def test_paired_differences_match_seed_by_seed(ensembles):
    a, b = compare.sides(list(ensembles))
    assert a.seeds == b.seeds
    paired = compare.paired_differences(a, b).set_index("outcome")
    x = a.tables["outcomes"].set_index("seed")["hhi_end"]
    y = b.tables["outcomes"].set_index("seed")["hhi_end"]
    d = y - x.reindex(y.index)
    half = stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / math.sqrt(len(d))
    row = paired.loc["hhi_end"]
    assert row["difference"] == pytest.approx(d.mean())
    assert (row["ci_low"], row["ci_high"]) == (
        pytest.approx(d.mean() - half),
        pytest.approx(d.mean() + half),
    )
    assert row["pairs"] == 3
    # pairs are matched by seed, not by row: shuffling one side's rows changes nothing
    shuffled = compare.Side(
        b.label, b.kind, b.scenario, {**b.tables, "outcomes": b.tables["outcomes"].iloc[::-1]}
    )
    again = compare.paired_differences(a, shuffled).set_index("outcome")
    pd.testing.assert_series_equal(again["difference"], paired["difference"])
    # a side against itself differs by nothing, with no spread
    same = compare.paired_differences(a, a).set_index("outcome")
    assert (same["difference"].dropna() == 0).all()


def test_unpaired_ensembles_are_not_paired(ensembles):
    a, b = compare.sides(list(ensembles))
    other = compare.Side(
        b.label, b.kind, b.scenario, {**b.tables, "outcomes": b.tables["outcomes"].assign(seed=0)}
    )
    with pytest.raises(compare.CompareError, match="not paired"):
        compare.paired_differences(a, other)
    assert "paired" not in compare.comparison_tables([a, other])
    assert "paired" in compare.comparison_tables([a, b])


def test_final_values_and_metric_choices(runs, ensembles):
    table = api.compare({"base": runs["sprint 1"], "other": runs["quo 1"]}, "capital_bn")
    assert list(table.columns) == ["name", "base", "other"]
    last = runs["quo 1"].firms[runs["quo 1"].firms["month"] == SIZE["months"]]
    assert table["other"].to_dict() == pytest.approx(last.set_index("firm")["capital_bn"].to_dict())
    medians = compare.final_values(compare.sides(list(ensembles)))
    assert medians.shape[1] == 4
    with pytest.raises(compare.CompareError, match="choose from: share"):
        compare.final_values(compare.sides(list(ensembles)), "no_such_metric")


def test_compare_folder_has_plots_tables_and_report(ensembles, tmp_path):
    compared = compare.sides(list(ensembles))
    folder = compare.save_comparison(compared, tmp_path)
    assert {path.stem for path in (folder / "plots").glob("*.png")} == set(COMPARE_PLOTS)
    assert {"outcomes.csv", "final.csv", "paired.csv", "summary.md", "report.html"} <= {
        path.name for path in folder.iterdir()
    }
    summary = (folder / "summary.md").read_text()
    assert "Paired differences (same seeds, 95% interval)" in summary


def test_the_command_compares_folders_and_scenarios(tmp_path):
    code, stdout, _ = invoke(
        ["run", "sprint_race", *SIZE_ARGS, "--seed", "4", "--no-plots", "--out", str(tmp_path)]
    )
    assert code == 0
    folder = stdout.strip().splitlines()[-1].removeprefix("results: ")
    code, stdout, stderr = invoke(
        [
            *("compare", folder, "status_quo", *SIZE_ARGS, "--seed", "4", "--no-plots"),
            *("--out", str(tmp_path), "--metric", "runway_months"),
        ]
    )
    assert code == 0, stderr
    assert "sprint_race" in stdout and "status_quo - sprint_race" in stdout
    assert "runway_months at the horizon" in stdout
    assert stdout.strip().splitlines()[-1].startswith("results: ")


def test_the_command_refuses_bad_input_in_one_line(tmp_path, capsys):
    from sim.cli import main

    with pytest.raises(SystemExit) as caught:
        main(["compare", "sprint_race", "status_quo", "--metric", "nonsense"])
    stderr = capsys.readouterr().err
    assert caught.value.code == 2 and stderr.count("\n") == 1
    assert "invalid choice" in stderr and "distance_to_kill_line" in stderr
    code, _, stderr = invoke(["compare", str(tmp_path), "sprint_race"])
    assert code == 2 and stderr.count("\n") == 1 and "not a results folder" in stderr
    with pytest.raises(SystemExit):
        main(["compare", "--help"])
    assert "valuation_bn" in capsys.readouterr().out
