"""The claims machinery: the claims file, synthetic claims that must hold and must fail, a
pair of scenarios whose difference is known, verdicts, the folder and the command line."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from helpers import cli

from sim import folder
from sim.claims import check_claims, load_claims
from sim.claims.report import rebuild
from sim.claims.rules import RULES
from sim.claims.tasks import distinct_runs, scenario_for
from sim.experiments.stats import wilson_interval
from sim.priors import Prior, load_priors
from sim.schema import ScenarioError

TINY = {"replicates": 3, "users": 1000, "months": 6}

SYNTHETIC = """
[verdicts]
supported = 0.8
not_supported = 0.2

[check]
replicates = 3
screen_trajectories = 1
screen_levels = 4
screen_replicates = 1

[claims.S1]
statement = "Giant units are in the market at the horizon at least as often as never (must hold)."
rule = "outcome_above"
horizon = 6
params = { outcome = "giant_survival", above = -1.0 }
runs = { run = { scenario = "steady" } }

[claims.S2]
statement = "More than every giant unit survives (must fail)."
rule = "outcome_above"
horizon = 6
params = { outcome = "giant_survival", above = 1.0 }
runs = { run = { scenario = "steady" } }

[claims.S3]
statement = "A scenario differs from itself (must fail: paired seeds give identical runs)."
rule = "outcome_paired"
horizon = 6
params = { outcome = "top3_end", above = 0.0 }
runs = { base = { scenario = "steady" }, test = { scenario = "steady" } }

[claims.S4]
statement = "A stricter kill line (60 months of runway) makes more firms cross it (known)."
rule = "outcome_paired"
horizon = 6
params = { outcome = "firms_crossed", above = 0.0 }
runs.base = { scenario = "steady" }
runs.test = { scenario = "steady", set = { "kill_line.runway_months" = 60.0 } }

