"""Every shipped scenario: it states its purpose and claims, scripts no exit, validates, and
runs a few months at small size; and the article's scenarios differ from their base only
through the causes they declare."""

from __future__ import annotations

import re

import pytest

from sim.model import AIMarket
from sim.scenario import list_scenarios, load_scenario

SCENARIOS = [path.stem for path in list_scenarios()]
# DESIGN section 6 (history_2024 is the backtest, owned elsewhere)
ARTICLE_SCENARIOS = (
    "status_quo",
    "sprint_race",
    "doubao_supply",
    "deepseek_moment",
    "cost_turn",
    "midtier_fusion",
    "midtier_no_fusion",
    "vertical_squeeze",
    "consolidation",
    "startup_shakeout",
    "steady",
)
TINY = {"run.users": 800, "run.months": 3, "run.startups": 500}
# event kinds that would decide a firm's fate instead of causing it
EXIT_KINDS = {"acquisition_offer"}


def test_every_article_scenario_is_shipped():
    assert set(ARTICLE_SCENARIOS) <= set(SCENARIOS)


@pytest.mark.parametrize("name", SCENARIOS)
def test_scenario_states_purpose_and_claims(name):
    scenario = load_scenario(name)
    assert scenario.title and len(scenario.description) > 80
    assert all(re.fullmatch(r"C([1-9]|10)", claim) for claim in scenario.claims)
    if name != "steady" and not scenario.observed:  # a backtest speaks to history
        assert scenario.claims, f"{name} names no claim it speaks to"


@pytest.mark.parametrize("name", SCENARIOS)
def test_scenario_scripts_causes_not_exits(name):
    scenario = load_scenario(name)
    assert not [event.kind for event in scenario.events if event.kind in EXIT_KINDS]
    for event in scenario.events:
        assert event.source, f"{name}: event {event.id or event.kind} has no source"


@pytest.mark.parametrize("name", SCENARIOS)
def test_scenario_runs_a_few_months(name):
    scenario = load_scenario(name, TINY)
    model = AIMarket(scenario, rng=3)
    model.run()
    tables = model.tables()
    assert tables["market"]["month"].max() == 3
    shares = tables["firms"].groupby("month")["share"].sum()
    assert ((shares > 0.99) & (shares < 1.01)).all()


def _ids(name):
    return {event.id for event in load_scenario(name).events}


def test_variants_add_only_their_causes():
    sprint = _ids("sprint_race")
    assert _ids("deepseek_moment") - sprint == {"kimi_breakthrough"}
    assert _ids("cost_turn") - sprint == {"cost_turn"}
    assert _ids("vertical_squeeze") - sprint == {
        "tencent_enters_music",
        "bytedance_enters_video",
        "baidu_enters_enterprise",
    }
    assert _ids("midtier_fusion") - _ids("midtier_no_fusion") == {
        "ernie_fusion",
        "nano360_fusion",
        "spark_fusion",
    }
    assert _ids("midtier_no_fusion") == sprint
    assert _ids("doubao_supply") - sprint == {"doubao_supply_build"}
    assert _ids("startup_shakeout") == sprint


def test_sprint_race_carries_the_2026_plans():
    events = {event.id: event for event in load_scenario("sprint_race").events}
    bytedance = events["bytedance_capex_2026"]
    assert bytedance.total_bn == pytest.approx(50.0)  # 200bn against 150bn in 2025 (C9)
    tencent = events["tencent_doubles_ai_products"]
    assert tencent.total_bn / tencent.months * 12 == pytest.approx(18.0)  # 36bn vs 18bn (C11)
