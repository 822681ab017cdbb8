"""Vertical sub-markets: demand, shares by a logit over rivals' attributes, revenue into
the firms' accounts; a giant's entry squeezes the incumbents, and a vertical firm's
survival turns on its niche's size and its cost efficiency."""

from __future__ import annotations

import pytest

from sim.model import AIMarket
from sim.scenario import load_scenario
from sim.schema import ScenarioError
from sim.verticals import VerticalMarkets

SIZE = {"run.users": 3000, "run.startups": 200, "run.months": 12}
# Baichuan living on a medical niche five times the seeded one, with 0.8 bn of cash and no
# round to be had: it runs towards the line within a year unless its niche carries it.
NICHE_BOUND = {
    "firms.baichuan.capital_bn": 0.8,
    "funding.round_close": 0.0,
    "funding.state_fund_close": 0.0,
    "verticals.markets.medical.customers": 50_000.0,
}
QWEN_INTO_MEDICAL = {
    "kind": "enter_vertical",
    "firm": "qwen",
    "month": "2026-02",
    "vertical": "medical",
    "skill": 1.0,
    "reach_m": 300.0,
}
YUANBAO_INTO_MUSIC = {
    "kind": "enter_vertical",
    "firm": "yuanbao",
    "month": "2026-03",
    "vertical": "music",
    "skill": 1.0,
    "reach_m": 550.0,
    "note": "Tencent brings AI music to Tencent Music's apps (article: music: Tencent)",
}


def run(overrides=None, events=(), months: int = 12, seed: int = 1, users: int = 3000) -> AIMarket:
    horizon = {"run.months": max(1, months), "run.users": users}
    scenario = load_scenario("steady", {**SIZE, **horizon, **(overrides or {})})
    if events:
        scenario = scenario.with_events(list(events))
    model = AIMarket(scenario, rng=seed)
    if months:
        model.run_for(months)
    return model


# month 0 is the state at the end of 2025-12, so an event in 2026-03 acts in month 3
MUSIC_ENTRY, MEDICAL_ENTRY = 3, 2


def rows(model: AIMarket, firm: str):
    firms = model.tables()["firms"]
    return firms[firms["firm"] == firm].set_index("month")


def niche(model: AIMarket, vertical: str):
    table = model.tables()["verticals"]
    return table[table["vertical"] == vertical].pivot(index="month", columns="firm", values="share")


def exit_month(model: AIMarket, firm: str) -> float:
    """The first month the firm is no longer active (crossed, bought or gone); inf if never."""
    status = rows(model, firm)["status"]
    gone = status[status != "active"]
    return float(gone.index[0]) if len(gone) else float("inf")


@pytest.fixture(scope="module")
def music_runs():
    return {
        "with": run(events=[YUANBAO_INTO_MUSIC]),
        "without": run(),
    }


# ------------------------------------------------------------------ month 0


def test_month0_shares_give_the_sourced_revenues():
    model = run(months=0)
    video, enterprise = niche(model, "video").loc[0], niche(model, "enterprise").loc[0]
    # Kling: US$240M annualised in Dec 2025 = 0.142 bn a month
    assert rows(model, "kling").loc[0, "vertical_revenue_bn"] == pytest.approx(0.13, rel=0.1)
    assert video["kling"] == pytest.approx(0.27, abs=0.01)
    assert enterprise["zhipu"] == pytest.approx(0.067, abs=0.005)
    # Zhipu's filed revenue (I1: 190.9M RMB in H1 2025), private deployment now modelled
    assert rows(model, "zhipu").loc[0, "revenue_bn"] == pytest.approx(0.1909 / 6, rel=0.15)
    for key in model.params.verticals.markets:
        assert niche(model, key).loc[0].sum() == pytest.approx(1.0)


def test_vertical_revenue_and_cost_enter_the_accounts():
    model = run(months=1)
    firm = rows(model, "tiangong").loc[1]
    table = model.tables()["verticals"]
    earned = table.query("month == 1 and firm == 'tiangong'")["revenue_bn"].sum()
    assert firm["vertical_revenue_bn"] == pytest.approx(earned)
    cost = model.params.verticals.markets["music"].serve_cost_share
    assert firm["vertical_cost_bn"] == pytest.approx(earned * cost / firm["cost_efficiency"])
    # no double count: the firm's revenue is the sum of its lines
    lines = [c for c in rows(model, "tiangong").columns if c.endswith("_revenue_bn")]
    assert firm["revenue_bn"] == pytest.approx(sum(firm[c] for c in lines))


def test_verticals_stay_at_their_fixed_point_in_the_steady_state():
    # at 20,000 users Tianmu's few agents keep it above its presence floor (test_money.py)
    model = run(months=12, users=20_000)
    for key in model.params.verticals.markets:
        shares = niche(model, key)
        assert (shares - shares.loc[0]).abs().max().max() < 0.01, key
    market = model.params.verticals.markets["video"]
    revenue = model.tables()["verticals"].query("vertical == 'video'").groupby("month")
    assert revenue["revenue_bn"].sum().loc[12] == pytest.approx(
        market.revenue_bn_month * (1 + market.growth_month) ** 12
    )


# ------------------------------------------------------------------ a giant enters