[claims.S5]
statement = "A firm crosses a kill line drawn at a long runway (decided by the lever)."
rule = "outcome_above"
horizon = 6
params = { outcome = "firms_crossed", above = 0.0 }
runs = { run = { scenario = "steady" } }
screen = { "kill_line.runway_months" = [1.0, 60.0] }
"""


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("claims") / "claims.toml"
    path.write_text(SYNTHETIC, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def synthetic_check(synthetic):
    return check_claims(load_claims(synthetic), **TINY, workers=1)


# ---------------------------------------------------------------------------- the claims file


def test_claims_file_registers_every_article_claim():
    spec = load_claims()
    assert list(spec.claims) == [f"C{i}" for i in range(1, 11)]
    for claim in spec.claims.values():
        assert claim.statement and claim.rule in RULES
        assert claim.screen, f"{claim.id}: a lever of its own besides the priors"
        assert not set(claim.screen) & {p.key for p in load_priors()}, claim.id
    assert spec.supported == 0.8 and spec.not_supported == 0.2


def test_every_run_of_the_claims_resolves_to_a_valid_scenario():
    spec = load_claims()
    size = {"run.users": 1000, "run.months": 12, "run.seed": 5}
    for run in distinct_runs(spec).values():
        scenario = scenario_for(run, size)  # validates overrides, event ids included
        assert scenario.run.seed == 5
    c8 = spec.claims["C8"]
    totals = [scenario_for(run, size).events[-1].total_bn for role, run in sorted(c8.runs.items())]
    assert totals == [10.0, 40.0, 70.0, 100.0]


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ('rule = "nope"', "claims.X.rule"),
        ("horizon = 0", "claims.X.horizon"),
        ("runs = { run = { scenario = 3 } }", "claims.X.runs.run"),
        ('screen = { "a.b" = [2.0, 1.0] }', "claims.X.screen.a.b"),
        ("colour = 1", "claims.X.colour"),
    ],
)
def test_bad_claims_file_is_one_line_naming_the_key(tmp_path, text, path):
    base = {
        "rule": 'rule = "outcome_above"',
        "horizon": "horizon = 6",
        "runs": 'runs = { run = { scenario = "steady" } }',
    }
    key = text.split(" ")[0]
    body = "\n".join([*(v for k, v in base.items() if k != key), text])
    file = tmp_path / "claims.toml"
    file.write_text(
        f"[verdicts]\nsupported = 0.8\nnot_supported = 0.2\n[claims.X]\n{body}\n",
        encoding="utf-8",
    )
    with pytest.raises(ScenarioError) as error:
        load_claims(file)
    assert path in str(error.value) and "\n" not in str(error.value)


def test_unknown_event_id_in_an_override_is_named():
    from sim.claims.spec import Run

    with pytest.raises(ScenarioError, match="no event with id 'nope'"):
        scenario_for(Run("sprint_race", (("events.nope.total_bn", 1.0),)), {})


# ---------------------------------------------------------------------------- verdicts


def test_verdict_thresholds_and_wilson_interval():
    spec = load_claims()
    assert spec.verdict(0.8) == "supported"
    assert spec.verdict(0.5) == "mixed"
    assert spec.verdict(0.2) == "not supported"
    assert spec.verdict(math.nan) == "undecided"
    low, high = wilson_interval(8, 10)
    assert 0.44 < low < 0.5 and 0.94 < high < 0.97


# ---------------------------------------------------------------------------- synthetic claims


def test_claim_that_must_hold_is_supported(synthetic_check):
    row = synthetic_check.scorecard.set_index("claim").loc["S1"]
    assert row.probability == 1.0 and row.verdict == "supported"
    assert row.decided == 3


def test_claim_that_must_fail_is_not_supported(synthetic_check):
    row = synthetic_check.scorecard.set_index("claim").loc["S2"]
    assert row.probability == 0.0 and row.verdict == "not supported"


def test_paired_roles_share_seeds_so_a_scenario_equals_itself(synthetic_check):
    row = synthetic_check.scorecard.set_index("claim").loc["S3"]
    assert row.probability == 0.0
    values = synthetic_check.replicates.query("claim == 'S3'")["value"]
    assert (values == 0.0).all()
    # the two roles share one run, and every replicate has its own seed
    measures = synthetic_check.tables["measures"].query("claim == 'S3'")
    assert measures["run"].nunique() == 1
    assert measures.groupby("replicate")["seed"].nunique().eq(1).all()
    assert measures["seed"].nunique() == 3


def test_known_difference_between_a_pair_is_found(synthetic_check):
    row = synthetic_check.scorecard.set_index("claim").loc["S4"]
    assert row.probability == 1.0 and row.verdict == "supported"
    # cut the channel: the same pair without the stricter line has no difference
    spec = load_claims(synthetic_check.facts["claims_file"]).select(["S4"])
    claim = spec.claims["S4"]
    same = claim.with_overrides({"kill_line.runway_months": 6.0})
    result = check_claims(spec.replace(same), **TINY, workers=1)
    assert result.scorecard["probability"].iloc[0] == 0.0


def test_check_is_reproducible(synthetic, synthetic_check):
    # same claims file and seed: the same decisions (across executors: tests/test_ensemble.py)
    spec = load_claims(synthetic).select(["S4"])
    again = check_claims(spec, **TINY, workers=1).replicates
    first = synthetic_check.replicates.query("claim == 'S4'").reset_index(drop=True)
    pd.testing.assert_frame_equal(first, again)


# ---------------------------------------------------------------------------- the folder


def test_folder_holds_report_scorecard_and_claims(synthetic_check, tmp_path):
    written = folder.save(synthetic_check, tmp_path)
    assert written.parent == tmp_path / "claims"
    report = (written / "report.md").read_text(encoding="utf-8")
    for claim in ("S1", "S2", "S3", "S4"):
        assert f"## {claim}: " in report
    assert "plots/scorecard.png" in report and (written / "plots" / "scorecard.png").is_file()
    assert (written / "plots" / "claim-S1.png").is_file()
    assert (written / "claims.toml").read_text(encoding="utf-8") == SYNTHETIC
    assert "Wilson" in report and "--posterior" in report
    # and the same report as one page with its charts inside
    page = (written / "report.html").read_text(encoding="utf-8")
    assert "<h2>S1: " in page and "<table>" in page and "data:image/png;base64," in page
    assert "plots/scorecard.png" not in page
    # the report rebuilds from the folder alone
    assert rebuild(written).splitlines()[:20] == report.splitlines()[:20]


def test_screen_ranks_the_parameter_that_decides_a_claim(synthetic):
    from sim.claims.screen import screen_claims

    spec = load_claims(synthetic).select(["S5"])
    # a prior that barely moves the claim, beside the lever that decides it
    prior = Prior("acquisition.value_per_user_rmb", 10.0, 40.0, "log", False, "a test prior")
    size = {"run.users": 800, "run.months": 6, "run.seed": 1}
    table, flips, facts = screen_claims(spec, size, priors=[prior], trajectories=3, workers=1)
    assert set(table["output"]) == {"probability", "value"}
    assert facts["runs"] == 3 * 3  # trajectories x (D + 1) points x one role x one seed
    ranked = table[table["output"] == "probability"].sort_values("rank")
    assert list(ranked["parameter"]) == ["kill_line.runway_months", prior.key]
    assert list(ranked["source"]) == ["lever", "carried"]
    assert ranked["mu_star"].iloc[0] > 0.5 > ranked["mu_star"].iloc[1]
    assert list(flips["claim"]) == ["S5"]


def test_a_lever_may_not_repeat_a_prior(synthetic):
    from sim.claims.screen import screen_parameters

    claim = load_claims(synthetic).claims["S5"]
    prior = Prior("kill_line.runway_months", 3.0, 60.0, "linear", True, "a test prior")
    with pytest.raises(ScenarioError, match=r"claims\.S5\.screen\.kill_line\.runway_months"):
        screen_parameters(claim, [prior], synthetic)


# ---------------------------------------------------------------------------- the command line


def test_check_command_writes_the_scorecard(synthetic, tmp_path):
    code, out, err = cli(
        [
            "check",
            "--claims",
            str(synthetic),
            "--claim",
            "S1",
            "--claim",
            "S2",
            "--replicates",
            "2",
            "--users",
            "800",
            "--months",
            "6",
            "--workers",
            "1",
            "--out",
            str(tmp_path),
            "--quiet",
            "--no-plots",
        ]
    )
    assert code == 0, err
    assert "S1" in out and "supported" in out and "S2" in out
    assert len(list((tmp_path / "claims").iterdir())) == 1


def test_check_command_bad_claim_is_exit_2(tmp_path):
    code, _, err = cli(["check", "--claim", "C99", "--out", str(tmp_path)])
    assert code == 2 and "claims.C99" in err


def test_report_says_what_each_verdict_turns_on(synthetic_check, tmp_path):
    from sim.claims.report import render
    from sim.plots.claims import save_claims_plots

    screen = pd.DataFrame(
        {
            "claim": "S4",
            "output": ["probability"] * 4,
            "parameter": ["a.lever", "b.prior", "c.prior", "d.prior"],
            "mu": [0.9, 0.3, 0.1, 0.0],
            "mu_star": [0.9, 0.3, 0.1, 0.0],
            "sigma": [0.1, 0.2, 0.1, 0.0],
            "mu_star_conf": [0.1, 0.1, 0.1, 0.0],
            "rank": [1, 2, 3, 4],
            "note": "",
            "source": ["lever", "fitted", "carried", "fitted"],
        }
    )
    flips = pd.DataFrame(
        [
            {
                "claim": "S4",
                "outcome": "holds",
                "box": "a.lever in [40, 60]",
                "parameters": "a.lever",
                "coverage": 0.9,
                "density": 0.95,
                "support": 0.4,
                "p_value": 0.001,
                "probability_inside": 0.95,
                "probability_outside": 0.1,
                "verdict_inside": "supported",
                "verdict_outside": "not supported",
            }
        ]
    )
    tables = {**synthetic_check.tables, "screen": screen, "flips": flips}
    facts = {**synthetic_check.facts, "screen": {"trajectories": 2, "runs": 8, "prim": {}}}
    text = render(tables, facts)
    assert "## What each verdict turns on" in text
    assert "a.lever (mu* 0.90), b.prior (mu* 0.30), c.prior (mu* 0.10) |" in text
    assert "supported inside a.lever in [40, 60]" in text and "not supported outside" in text
    saved = save_claims_plots(tables, {"supported": 0.8, "not_supported": 0.2}, tmp_path)
    assert saved["screen-S4"].is_file()
