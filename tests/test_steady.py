"""Month 0 is a steady state: with nothing happening, nothing drifts; and the capability
equations' channels (research talent, spill-over from open weights) each do what they say."""

from __future__ import annotations

import numpy as np
import pytest

from sim import capabilities
from sim.model import AIMarket
from sim.scenario import load_scenario
from sim.users import UserPopulation

STEADY = {"run.users": 100_000, "run.startups": 2000, "run.months": 36}
SEEDS = (1, 2)
# the five largest assistants keep their share of MAU within this ratio, mean over SEEDS
SHARE_RATIO_TOLERANCE = 0.08


def _steady_runs():
    scenario = load_scenario("steady", STEADY)
    runs = {}
    for seed in SEEDS:
        model = AIMarket(scenario, rng=seed)
        model.run_for(36)
        runs[seed] = model.tables()
    return runs


@pytest.fixture(scope="module")
def steady_runs():
    return _steady_runs()


def _largest_share_ratios(runs) -> dict[str, float]:
    """Month-36 over month-0 share of MAU of the five largest assistants, mean over runs."""
    ratios = []
    for tables in runs.values():
        share = tables["firms"].pivot(index="month", columns="firm", values="share")
        ratios.append(share.iloc[-1] / share.iloc[0])
    mean = sum(ratios) / len(ratios)
    largest = share.iloc[0].sort_values().index[-5:]
    return mean[largest].to_dict()


def test_steady_largest_shares_hold_within_eight_percent(steady_runs):
    ratios = _largest_share_ratios(steady_runs)
    assert all(abs(r - 1.0) < SHARE_RATIO_TOLERANCE for r in ratios.values()), ratios


def test_cutting_the_flow_fit_makes_the_largest_shares_drift(monkeypatch):
    """Month 0 fitted to the fresh choices alone (as if every firm's users reviewed at one
    rate) is not a steady state: sticky Qwen gains and DeepSeek loses past the bound."""

    def one_rate(method):
        def wrapped(self, *args, **kwargs):
            self._hold = np.ones_like(self._hold)
            return method(self, *args, **kwargs)

        return wrapped

    monkeypatch.setattr(UserPopulation, "_fit", one_rate(UserPopulation._fit))
    monkeypatch.setattr(UserPopulation, "_place", one_rate(UserPopulation._place))
    ratios = _largest_share_ratios(_steady_runs())
    assert ratios["qwen"] > 1.0 + SHARE_RATIO_TOLERANCE, ratios
    assert ratios["deepseek"] < 1.0 - SHARE_RATIO_TOLERANCE, ratios


def _drift(firms, column):
    table = firms.pivot(index="month", columns="firm", values=column)
    return (table - table.loc[0]).abs().max()


@pytest.mark.parametrize("seed", SEEDS)
def test_steady_shares_move_less_than_three_points(steady_runs, seed):
    drift = _drift(steady_runs[seed]["firms"], "share")
    assert drift.max() < 0.03, drift.sort_values().tail(3).to_dict()


@pytest.mark.parametrize("seed", [1, 2])
def test_steady_quality_moves_less_than_003(steady_runs, seed):
    drift = _drift(steady_runs[seed]["firms"], "quality")
    assert drift.max() < 0.03, drift.sort_values().tail(3).to_dict()


@pytest.mark.parametrize("seed", SEEDS)
def test_nobody_exits_in_the_steady_state(steady_runs, seed):
    firms = steady_runs[seed]["firms"]
    assert (firms["status"] == "active").all()
    events = steady_runs[seed]["events"]
    assert not events["kind"].isin(["crossed_kill_line", "parent_withdraws"]).any()


def test_month0_is_a_fixed_point_of_the_capability_equations():
    model = AIMarket(load_scenario("steady", {"run.users": 2000, "run.startups": 100}), rng=1)
    caps = model.params.capabilities
    open_best = model.open_best
    for firm in model.firm_list:
        target = capabilities.target_quality(firm.talent, firm.effective_rd, open_best, caps)
        assert capabilities.step_quality(firm.quality, target, caps) == pytest.approx(
            firm.quality, abs=1e-12
        ), firm.firm_id
        efficiency = capabilities.step_efficiency(
            firm.cost_efficiency, firm.efficiency_talent, firm.accounts.spend["efficiency"], caps
        )
        assert efficiency == pytest.approx(firm.cost_efficiency, abs=1e-12), firm.firm_id
        supply = capabilities.step_supply(
            firm.supply, firm.accounts.spend["supply"], firm.supply_upkeep, caps
        )
        assert supply == pytest.approx(firm.supply, abs=1e-12), firm.firm_id


def test_nobody_passes_the_frontier_without_a_breakthrough(steady_runs):
    for tables in steady_runs.values():
        firms = tables["firms"]
        assert firms["quality"].max() <= 1.0


def _month0_odds(overrides=None):
    scenario = load_scenario(
        "status_quo", {"run.users": 2000, "run.startups": 100, **(overrides or {})}
    )
    model = AIMarket(scenario, rng=1)
    caps = model.params.capabilities
    return {
        f.firm_id: capabilities.breakthrough_odds(
            f.quality, f.talent, f.cost_efficiency, f.effective_rd, caps
        )
        for f in model.firm_list
    }


def test_talent_and_efficiency_let_independents_break_through():
    odds = _month0_odds()
    # DeepSeek spends an eighth of Doubao's R&D yet is likelier to break through.
    assert odds["deepseek"] > 2 * odds["doubao"]
    assert odds["kimi"] > odds["qwen"]


def test_ablating_talent_and_efficiency_hands_breakthroughs_to_big_spenders():
    cut = _month0_odds(
        {
            "capabilities.breakthrough_talent_elasticity": 0.0,
            "capabilities.breakthrough_efficiency_elasticity": 0.0,
        }
    )
    assert cut["deepseek"] < cut["doubao"]
    assert cut["kimi"] < cut["qwen"]


def _run_with_breakthrough(breaker: str, spillover: float | None = None) -> float:
    from sim.schema import Breakthrough

    overrides = {"run.users": 2000, "run.startups": 100, "run.months": 12}
    if spillover is not None:
        overrides["capabilities.spillover"] = spillover
    scenario = load_scenario("steady", overrides)
    event = Breakthrough(kind="breakthrough", firm=breaker, month="2026-02", size=0.1)
    scenario = scenario.model_copy(update={"events": [*scenario.events, event]})
    model = AIMarket(scenario, rng=1)
    start = model.firm("zhipu").quality
    model.run_for(12)
    return model.firm("zhipu").quality - start


def test_an_open_weight_breakthrough_lifts_followers():
    assert _run_with_breakthrough("deepseek") > 0.01
    # Doubao's weights are closed: nothing spills over.
    assert _run_with_breakthrough("doubao") == pytest.approx(0.0, abs=1e-9)


def test_ablating_spillover_leaves_followers_where_they_were():
    assert _run_with_breakthrough("deepseek", spillover=0.0) == pytest.approx(0.0, abs=1e-9)
