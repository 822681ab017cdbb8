"""Funding and exits (sim/funding.py, docs/model.md 7.7-7.8): scheduled and venture rounds,
parents' top-ups and their patience, and giants buying distressed firms.

Programme tranches are tested with the `investment_programme` event in test_events.py,
the scripted `acquisition_offer` there too.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers import KIMI_FORCED, PRESENCE_SQUEEZE, firm_rows, paired, simulate, small

from sim.model import AIMarket

SEEDS = (1, 2, 3)


def model_rounds(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Venture rounds arising in the model (not the scenario's scheduled ones)."""
    events = tables["events"]
    return events[(events["kind"] == "round") & (events["origin"] == "model")]


# ------------------------------------------------------------------ scheduled rounds


def test_shipped_january_rounds_arrive(sprint_runs, sprint_race):
    firms = sprint_runs[1]["firms"]
    month1 = firms[firms["month"] == 1].set_index("firm")
    scheduled = [e for e in sprint_race.events if e.kind == "funding_round"]
    assert len(scheduled) == 3
    for event in scheduled:
        assert event.month == sprint_race.run.start
        assert month1.loc[event.firm, "funding_bn"] >= event.amount_bn - 1e-12


def test_a_scheduled_round_brings_its_cash():
    scenario = small("status_quo", {"funding.round_prob": 0.0})
    event = {"kind": "funding_round", "firm": "kimi", "month": "2026-03", "amount_bn": 5.0}
    with_event, without = paired(scenario, [event], 1)
    a, b = firm_rows(with_event, "kimi"), firm_rows(without, "kimi")
    funding = a["funding_bn"] - b["funding_bn"]
    np.testing.assert_allclose(funding, [5.0 if m == 3 else 0.0 for m in funding.index])
    capital = a["capital_bn"] - b["capital_bn"]
    assert (capital.loc[:2] == 0).all()
    # The cash stays, less what a firm with more runway spends (no austerity) over the months.
    assert capital.loc[3] == pytest.approx(5.0)
    assert (capital.loc[3:] > 4.0).all()


def test_a_scheduled_round_skips_a_collapsing_firm():
    """Kimi crosses the kill line in month 2: a round due in month 3 finds it collapsing."""
    scenario = small("sprint_race", KIMI_FORCED)
    event = {"kind": "funding_round", "firm": "kimi", "month": "2026-03", "amount_bn": 10.0}
    with_event, without = paired(scenario, [event], 7)
    kimi = firm_rows(with_event, "kimi")
    assert kimi.loc[2, "status"] == "below_kill_line"
    assert kimi.loc[3, "funding_bn"] == 0
    assert kimi.loc[3, "status"] == firm_rows(without, "kimi").loc[3, "status"] == "closed"


# ------------------------------------------------------------------ venture rounds


def test_venture_rounds_fund_round_runway_months_of_burn(sprint_runs, sprint_race):
    """A round arising in the model goes to a venture-funded firm that burns cash and
    whose own-cash runway is short, and brings round_runway_months of its burn."""
    rules = sprint_race.funding
    scheduled = {(e.firm, e.month) for e in sprint_race.events if e.kind == "funding_round"}
    seen = 0
    for tables in sprint_runs.values():
        firms = tables["firms"].set_index(["month", "firm"])
        for round_ in model_rounds(tables).itertuples():
            assert (round_.firm, round_.date) not in scheduled
            row = firms.loc[(round_.month, round_.firm)]
            assert sprint_race.firms[round_.firm].funding_source == "venture"
            assert row["burn_bn"] > 0
            assert row["funding_bn"] == pytest.approx(rules.round_runway_months * row["burn_bn"])
            cash_before = row["capital_bn"] - row["funding_bn"]
            assert cash_before / row["burn_bn"] < rules.seek_below_runway_months
            seen += 1
    assert seen >= 3


@pytest.mark.parametrize(
    "overrides",
    [{"funding.round_prob": 0.0}, {"funding.seek_below_runway_months": 0.0}],
    ids=["no_odds", "no_firm_short_of_runway"],
)
def test_no_venture_rounds_without_odds_or_need(overrides):
    scenario = small("sprint_race", overrides)
    for seed in SEEDS:
        assert model_rounds(simulate(scenario, seed).tables()).empty


def test_higher_odds_bring_more_venture_rounds():
    rounds = {
        prob: sum(
            len(
                model_rounds(
                    simulate(small("sprint_race", {"funding.round_prob": prob}), s).tables()
                )
            )
            for s in SEEDS
        )
        for prob in (0.12, 1.0)
    }
    assert rounds[1.0] > rounds[0.12] > 0


# ------------------------------------------------------------------ parents


def test_a_parent_tops_its_unit_up_to_its_reserve():
    """Giants' units have patience to spare and, in status_quo, no programmes: a unit whose
    cash falls below its reserve is topped back up to it, one above it is left alone."""
    scenario = small("status_quo")
    topped = 0
    for seed in SEEDS:
        tables = simulate(scenario, seed).tables()
        events = tables["events"]
        for firm_id in ("doubao", "qwen", "yuanbao"):
            reserve = scenario.firms[firm_id].capital_bn
            rows = tables["firms"].query("firm == @firm_id").set_index("month")
            bought = events.loc[events["detail"] == f"by {firm_id}", "month"]
            after_accounts = rows["capital_bn"].shift() - rows["burn_bn"]
            calm = rows.index.isin(range(1, scenario.run.months + 1)) & ~rows.index.isin(bought)
            np.testing.assert_allclose(
                rows.loc[calm, "capital_bn"], np.maximum(reserve, after_accounts[calm])
            )
            topped += int((rows.loc[calm, "funding_bn"] > 0).sum())
    assert topped >= 30


