"""Prices, parents, valuations and deals: each channel does what docs/model.md says, and
cutting it changes the outcome in the direction theory predicts."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest

from sim import funding, valuation
from sim.model import AIMarket
from sim.scenario import load_scenario

SIZE = {"run.users": 20_000, "run.startups": 500}
# Users are sampled: at 20,000 a firm with 0.2% of them (tianmu) is 40 agents and MiniMax
# about 700, so their shares and MAU carry several per cent of sampling noise. Checks of a
# small unit's presence and of month-0 accounts against filings use a larger population.
LARGE = {"run.users": 100_000, "run.startups": 500}


def run(name: str, overrides=None, events=(), months: int = 24, seed: int = 1) -> AIMarket:
    scenario = load_scenario(name, {**SIZE, "run.months": months, **(overrides or {})})
    if events:
        scenario = scenario.with_events(list(events))
    model = AIMarket(scenario, rng=seed)
    model.run_for(months)
    return model


def _events(model: AIMarket, kind: str, firm: str | None = None):
    events = model.tables()["events"]
    rows = events[events["kind"] == kind]
    return rows if firm is None else rows[rows["firm"] == firm]


# ------------------------------------------------------------------ prices

DOUBAO_LEAP = {"kind": "breakthrough", "firm": "doubao", "month": "2026-02", "size": 0.1}


def test_markups_hold_in_the_steady_state():
    model = run("steady", months=12)
    markup = model.params.economics.api_markup
    for firm in model.firm_list:
        assert firm.markup == pytest.approx(markup, rel=0.05), firm.firm_id


def test_firms_losing_api_share_undercut():
    model = run("steady", events=[DOUBAO_LEAP], months=12)
    markup = model.params.economics.api_markup
    losers = [f for f in model.firm_list if f.api_share < f.api_share_start * 0.97]
    assert losers
    assert all(f.markup < markup for f in losers)


def test_ablating_the_volume_response_stops_the_undercutting():
    cut = {"economics.volume_elasticity": 0.0}
    with_channel = run("steady", events=[DOUBAO_LEAP], months=12)
    without = run("steady", cut, events=[DOUBAO_LEAP], months=12)
    assert without.firm("qwen").markup > with_channel.firm("qwen").markup + 0.01


def test_demand_outrunning_capacity_raises_prices():
    faster = {"economics.token_growth": 0.2}
    model = run("steady", faster, months=6)
    markup = model.params.economics.api_markup
    assert model.firm("doubao").markup > markup * 1.05
    held = run("steady", {**faster, "economics.scarcity_elasticity": 0.0}, months=6)
    assert held.firm("doubao").markup == pytest.approx(markup, rel=0.02)


def test_a_cost_edge_sets_the_lower_price_in_a_war():
    # Every markup at the floor: prices are unit costs, so the efficient firm is cheaper.
    war = [
        {"kind": "price_cut", "firm": f, "month": "2026-02", "factor": 0.0}
        for f in ("doubao", "qwen", "ernie", "deepseek", "zhipu", "kimi", "spark")
    ]
    model = run("steady", {"economics.price_adjust": 0.0}, events=war, months=3)
    prices = {f: model.firm(f).api_price for f in ("deepseek", "doubao", "spark")}
    assert prices["deepseek"] < prices["doubao"] < prices["spark"]


def test_tables_carry_price_and_token_volumes():
    firms = run("steady", months=2).tables()["firms"]
    for column in ("api_price", "api_tokens_tn", "consumer_tokens_tn", "valuation_bn"):
        assert column in firms
    active = firms[firms["api_share"] > 0]
    assert (active["api_price"] > 0).all()
    assert (active["api_tokens_tn"] > 0).all()


# ------------------------------------------------------------------ parents


def test_a_parent_with_a_stake_keeps_its_unit():
    model = run("steady", LARGE, months=36)
    assert model.firm("tiangong").status == "active"
    assert _events(model, "parent_withdraws").empty


def test_ablating_the_strategic_value_cuts_the_unit():
    model = run("steady", {**LARGE, "parents.kunlun.stake": 0.0}, months=36)
    assert not _events(model, "parent_withdraws", "tiangong").empty
    assert model.firm("tiangong").status == "pivoted"


def test_a_parent_without_profit_or_cash_cannot_bear_the_losses():
    broke = {"parents.wondershare.cash_bn": 0.0, "parents.wondershare.profit_bn_year": 0.0}
    model = run("steady", broke, months=36)
    assert model.firm("tianmu").status == "pivoted"


# ------------------------------------------------------------------ valuations


def _firm(users, api):
    return SimpleNamespace(
        quality=0.93, revenue=0.0145, users_history=users, api_revenue_history=api
    )


def _month0() -> AIMarket:
    return AIMarket(load_scenario("steady", LARGE), rng=1)


def test_api_growth_lifts_a_valuation_while_users_fade():
    model = _month0()
    flat = _firm([10.0] * 4, [0.004] * 4)
    moonshot = _firm([10.0, 9.5, 9.0, 8.5], [0.004, 0.005, 0.006, 0.007])
    assert valuation.valuation(moonshot, model, 1.0) > valuation.valuation(flat, model, 1.0)


def test_month0_valuation_matches_moonshots_round():
    model = _month0()
    assert model.firm("kimi").valuation_bn == pytest.approx(30.5, rel=0.05)


def test_valued_firms_raise_rounds_with_their_size():
    model = run("steady", months=36)
    rounds = _events(model, "round")
    assert len(rounds) >= 3
    assert rounds["amount_bn"].notna().all() and (rounds["amount_bn"] > 0).all()


def test_ablating_valuation_leaves_venture_firms_unfunded():
    cut = {"funding.revenue_multiple": 0.0, "funding.team_value_bn": 0.0}
    model = run("steady", cut, months=36)
    assert _events(model, "round").empty
    gone = [f.firm_id for f in model.firm_list if f.funding_source == "venture" and not f.in_market]
    crossed = set(_events(model, "crossed_kill_line")["firm"])
    assert gone or crossed & {"zhipu", "kimi", "minimax", "stepfun", "baichuan", "lingyi"}


def test_state_funds_back_strong_teams_that_private_money_refuses():
    stingy = {"funding.max_dilution": 0.01, "funding.state_fund_close": 1.0}
    model = run("steady", stingy, months=36)
    backed = set(_events(model, "state_round")["firm"])
    assert backed
    floor = model.params.funding.state_fund_min_quality
    assert all(model.firm(f).quality >= floor for f in backed)
    assert _events(model, "round").empty
    shut = run("steady", {**stingy, "funding.state_fund_close": 0.0}, months=36)
    assert _events(shut, "state_round").empty


def test_an_ipo_window_lists_firms_worth_enough():
    window = {"kind": "ipo_window", "start": "2026-03", "months": 6}
    model = run("steady", events=[window], months=12)
    ipos = _events(model, "ipo")
    assert "kimi" in set(ipos["firm"])
    assert (ipos["amount_bn"] > 0).all()
    closed = run("steady", {"funding.ipo_min_valuation_bn": 1e6}, events=[window], months=12)
    assert _events(closed, "ipo").empty


# ------------------------------------------------------------------ acquisitions

# StepFun without its January round: six months of cash, so it is distressed at once.
NO_STEPFUN_ROUND = {"funding.round_close": 0.0, "funding.state_fund_close": 0.0}


def _stepfun_alone(monkeypatch=None):
    scenario = load_scenario("steady", {**SIZE, "run.months": 12, **NO_STEPFUN_ROUND})
    events = [e for e in scenario.events if e.id != "stepfun_b_plus"]
    scenario = scenario.model_copy(update={"events": events})
    model = AIMarket(scenario, rng=1)
    model.run_for(12)
    return model


def test_a_valued_target_is_not_bought_below_its_stand_alone_value():
    model = _stepfun_alone()
    sales = _events(model, "acquired", "stepfun")
    for row in sales.itertuples():
        assert row.amount_bn >= 0
    # While it is a going concern its price includes its valuation; nobody pays that.
    assert sales.empty or int(sales["month"].iloc[0]) > 1


def test_ablating_the_price_hands_targets_to_buyers(monkeypatch):
    priced = _stepfun_alone()
    monkeypatch.setattr(funding, "standalone_value", lambda target: 0.0)
    free = _stepfun_alone()
    first = lambda m: _events(m, "acquired", "stepfun")["month"].min()  # noqa: E731
    assert not _events(free, "acquired", "stepfun").empty
    priced_month = first(priced)
    assert math.isnan(priced_month) or first(free) < priced_month


def test_merger_review_blocks_deals():
    squeeze = {"kill_line.share_floor.independent": 0.5, "acquisition.review_share": 0.0}
    model = run("sprint_race", squeeze, months=10, seed=5)
    blocked = _events(model, "deal_blocked")
    assert not blocked.empty
    assert blocked["amount_bn"].notna().all()
    assert _events(model, "acquired").empty


def test_every_sale_records_its_price():
    model = run("sprint_race", {"kill_line.share_floor.independent": 0.5}, months=10, seed=5)
    sales = _events(model, "acquired")
    assert not sales.empty
    assert sales["amount_bn"].notna().all()


# ------------------------------------------------------------------ one basis for money


def test_month0_cash_burn_matches_the_independents_filings():
    # Zhipu: operating cash flow -1,327M RMB in H1 2025 (I1) -> 0.221 bn a month.
    # MiniMax: 9-month net loss US$512M at 7.1 (I4) -> 0.404 bn a month (no cash-flow
    # figure is published; the loss may include non-cash items).
    model = _month0()
    assert model.firm("zhipu").burn == pytest.approx(1.327 / 6, rel=0.15)
    assert model.firm("minimax").burn == pytest.approx(0.512 * 7.1 / 9, rel=0.05)


def test_month0_revenue_matches_minimax_filing():
    # I4: US$53.4M in the first 9 months of 2025 -> 0.042 bn RMB a month, mostly overseas.
    model = _month0()
    assert model.firm("minimax").revenue == pytest.approx(0.0534 * 7.1 / 9, rel=0.15)
