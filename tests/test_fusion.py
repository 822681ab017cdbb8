"""Fusion is production: rivals' assistants erode a legacy business as far as the fused AI
does not defend it, and integration is an investment a firm makes or not."""

from __future__ import annotations

import pytest

from sim.model import AIMarket
from sim.scenario import load_scenario

SIZE = {"run.users": 20_000, "run.startups": 500, "run.months": 24}
# Doubao leaps ahead and spends heavily on marketing: rivals' assistants grow.
SURGE = [
    {"kind": "breakthrough", "firm": "doubao", "month": "2026-02", "size": 0.1},
    {
        "kind": "marketing_campaign",
        "firm": "doubao",
        "start": "2026-02",
        "months": 12,
        "total_bn": 24.0,
    },
]


def legacy_left(overrides=None, events=SURGE, firm="nano360") -> float:
    scenario = load_scenario("steady", {**SIZE, **(overrides or {})}).with_events(events)
    model = AIMarket(scenario, rng=1)
    start = model.firm(firm).legacy_base
    model.run_for(24)
    return model.firm(firm).legacy_base / start


def test_rivals_growth_erodes_an_undefended_legacy_business():
    assert legacy_left() < 0.995


def test_ablating_erosion_keeps_the_legacy_business_whole():
    assert legacy_left({"economics.legacy_erosion": 0.0}) == 1.0


def test_fused_ai_defends_the_legacy_business():
    weak = legacy_left({"firms.nano360.integration": 0.1})
    strong = legacy_left({"firms.nano360.integration": 0.9})
    assert strong > weak


def test_integration_is_an_investment():
    invest = {
        "kind": "integration_investment",
        "firm": "nano360",
        "start": "2026-02",
        "months": 12,
        "total_bn": 0.6,
    }
    scenario = load_scenario("steady", SIZE)
    base = AIMarket(scenario, rng=1)
    fused = AIMarket(scenario.with_events([invest]), rng=1)
    base.run_for(24)
    fused.run_for(24)
    assert fused.firm("nano360").integration > base.firm("nano360").integration + 0.1
    assert base.firm("nano360").integration == scenario.firms["nano360"].integration
    # The investment is paid for, and the defended business pays back through legacy revenue.
    firms = fused.tables()["firms"]
    row = firms[(firms["firm"] == "nano360") & (firms["month"] == 24)].iloc[0]
    base_row = base.tables()["firms"]
    base_row = base_row[(base_row["firm"] == "nano360") & (base_row["month"] == 24)].iloc[0]
    assert row["legacy_revenue_bn"] > base_row["legacy_revenue_bn"]


def _credited(overrides=None, events=SURGE) -> AIMarket:
    scenario = load_scenario("steady", {**SIZE, **(overrides or {})}).with_events(events)
    model = AIMarket(scenario, rng=1)
    model.run_for(24)
    return model


def test_only_the_defended_legacy_profit_is_credited():
    """The AI is credited with the legacy profit its defence kept (the erosion avoided):
    nothing at month 0, and nothing where it defends nothing."""
    month0 = AIMarket(load_scenario("steady", SIZE), rng=1)
    assert all(f.accounts.legacy_revenue == 0.0 for f in month0.firm_list)
    nano = _credited().firm("nano360")
    margin = nano.model.params.economics.legacy_margin
    assert nano.legacy_undefended < nano.legacy_base
    # (the month's accounts are settled before the month's erosion is booked)
    assert nano.accounts.legacy_revenue == pytest.approx(
        margin * (nano.legacy_base - nano.legacy_undefended), rel=0.1
    )
    assert nano.accounts.legacy_revenue < margin * nano.integration * nano.legacy_base
    unfused = _credited({"firms.nano360.integration": 0.0}).firm("nano360")
    assert unfused.accounts.legacy_revenue == 0.0
