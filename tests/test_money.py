"""Prices, parents, valuations and deals: each channel does what docs/model.md says, and
cutting it changes the outcome in the direction theory predicts."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest

from sim import funding, parents, valuation
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


def test_serving_is_a_real_share_of_a_giants_costs():
    # Volcano Engine served 50 trillion tokens a day in Dec 2025 (P9-P11); at P7's cost
    # level serving them is about a quarter of Doubao's costs.
    model = _month0()
    doubao = model.firm("doubao")
    assert doubao.tokens_tn / 30.4 == pytest.approx(50.0, rel=0.1)
    serving = doubao.accounts.api_cost + doubao.accounts.inference_cost
    assert serving > 0.2 * doubao.costs


def test_api_demand_answers_to_price():
    model = _month0()
    market, p0 = model.api, model.api.price_0
    startups = 1e3 * model.startups.token_spend_bn
    # Halving the price buys 2 ** 0.7 = 1.62 times the tokens (and the startups' fixed
    # budgets twice as many).
    other = market.demand_tn(model, p0 / 2) - 2 * startups / p0
    assert other == pytest.approx(market.other_tokens_0 * 2**0.7, rel=1e-9)
    cut = load_scenario("steady", {**LARGE, "economics.api_price_elasticity": 0.0})
    flat = AIMarket(cut, rng=1)
    other = flat.api.demand_tn(flat, p0 / 2) - 2 * startups / p0
    assert other == pytest.approx(flat.api.other_tokens_0, rel=1e-9)


def test_a_price_war_sells_more_tokens_only_if_demand_answers_to_price():
    war = [
        {"kind": "price_cut", "firm": f, "month": "2026-02", "factor": 0.0}
        for f in ("doubao", "qwen", "ernie", "deepseek", "yuanbao")
    ]
    calm, cut = run("steady", months=2), run("steady", events=war, months=2)
    assert cut.api_tokens_tn > 1.15 * calm.api_tokens_tn
    inelastic = {"economics.api_price_elasticity": 0.0}
    calm0, cut0 = run("steady", inelastic, months=2), run("steady", inelastic, events=war, months=2)
    # only the startups' fixed budgets buy more
    assert cut0.api_tokens_tn < 1.05 * calm0.api_tokens_tn


def _costlier(firm_id: str, overrides=None, months: int = 12) -> AIMarket:
    """Steady, with `firm_id`'s cost efficiency halved (and held there) after month 0."""
    model = AIMarket(load_scenario("steady", {**SIZE, **(overrides or {})}), rng=1)
    firm = model.firm(firm_id)
    firm.cost_efficiency *= 0.5
    # research talent refitted so that quality holds: only the cost differs
    firm.calibrate_capabilities(model.open_best)
    model.run_for(months)
    return model


def test_a_firm_whose_cost_is_above_the_market_loses_volume_and_margin():
    # six months: long enough to reprice, short of the parent's review (a lost API share
    # is lost presence, and Alibaba withdraws from a Qwen that cannot serve at market prices)
    base, dear = run("steady", months=6), _costlier("qwen", months=6)
    b, d = base.firm("qwen"), dear.firm("qwen")
    assert d.status == "active"
    assert d.api_share < 0.5 * b.api_share
    margin = lambda f: f.accounts.api_revenue - f.accounts.api_cost  # noqa: E731
    assert margin(d) < 0.5 * margin(b)
    assert d.markup < b.markup  # it cuts its margin to fight for the volume
    # Cut the buyers' response to price: the dearer firm keeps its volume.
    flat = {"economics.api_b_price": 0.0}
    b0 = run("steady", flat, months=6).firm("qwen")
    d0 = _costlier("qwen", flat, months=6).firm("qwen")
    assert d0.api_share == pytest.approx(b0.api_share, rel=0.02)


ZHIPU_LEAP = {"kind": "breakthrough", "firm": "zhipu", "month": "2026-02", "size": 0.1}