def test_top_ups_stop_at_the_parents_patience():
    patience = 0.1
    scenario = small("status_quo", {"firms.spark.patience_bn": patience})
    rows = firm_rows(simulate(scenario, 1), "spark")
    reserve = scenario.firms["spark"].capital_bn
    assert rows["funding_bn"].sum() == pytest.approx(patience)
    assert rows["capital_bn"].iloc[-1] < reserve - 0.1
    # While patience lasts the unit is topped back up to its reserve.
    topped = rows["funding_bn"].cumsum() < patience - 1e-9
    np.testing.assert_allclose(rows.loc[topped & (rows.index > 0), "capital_bn"], reserve)


def test_without_patience_a_parent_pays_nothing_but_tranches():
    scenario = small("status_quo", {"firms.ernie.patience_bn": 0.0})
    assert (firm_rows(simulate(scenario, 1), "ernie")["funding_bn"] == 0).all()


# ------------------------------------------------------------------ distressed acquisitions


@pytest.fixture(scope="module")
def eager_buyers() -> dict[int, AIMarket]:
    """The presence squeeze with giants that always bid and take every user along."""
    overrides = {**PRESENCE_SQUEEZE, "acquisition.prob": 1.0, "acquisition.user_transfer": 1.0}
    scenario = small("sprint_race", overrides)
    return {seed: simulate(scenario, seed) for seed in SEEDS}


def acquisitions(model: AIMarket) -> pd.DataFrame:
    events = model.tables()["events"]
    return events[(events["kind"] == "acquired") & (events["origin"] == "model")]


def test_giants_buy_distressed_venture_firms(eager_buyers):
    seen = 0
    for model in eager_buyers.values():
        rules = model.params.acquisition
        firms = model.tables()["firms"].set_index(["month", "firm"])
        for bought in acquisitions(model).itertuples():
            entry = model.params.firms[bought.firm]
            assert entry.funding_source == "venture" and entry.tier != "giant"
            acquirer = bought.detail.removeprefix("by ")
            assert acquirer in rules.acquirers
            assert firms.loc[(bought.month, acquirer), "status"] == "active"
            # Distressed: near the line when bought, or already collapsing.
            row = firms.loc[(bought.month, bought.firm)]
            was = firms.loc[(bought.month - 1, bought.firm), "status"]
            assert row["distance_to_kill_line"] < rules.distress_distance or was != "active"
            seen += 1
    assert seen >= 3


def test_a_distressed_takeover_moves_users_cash_and_team(eager_buyers):
    to_acquirer = left = 0.0
    for model in eager_buyers.values():
        tables = model.tables()
        firms = tables["firms"].set_index(["month", "firm"])
        migration = tables["migration"]
        for bought in acquisitions(model).itertuples():
            month, target = bought.month, bought.firm
            acquirer = bought.detail.removeprefix("by ")
            row = firms.loc[(month, target)]
            assert row["status"] == "acquired" and row["acquirer"] == acquirer
            assert row["users_m"] == row["capital_bn"] == 0
            # Its cash (what was left after the month's accounts) goes with it.
            cash = firms.loc[(month - 1, target), "capital_bn"] - row["burn_bn"]
            assert row["funding_bn"] == pytest.approx(-cash)
            assert firms.loc[(month, acquirer), "quality"] >= row["quality"]
            out = migration[(migration["month"] == month) & (migration["from"] == target)]
            to_acquirer += out.loc[out["to"] == acquirer, "users_m"].sum()
            left += out["users_m"].sum()
    # With user_transfer = 1 the acquirer takes every user the target still had; only
    # those who reconsidered earlier in the month went elsewhere.
    assert to_acquirer > 0.85 * left


def test_no_purchase_when_the_firm_is_worth_less_than_its_carry():
    overrides = {
        **PRESENCE_SQUEEZE,
        "acquisition.prob": 1.0,
        "acquisition.value_per_user_rmb": 0.0,
        "acquisition.talent_value_bn": 0.0,
    }
    scenario = small("sprint_race", overrides)
    for seed in SEEDS:
        assert acquisitions(simulate(scenario, seed)).empty


def test_no_purchase_of_a_healthy_firm():
    """Eager buyers, but no firm near the kill line: nothing is bought."""
    overrides = {"acquisition.prob": 1.0, "acquisition.distress_distance": -100.0}
    scenario = small("sprint_race", {**overrides, "kill_line.confirm_months": 12})
    for seed in SEEDS:
        assert acquisitions(simulate(scenario, seed)).empty
    eager = small("sprint_race", {"acquisition.prob": 1.0})
    assert all(not acquisitions(simulate(eager, seed)).empty for seed in SEEDS)


def test_growing_users_raise_the_odds_of_a_round():
    """Kimi, short of cash, breaks through and its users soar: with momentum counted the
    investors' odds saturate and it raises a round; without, at these odds, it does not."""
    overrides = {"funding.round_prob": 0.01, "firms.kimi.capital_bn": 3.0}
    boom = {"kind": "breakthrough", "firm": "kimi", "month": "2026-01", "size": 0.5}
    for weight, raises in ((5.0, True), (0.0, False)):
        scenario = small("status_quo", {**overrides, "funding.momentum_weight": weight})
        for seed in SEEDS:
            rounds = model_rounds(simulate(scenario.with_events([boom]), seed).tables())
            assert ("kimi" in set(rounds["firm"])) == raises, (weight, seed)
