"""Funding and exits (sim/funding.py, docs/model.md 7.7-7.8): scheduled and venture rounds,
parents' top-ups while their unit is worth its losses, and giants buying distressed firms.

Programme tranches are tested with the `investment_programme` event in test_events.py,
the scripted `acquisition_offer` there too.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers import KIMI_FORCED, PRESENCE_SQUEEZE, firm_rows, paired, simulate, small

from sim import funding
from sim.calendar import month_index
from sim.model import AIMarket

SEEDS = (1, 2, 3)
# No venture round closes, privately or from a state fund.
NO_ROUNDS = {"funding.round_close": 0.0, "funding.state_fund_close": 0.0}


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
    events = sprint_runs[1]["events"]
    sold = set(events.loc[(events["kind"] == "acquired") & (events["month"] == 1), "firm"])
    assert len(sold) <= 1  # (a sale in the month hands the new cash on to the buyer)
    for event in scheduled:
        assert event.month == sprint_race.run.start
        logged = events[(events["kind"] == "funding_round") & (events["firm"] == event.firm)]
        assert logged["amount_bn"].tolist() == [event.amount_bn]
        if event.firm not in sold:
            assert month1.loc[event.firm, "funding_bn"] >= event.amount_bn - 1e-12


def test_a_scheduled_round_brings_its_cash():
    scenario = small("status_quo", NO_ROUNDS)
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
    # buyers kept off until it has crossed (a distressed Kimi's team is worth buying)
    scenario = small("sprint_race", KIMI_FORCED)
    event = {"kind": "funding_round", "firm": "kimi", "month": "2026-03", "amount_bn": 10.0}
    with_event, without = paired(scenario, [event], 7)
    kimi, alone = firm_rows(with_event, "kimi"), firm_rows(without, "kimi")
    assert kimi.loc[2, "status"] == "below_kill_line"
    # Month 3 goes as without the round (it ends in a closure or a giant's acqui-hire).
    assert kimi.loc[3, "funding_bn"] == alone.loc[3, "funding_bn"]
    assert kimi.loc[3, "status"] == alone.loc[3, "status"] != "active"
    events = with_event.tables()["events"]
    assert events.query("kind == 'funding_round' and firm == 'kimi'").empty


# ------------------------------------------------------------------ venture rounds


def test_venture_rounds_fund_round_runway_months_of_burn(sprint_runs, sprint_race):
    """A round arising in the model goes to a venture-funded firm that burns cash and
    whose own-cash runway is short (even after a scheduled round that month), and brings
    round_runway_months of its burn."""
    rules = sprint_race.funding
    seen = 0
    for tables in sprint_runs.values():
        firms = tables["firms"].set_index(["month", "firm"])
        for round_ in model_rounds(tables).itertuples():
            row = firms.loc[(round_.month, round_.firm)]
            assert sprint_race.firms[round_.firm].funding_source == "venture"
            assert row["burn_bn"] > 0
            assert round_.amount_bn == pytest.approx(rules.round_runway_months * row["burn_bn"])
            cash_before = row["capital_bn"] - round_.amount_bn
            assert cash_before / row["burn_bn"] < rules.seek_below_runway_months
            seen += 1
    assert seen >= 3


@pytest.mark.parametrize(
    "overrides",
    [NO_ROUNDS, {"funding.seek_below_runway_months": 0.0}],
    ids=["no_odds", "no_firm_short_of_runway"],
)
def test_no_venture_rounds_without_odds_or_need(overrides):
    scenario = small("sprint_race", overrides)
    for seed in SEEDS:
        assert model_rounds(simulate(scenario, seed).tables()).empty


def venture_rounds(overrides: dict, seeds=SEEDS) -> int:
    """Model rounds in sprint_race over `seeds`, with no state fund."""
    scenario = small("sprint_race", {"funding.state_fund_close": 0.0, **overrides})
    return sum(len(model_rounds(simulate(scenario, s).tables())) for s in seeds)


def test_higher_odds_bring_more_venture_rounds():
    """At odds 1 every round sought closes at once (3 a replicate); at 0.12 some wait past
    the horizon, but a firm whose round waited seeks again sooner after it, so on a single
    seed slow odds can show a round more: read over twelve seeds (27 against 36)."""
    seeds = range(1, 13)
    rounds = {c: venture_rounds({"funding.round_close": c}, seeds) for c in (0.12, 1.0)}
    assert rounds[1.0] > rounds[0.12] > 0


def test_higher_valuations_bring_more_venture_rounds():
    """A round closes only if it sells at most max_dilution of the firm at its valuation:
    a tenth of the multiple investors pay for revenue and fewer rounds close (with venture
    money to spare, so that terms and not money decide; 27 against 33 over twelve seeds)."""
    rules = small("sprint_race").funding
    plenty = {"funding.venture_money_bn_year": 1e6}
    tenth = {**plenty, "funding.revenue_multiple": 0.1 * rules.revenue_multiple}
    seeds = range(1, 13)
    assert venture_rounds(tenth, seeds) < venture_rounds(plenty, seeds)


def private_rounds(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Private rounds, the model's and the scenario's (state funds and IPOs left out)."""
    events = tables["events"]
    return events[events["kind"].isin(["round", "funding_round"])]


