"""The long tail of startups (sim/startups.py, docs/model.md 7.11): each of the three
pressures (a price war, the giants' encroachment, a poor funding climate) raises the
closure hazard, and with it the closures, against the same seed without it."""

from __future__ import annotations

import pandas as pd
import pytest
from helpers import simulate, small

from sim.calendar import month_label
from sim.scenario import Scenario
from sim.startups import Pressure, hazard

MONTH = 3  # the pressures below start in the third month of the run
SEEDS = (1, 2)


@pytest.fixture(scope="module")
def status_quo() -> Scenario:
    # enough startups that the month's closures track the hazard
    return small("status_quo", {"run.startups": 20000})


@pytest.fixture(scope="module")
def baseline(status_quo) -> dict[int, pd.DataFrame]:
    return {seed: simulate(status_quo, seed).tables()["startups"] for seed in SEEDS}


@pytest.mark.parametrize("pressure", ["price_war", "encroachment", "climate"])
def test_each_pressure_raises_the_hazard_by_its_weight(status_quo, pressure):
    params = status_quo.startups
    calm = hazard(params, Pressure())
    assert calm == pytest.approx(params.base_hazard)
    weight = getattr(params, f"{pressure}_hazard")
    assert weight > 0
    pressed = hazard(params, Pressure(**{pressure: 1.0}))
    assert pressed == pytest.approx(params.base_hazard * (1 + weight))
    assert hazard(params, Pressure(**{pressure: 1e6})) == 1.0


def test_cheaper_tokens_lower_the_hazard_by_their_share_of_costs(status_quo):
    params = status_quo.startups
    saving = hazard(params, Pressure(token_saving=0.5))
    assert saving == pytest.approx(params.base_hazard * (1 - 0.5 * params.token_cost_share))
    assert saving < params.base_hazard
    cut = params.model_copy(update={"token_cost_share": 0.0})
    assert hazard(cut, Pressure(token_saving=0.5)) == pytest.approx(params.base_hazard)


def test_a_fall_of_costs_on_trend_is_no_price_war(status_quo):
    """With every markup held, tokens get cheaper along the cost curve: a saving for
    startups, never a price war."""
    model = simulate(status_quo.with_overrides({"economics.price_adjust": 0.0}), 1)
    pressure = model.pressure()
    assert pressure.price_war == 0.0
    assert pressure.token_saving > 0.2
    assert model.startups.last_hazard < status_quo.startups.base_hazard


def price_war(scenario: Scenario) -> list[dict]:
    """Every firm cuts its API markup to a fifth."""
    month = month_label(MONTH, scenario.run.start)
    return [
        {"kind": "price_cut", "firm": firm, "month": month, "factor": 0.2}
        for firm in scenario.firms
    ]


def encroachment(scenario: Scenario) -> list[dict]:
    """ByteDance spends 10 bn a month more on marketing (no quality, price or efficiency
    change, so the API market's prices stay where they were)."""
    split = {"rd": 0.0, "marketing": 1.0, "supply": 0.0, "efficiency": 0.0, "fixed": 0.0}
    start = month_label(MONTH, scenario.run.start)
    return [
        {
            "kind": "investment_programme",
            "firm": "doubao",
            "start": start,
            "months": 10,
            "total_bn": 100.0,
            "split": split,
        }
    ]


def cold_climate(scenario: Scenario) -> list[dict]:
    start = month_label(MONTH, scenario.run.start)
    return [{"kind": "funding_climate", "start": start, "sentiment": 0.25}]


@pytest.mark.parametrize(
    "events", [price_war, encroachment, cold_climate], ids=lambda f: f.__name__
)
def test_pressure_raises_startup_closures(status_quo, baseline, events):
    scenario = status_quo.with_events(events(status_quo))
    closed = calm_closed = 0.0
    for seed in SEEDS:
        pressed = simulate(scenario, seed).tables()["startups"].set_index("month")
        calm = baseline[seed].set_index("month")
        assert (pressed.loc[: MONTH - 1, "hazard"] == calm.loc[: MONTH - 1, "hazard"]).all()
        # The pressure bites at once; firms then reprice and budgets move, so it may fade,
        # but it never leaves startups safer than the calm market.
        assert pressed.loc[MONTH, "hazard"] > 1.2 * calm.loc[MONTH, "hazard"], seed
        assert (pressed.loc[MONTH:, "hazard"] >= calm.loc[MONTH:, "hazard"] - 1e-12).all(), seed
        assert pressed["alive"].iloc[-1] < calm["alive"].iloc[-1]
        closed += pressed.loc[MONTH:, "closed_this_month"].sum()
        calm_closed += calm.loc[MONTH:, "closed_this_month"].sum()
    # over the seeds: within one seed a breakthrough can end a price war early
    assert closed > 1.1 * calm_closed


def test_a_calm_market_keeps_the_base_hazard(status_quo):
    """No price war, no giants' spending above their run-rate, a neutral climate: startups
    close at the calibrated base hazard. (Cost efficiency is held at its start, which
    would otherwise lower API prices and count as a price war.)"""
    scenario = status_quo.with_overrides(
        {
            "capabilities.efficiency_gain": 0.0,
            "capabilities.efficiency_adjust": 0.0,
            "capabilities.industry_cost_decline": 0.0,
            "economics.price_adjust": 0.0,
        }
    )
    startups = simulate(scenario, 1).tables()["startups"]
    # (shares move a little among vendors at different prices, so tokens get a hair cheaper)
    assert startups["hazard"].tolist() == pytest.approx(
        [scenario.startups.base_hazard] * 12, rel=1e-4
    )