def test_a_breakthrough_leaves_a_lasting_lead():
    kept = run("steady", events=[ZHIPU_LEAP], months=36).firm("zhipu")
    faded = run(
        "steady", {"capabilities.breakthrough_talent_gain": 0.0}, events=[ZHIPU_LEAP], months=36
    ).firm("zhipu")
    before = run("steady", months=36).firm("zhipu")
    assert faded.quality == pytest.approx(before.quality, abs=0.01)  # the lead fades away
    assert kept.quality > faded.quality + 0.02


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


def test_every_parent_keeps_its_unit_at_month0_with_a_margin():
    # A unit's month-0 loss is at most 1/1.4 of what it is worth to its parent and of what
    # the parent can bear (docs/model.md 7.7): not a knife edge.
    model = _month0()
    rules = model.params.parent_support
    for firm in model.firm_list:
        if firm.funding_source != "parent":
            continue
        parent = model.params.parents[firm.parent_id]
        account = model.parent_accounts[firm.parent_id]
        worth = parents.strategic_value(parent, 1.0, 1.0)
        bearable = parents.bearable_loss(parent, account, rules)
        assert 1.4 * firm.burn <= min(worth, bearable), firm.firm_id


@pytest.mark.parametrize("seed", [1, 2])
def test_no_parent_withdraws_in_the_steady_state_even_with_less_cash(seed):
    poorer = {f"parents.{p}.cash_bn": 0.8 * v.cash_bn for p, v in _month0().params.parents.items()}
    model = run("steady", {**LARGE, **poorer}, months=36, seed=seed)
    assert _events(model, "parent_withdraws").empty


def test_tranches_and_top_ups_draw_the_parents_cash_down():
    calm, sprint = run("status_quo", months=12), run("sprint_race", months=12)
    paid = sum(
        sprint.firm("yuanbao").programmes[i].tranche(m)
        for i in range(len(sprint.firm("yuanbao").programmes))
        for m in range(1, 13)
    )
    drawn = calm.parent_accounts["tencent"].cash - sprint.parent_accounts["tencent"].cash
    assert paid > 10.0
    assert drawn == pytest.approx(paid, rel=0.2)


def test_ablating_the_draw_leaves_the_parents_cash_untouched(monkeypatch):
    def free(model, parent_id, amount_bn):
        return max(0.0, amount_bn)

    monkeypatch.setattr(parents, "pay", free)
    calm, sprint = run("status_quo", months=12), run("sprint_race", months=12)
    assert calm.parent_accounts["tencent"].cash == sprint.parent_accounts["tencent"].cash


def test_a_parent_whose_cash_runs_out_stops_paying():
    # Tencent with 5 bn of cash and a published loss of 18 bn a year (no profit left once
    # Yuanbao's month-0 losses of 1.44 bn a month are paid): its doubled programme (1.5 bn
    # a month) empties the cash within months, and the tranches stop.
    poor = {"parents.tencent.cash_bn": 5.0, "parents.tencent.profit_bn_year": -18.0}
    model = run("sprint_race", poor, months=12)
    firms = model.tables()["firms"]
    funded = firms[firms["firm"] == "yuanbao"].set_index("month")["funding_bn"]
    assert funded.loc[1] > 0
    assert (funded.loc[6:] < 0.05).all()
    assert model.parent_accounts["tencent"].cash < 1.0


def test_a_giant_can_be_cut_by_its_parent():
    model = run("status_quo", {"parents.tencent.stake": 0.25 * 0.06}, months=24)
    assert not _events(model, "parent_withdraws", "yuanbao").empty
    kept = run("status_quo", months=24)
    assert _events(kept, "parent_withdraws", "yuanbao").empty


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


def test_month0_valuations_match_three_priced_deals():
    # Moonshot's Series C at US$4.3bn (I7); Zhipu's and MiniMax's listings at about
    # HK$51bn and HK$50bn (0.92 RMB per HKD). At filed revenue the deals imply 82, 124 and
    # 97 times annual revenue: one multiple (their log mean) prices each within 21%.
    model = _month0()
    assert model.firm("kimi").valuation_bn == pytest.approx(4.3 * 7.1, rel=0.25)
    assert model.firm("zhipu").valuation_bn == pytest.approx(51 * 0.92, rel=0.25)
    assert model.firm("minimax").valuation_bn == pytest.approx(50 * 0.92, rel=0.25)