def year_of_money(scenario, month: int) -> float:
    """The venture money in force at `month`: the scenario's, or a shift's from its month."""
    money = scenario.funding.venture_money_bn_year
    for event in scenario.events:
        key = "funding.venture_money_bn_year"
        shift = event.kind == "parameter_shift" and key in event.set
        if shift and month >= month_index(event.month, scenario.run.start):
            money = event.set[key]
    return money * scenario.funding.sentiment


def scheduled_private(scenario) -> pd.DataFrame:
    """The scenario's private rounds by simulation month."""
    start = scenario.run.start
    rows = [
        (month_index(e.month, start), e.amount_bn)
        for e in scenario.events
        if e.kind == "funding_round" and not e.public
    ]
    return pd.DataFrame(rows, columns=["month", "amount_bn"])


@pytest.mark.parametrize(
    ("name", "seed"), [("status_quo", s) for s in SEEDS] + [("sprint_race", 1)]
)
def test_private_rounds_stay_within_the_years_venture_money(name, seed):
    """When the model closes a round, the private rounds of the last 12 months up to it
    (the scenario's, the model's and the year to month 0's), with the scenario's rounds
    committed to close within ``commitment_months``, add up to no more than the year's
    venture money then."""
    scenario = small(name, {"funding.round_close": 1.0})
    rules = scenario.funding
    prior = pd.DataFrame(
        {"month": range(-11, 1), "kind": "prior", "amount_bn": rules.prior_rounds_bn}
    )
    rounds = private_rounds(simulate(scenario, seed).tables())
    # a listed firm's follow-on is sold on its exchange, not to the venture funds
    listed = {
        e.firm: month_index(e.month, scenario.run.start)
        for e in scenario.events
        if e.kind == "funding_round" and e.public
    }
    on_exchange = [
        listed.get(f, 10**6) <= m for f, m in zip(rounds["firm"], rounds["month"], strict=True)
    ]
    rounds = rounds[~pd.Series(on_exchange, index=rounds.index)]
    rounds = pd.concat([prior, rounds[["month", "kind", "amount_bn"]]], ignore_index=True)
    ahead = scheduled_private(scenario)
    closed = rounds.index[rounds["kind"] == "round"]
    assert len(closed) >= 1
    for i in closed:
        month = rounds.loc[i, "month"]
        window = rounds.loc[:i]
        raised = window.loc[window["month"] > month - 12, "amount_bn"].sum()
        due = ahead["month"].between(month + 1, month + rules.commitment_months)
        committed = ahead.loc[due, "amount_bn"].sum()
        assert raised + committed <= year_of_money(scenario, month) + 1e-9


def test_month_zero_inherits_the_year_befores_rounds():
    """The window opens with the year to month 0 on it: at month 0 of the 2026 roster only
    2025's leftover is there to raise, less StepFun's round of January (committed), and
    2025's months roll off the window one by one."""
    scenario = small("status_quo")
    model = AIMarket(scenario, rng=1)
    rules = model.params.funding
    prior = rules.prior_rounds_bn
    stepfun = scheduled_private(scenario)["amount_bn"].sum()
    assert stepfun > 0
    left = funding.venture_money_left(model)
    assert left == pytest.approx(rules.venture_money_bn_year - sum(prior) - stepfun)
    model.month += 3
    # StepFun's round has closed on the scenario's month 1 (recorded when it fires)
    funding.record_round(model, stepfun)
    assert funding.venture_money_left(model) == pytest.approx(left + sum(prior[:3]))


def test_committed_rounds_hold_back_the_models_rounds():
    """Investors who signed a scheduled round's term sheet have no money for the model's
    rounds: without commitments the history's model makers raise rounds beside the
    observed ones (2024's money frees up before the scheduled rounds close), with them
    they raise fewer."""
    seeds = range(1, 7)

    def raised(overrides) -> float:
        scenario = small("history_2024", {"funding.state_fund_close": 0.0, **overrides})
        return sum(model_rounds(simulate(scenario, s).tables())["amount_bn"].sum() for s in seeds)

    assert raised({"funding.commitment_months": 0}) > raised({}) + 1.0