def test_entry_makes_the_giant_a_rival(music_runs):
    model = music_runs["with"]
    shares = niche(model, "music")
    assert shares.loc[: MUSIC_ENTRY - 1, "yuanbao"].isna().all()
    entered = shares.loc[MUSIC_ENTRY:, "yuanbao"]
    assert entered.notna().all()
    assert entered.min() > 0.2  # its quality, reach and price against Mureka's
    assert "music" in model.firm("yuanbao").entered_verticals
    assert rows(model, "yuanbao").loc[MUSIC_ENTRY:, "vertical_revenue_bn"].min() > 0
    assert "yuanbao" not in niche(music_runs["without"], "music")


def test_entry_lowers_the_incumbents_vertical_revenue_and_raises_its_exit_risk(music_runs):
    squeezed, alone = rows(music_runs["with"], "tiangong"), rows(music_runs["without"], "tiangong")
    after = slice(MUSIC_ENTRY, None)
    assert (
        squeezed.loc[after, "vertical_revenue_bn"] < 0.8 * alone.loc[after, "vertical_revenue_bn"]
    ).all()
    assert (squeezed.loc[after, "burn_bn"] > alone.loc[after, "burn_bn"]).all()
    assert squeezed.loc[12, "distance_to_kill_line"] < alone.loc[12, "distance_to_kill_line"]
    before = slice(None, MUSIC_ENTRY - 1)
    assert squeezed.loc[before].equals(alone.loc[before])  # nothing moves before the entry


def test_a_giants_entry_brings_a_niche_firm_to_the_line_sooner():
    squeezed = run(NICHE_BOUND, [QWEN_INTO_MEDICAL])
    alone = run(NICHE_BOUND)
    assert exit_month(squeezed, "baichuan") < exit_month(alone, "baichuan")
    a, b = rows(squeezed, "baichuan"), rows(alone, "baichuan")
    month = MEDICAL_ENTRY
    assert a.loc[month, "vertical_revenue_bn"] < 0.6 * b.loc[month, "vertical_revenue_bn"]
    # through its accounts (a buyer that has entered medicine also values it more, 7.8)
    assert a.loc[month, "burn_bn"] > b.loc[month, "burn_bn"]


def test_cutting_the_entry_channel_removes_the_squeeze(monkeypatch):
    monkeypatch.setattr(VerticalMarkets, "enter", lambda self, key, firm, skill, reach_m: None)
    cut = rows(run(events=[YUANBAO_INTO_MUSIC]), "tiangong")
    alone = rows(run(), "tiangong")
    assert (cut["vertical_revenue_bn"] == alone["vertical_revenue_bn"]).all()


# ------------------------------------------------------------------ niche size, cost efficiency


def test_a_larger_niche_raises_survival():
    small, large = (
        run(NICHE_BOUND),
        run({**NICHE_BOUND, "verticals.markets.medical.customers": 2e5}),
    )
    assert exit_month(large, "baichuan") > exit_month(small, "baichuan")
    assert (
        rows(large, "baichuan").loc[1:8, "distance_to_kill_line"]
        > rows(small, "baichuan").loc[1:8, "distance_to_kill_line"]
    ).all()


def _edge(overrides) -> float:
    """Baichuan's extra cash at month 6 (bn) from a cost-efficiency edge (1.3 against 0.8)."""
    lean = run({**NICHE_BOUND, **overrides, "firms.baichuan.cost_efficiency": 1.3})
    base = run({**NICHE_BOUND, **overrides})
    return rows(lean, "baichuan").loc[6, "capital_bn"] - rows(base, "baichuan").loc[6, "capital_bn"]


def test_cost_efficiency_raises_a_niche_firms_survival_through_its_vertical():
    lean = run({**NICHE_BOUND, "firms.baichuan.cost_efficiency": 1.3})
    base = run(NICHE_BOUND)
    assert exit_month(lean, "baichuan") > exit_month(base, "baichuan")
    assert niche(lean, "medical").loc[1, "baichuan"] > niche(base, "medical").loc[1, "baichuan"]
    # cut the niche's price and serving-cost channels: the edge is (almost) gone
    cut = {"verticals.b_price": 0.0, "verticals.markets.medical.serve_cost_share": 0.0}
    assert _edge({}) > 10 * max(_edge(cut), 1e-6)


# ------------------------------------------------------------------ schema


@pytest.mark.parametrize(
    ("overrides", "events", "path"),
    [
        ({}, [{**QWEN_INTO_MEDICAL, "vertical": "gaming"}], "unknown vertical 'gaming'"),
        (
            {"verticals.markets.music.rivals.tiangong.cost_efficiency": 1.0},
            [],
            "verticals.markets.music.rivals.tiangong.cost_efficiency",
        ),
        (
            {"verticals.markets.music.rivals.foreign_music.cost_efficiency": 0.0},
            [],
            "verticals.markets.music.rivals.foreign_music.cost_efficiency",
        ),
        ({"verticals.markets.music.growth_month": 2.0}, [], "verticals.markets.music.growth_month"),
    ],
)
def test_bad_verticals_input_names_the_key(overrides, events, path):
    with pytest.raises(ScenarioError) as error:
        scenario = load_scenario("steady", overrides)
        scenario.with_events(events)
    assert path in str(error.value)
    assert "\n" not in str(error.value)