def test_shrinking_revenue_and_users_cut_a_valuation():
    model = _month0()
    steady = _firm([10.0] * 4, [0.004] * 4)
    fading = _firm([10.0, 9.0, 8.0, 7.0], [0.004, 0.0035, 0.003, 0.0025])
    assert valuation.valuation(fading, model, 1.0) < 0.6 * valuation.valuation(steady, model, 1.0)


def test_valued_firms_raise_rounds_with_their_size():
    model = run("steady", months=36)
    rounds = _events(model, "round")
    assert len(rounds) >= 3
    assert rounds["amount_bn"].notna().all() and (rounds["amount_bn"] > 0).all()


def test_ablating_valuation_leaves_venture_firms_unfunded():
    cut = {"funding.revenue_multiple": 0.0}
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
    monkeypatch.setattr(funding, "standalone_value", lambda target, distance: 0.0)
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


DISTRESSED_KIMI = {
    "firms.kimi.capital_bn": 0.3,
    "firms.kimi.spend_bn_month": 1.0,
    "funding.round_close": 0.0,
    "funding.state_fund_close": 0.0,
}


def test_deals_split_the_surplus_above_the_stand_alone_value():
    assert funding.deal_price(2.0, 10.0, 0.5) == pytest.approx(6.0)
    assert funding.deal_price(2.0, 1.0, 0.5) == pytest.approx(2.0)


def test_a_distressed_team_is_bought_above_its_stand_alone_value():
    model = run("steady", DISTRESSED_KIMI, months=6)
    sale = _events(model, "acquired", "kimi")
    assert len(sale) == 1
    kimi = model.firm("kimi")
    buyer = model.firm(kimi.acquirer)
    # Near the line its valuation no longer counts: a stand-alone value of its cash or less.
    assert sale["amount_bn"].iloc[0] > 0.3
    assert buyer.talent >= kimi.talent  # the team moves, and with it its research talent
    # Cut the value of what the buyer takes: nobody buys, the firm goes to the line alone.
    worthless = {**DISTRESSED_KIMI, "acquisition.talent_value_bn": 0.0}
    alone = run("steady", worthless, months=6)
    assert _events(alone, "acquired", "kimi").empty


# ------------------------------------------------------------------ one basis for money


def test_month0_cash_burn_matches_the_independents_filings():
    # One basis, cash. Zhipu: operating cash flow -1,327M RMB in H1 2025 (I1) -> 0.221 bn
    # a month. MiniMax: 9-month net loss US$512M at 7.1 (I4) -> 0.404 bn a month, at
    # Zhipu's cash-to-loss ratio (1,327 / 2,358) -> 0.227 bn a month of cash.
    model = _month0()
    assert model.firm("zhipu").burn == pytest.approx(1.327 / 6, rel=0.1)
    assert model.firm("minimax").burn == pytest.approx(0.512 * 7.1 / 9 * 1.327 / 2.358, rel=0.1)


def test_month0_revenue_matches_the_filings():
    # I4: US$53.4M in the first 9 months of 2025 -> 0.042 bn RMB a month (domestic and
    # overseas, mostly overseas). I1: Zhipu 190.9M in H1 2025 -> 0.032 bn a month. Both on
    # the period of the cash burn above, so that cash costs = burn + revenue hold together.
    model = _month0()
    assert model.firm("minimax").revenue == pytest.approx(0.0534 * 7.1 / 9, rel=0.15)
    assert model.firm("zhipu").revenue == pytest.approx(0.1909 / 6, rel=0.15)


def test_month0_revenue_splits_follow_the_prospectuses():
    # I1: 84.8% of Zhipu's revenue is private deployment (the enterprise niche), the rest
    # cloud (API and subscriptions). I4: 28.9% of MiniMax's is its open platform (API).
    model = _month0()
    zhipu, minimax = model.firm("zhipu").accounts, model.firm("minimax").accounts
    assert zhipu.vertical_revenue / zhipu.revenue == pytest.approx(0.848, abs=0.03)
    assert minimax.api_revenue / minimax.revenue == pytest.approx(0.289, abs=0.03)