def test_a_year_of_prior_rounds_holds_back_the_first_years_rounds():
    """Start the 2026 scenarios with an untouched year of money (the window empty at month
    0) and their venture-funded firms raise more in 2026 than after 2025's 9.4 bn."""
    seeds = range(1, 7)
    full = small("status_quo", {"funding.state_fund_close": 0.0})
    empty = small(
        "status_quo", {"funding.state_fund_close": 0.0, "funding.prior_rounds_bn": [0.0] * 12}
    )

    def first_year(scenario) -> float:
        total = 0.0
        for s in seeds:
            rounds = model_rounds(simulate(scenario, s).tables())
            total += rounds.loc[rounds["month"] <= 12, "amount_bn"].sum()
        return total

    assert first_year(empty) > first_year(full)


def test_scarce_venture_money_means_fewer_rounds_and_less_cash():
    """Cut the cap on the sector's venture money (a year's money without bound) and the
    history's model makers raise more rounds and end 2025 with more cash: the 9.4 bn a
    year of 2025 binds after the scheduled rounds of 2024."""
    capped = small("history_2024", {"funding.state_fund_close": 0.0})
    free = small(
        "history_2024", {"funding.state_fund_close": 0.0, "funding.venture_money_bn_year": 1e6}
    )
    seeds = range(1, 7)
    rounds = {}
    cash = {}
    for label, scenario in (("capped", capped), ("free", free)):
        runs = [simulate(scenario, s).tables() for s in seeds]
        rounds[label] = sum(len(model_rounds(t)) for t in runs)
        cash[label] = sum(
            t["firms"].query("month == month.max() and tier == 'independent'")["capital_bn"].sum()
            for t in runs
        )
    assert rounds["free"] > rounds["capped"]
    assert cash["free"] > cash["capped"]


def test_investors_back_the_best_terms_first():
    """With money left for one round, it goes to the seeker whose valuation is the
    largest multiple of what it asks, whoever comes first in the roster."""
    overrides = {"funding.round_close": 1.0, "funding.state_fund_close": 0.0}
    scenario = small("status_quo", {**overrides, "funding.commitment_months": 0})
    model = AIMarket(scenario, rng=1)
    rules = model.params.funding
    seekers = [
        f
        for f in model.firms_in_market()
        if f.funding_source == "venture"
        and not f.listed
        and f.burn > 0
        and f.cash_runway < rules.seek_below_runway_months
    ]
    assert len(seekers) >= 2
    asks = {f.firm_id: rules.round_runway_months * f.burn for f in seekers}
    best = max(seekers, key=lambda f: f.valuation_bn / asks[f.firm_id])
    assert best is not seekers[0]
    assert asks[best.firm_id] <= rules.max_dilution * (best.valuation_bn + asks[best.firm_id])
    # a hair more than its ask is left: less than any other seeker's ask
    left = 1.0001 * asks[best.firm_id]
    assert all(left < ask for firm, ask in asks.items() if firm != best.firm_id)
    model.venture_rounds = [(0, rules.venture_money_bn_year - left)]
    funding.raise_funds(model)
    events = model.tables()["events"]
    unlisted = [f.firm_id for f in seekers]
    rounds = events.loc[(events["kind"] == "round") & events["firm"].isin(unlisted), "firm"]
    assert rounds.tolist() == [best.firm_id]


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
            bought = events.loc[events["detail"].str.endswith(f"by {firm_id}"), "month"]
            after_accounts = rows["capital_bn"].shift() - rows["burn_bn"]
            calm = rows.index.isin(range(1, scenario.run.months + 1)) & ~rows.index.isin(bought)
            np.testing.assert_allclose(
                rows.loc[calm, "capital_bn"], np.maximum(reserve, after_accounts[calm])
            )
            topped += int((rows.loc[calm, "funding_bn"] > 0).sum())
    assert topped >= 30


def test_top_ups_stop_when_the_unit_is_not_worth_its_losses():
    """iFlytek keeps topping Spark up while Spark defends its business; with no stake in
    Spark, iFlytek withdraws after review_months months of losses beyond what Spark is
    worth to it, and tops up nothing more."""
    review = {"parent_support.review_months": 3}
    kept = firm_rows(simulate(small("status_quo", review), 1), "spark")
    assert (kept.loc[1:, "funding_bn"] > 0).all()
    model = simulate(small("status_quo", {**review, "parents.iflytek.stake": 0.0}), 1)
    rows = firm_rows(model, "spark")
    events = model.tables()["events"]
    withdrawn = events.query("kind == 'parent_withdraws' and firm == 'spark'")["month"]
    assert withdrawn.tolist() == [3]
    assert (rows.loc[1:2, "funding_bn"] > 0).all()
    assert (rows.loc[3:, "funding_bn"] == 0).all()
    assert rows["capital_bn"].iloc[-1] < kept["capital_bn"].iloc[-1]


def test_a_parent_seeing_no_stake_pays_nothing_but_tranches():
    overrides = {"parents.baidu.stake": 0.0, "parent_support.review_months": 1}
    scenario = small("status_quo", overrides)
    assert (firm_rows(simulate(scenario, 1), "ernie")["funding_bn"] == 0).all()


# ------------------------------------------------------------------ distressed acquisitions


@pytest.fixture(scope="module")
def eager_buyers() -> dict[int, AIMarket]:
    """The presence squeeze with giants that value users highly and take every one along."""
    overrides = {
        **PRESENCE_SQUEEZE,
        "acquisition.user_transfer": 1.0,
        "acquisition.value_per_user_rmb": 2000.0,
    }
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
            acquirer = bought.detail.rsplit("by ", 1)[-1]
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
            if not bought.detail.startswith("acquisition by"):
                continue  # an acqui-hire takes the team and cash, not the users
            month, target = bought.month, bought.firm
            acquirer = bought.detail.rsplit("by ", 1)[-1]
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
    # those who reconsidered earlier in the month (more now that prices move) went elsewhere.
    assert to_acquirer > 0.7 * left


def test_no_purchase_when_the_firm_is_worth_no_more_than_its_price():
    """Without users, team or vertical to gain, a buyer gets at most the target's cash.
    A distressed firm that is still a going concern costs its cash plus its valuation, so
    nobody buys it (crossings left unconfirmed); a collapsing one costs only its cash, so
    the most a buyer does is take the cash at that price (an acqui-hire at zero gain)."""
    nothing = {
        **PRESENCE_SQUEEZE,
        "acquisition.value_per_user_rmb": 0.0,
        "acquisition.talent_value_bn": 0.0,
        "acquisition.vertical_value_bn": 0.0,
    }
    going = small("sprint_race", {**nothing, "kill_line.confirm_months": 12})
    for seed in SEEDS:
        assert acquisitions(simulate(going, seed)).empty
    for seed in SEEDS:
        model = simulate(small("sprint_race", nothing), seed)
        firms = model.tables()["firms"].set_index(["month", "firm"])
        for bought in acquisitions(model).itertuples():
            before = firms.loc[(bought.month - 1, bought.firm)]
            assert before["status"] == "below_kill_line"
            assert bought.detail.startswith("acqui-hire")
            row = firms.loc[(bought.month, bought.firm)]
            assert bought.amount_bn == pytest.approx(-row["funding_bn"])


def test_no_purchase_of_a_healthy_firm():
    """No firm near the kill line: nothing is bought."""
    overrides = {"acquisition.distress_distance": -100.0}
    scenario = small("sprint_race", {**overrides, "kill_line.confirm_months": 12})
    for seed in SEEDS:
        assert acquisitions(simulate(scenario, seed)).empty
    eager = small("sprint_race", PRESENCE_SQUEEZE)
    assert all(not acquisitions(simulate(eager, seed)).empty for seed in SEEDS)


def test_growing_users_raise_the_valuation():
    """Kimi breaks through and its users soar: with momentum counted investors value it
    higher than without, once the growth shows (the same until then). Venture money is
    plentiful, so that the weight does not also move who else is funded."""
    boom = {"kind": "breakthrough", "firm": "kimi", "month": "2026-01", "size": 0.5}
    plenty = {"funding.venture_money_bn_year": 1e6}
    runs = {
        weight: small("status_quo", {**plenty, "funding.momentum_weight": weight}).with_events(
            [boom]
        )
        for weight in (2.0, 0.0)
    }
    # paired runs on six seeds (without momentum the valuation still follows revenue)
    for seed in range(1, 7):
        value = {w: firm_rows(simulate(s, seed), "kimi")["valuation_bn"] for w, s in runs.items()}
        np.testing.assert_allclose(value[2.0].loc[:2], value[0.0].loc[:2])
        assert value[2.0].loc[4:].mean() > 1.2 * value[0.0].loc[4:].mean(), seed
