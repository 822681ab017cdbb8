"""Shared scenarios and small runs for the test suite.

Runs are small (a few thousand simulated users, a year at most, a few thousand startups)
and shared across tests through session-scoped fixtures, so the whole suite stays fast.
Every run passes an explicit integer seed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd
import pytest

from sim.model import AIMarket
from sim.scenario import Scenario, load_scenario

SEEDS = (1, 2, 3)
SMALL = {"run.users": 3000, "run.months": 12, "run.startups": 2000}

# Kimi with almost no cash, spending heavily and unable to raise a round: past the line
# from its first month.
KIMI_FORCED = {
    "firms.kimi.capital_bn": 0.01,
    "firms.kimi.spend_bn_month": 2.0,
    "funding.round_close": 0.0,
    "funding.state_fund_close": 0.0,
    "run.months": 8,
}
# Tencent's unit with almost no cash, a parent that sees no stake in it and reviews every
# month, and a heavy run-rate, in the scenario where no programme tops it up.
YUANBAO_FORCED = {
    "firms.yuanbao.capital_bn": 0.01,
    "parents.tencent.stake": 0.0,
    "parent_support.review_months": 1,
    "firms.yuanbao.spend_bn_month": 5.0,
    "run.months": 8,
}
# A share floor no independent can reach: every independent crosses on presence alone,
# with cash in hand, so collapses run their course (and giants may buy).
PRESENCE_SQUEEZE = {"kill_line.share_floor.independent": 0.5, "run.months": 10}


def simulate(scenario: Scenario, seed: int, months: int | None = None) -> AIMarket:
    """Build and run a model; returns it for inspection."""
    model = AIMarket(scenario, rng=seed)
    model.run_for(scenario.run.months if months is None else months)
    return model


def small(name: str, overrides: Mapping[str, Any] | None = None) -> Scenario:
    """A shipped scenario at test size, with overrides."""
    return load_scenario(name, {**SMALL, **(overrides or {})})


@pytest.fixture(scope="session")
def run_model() -> Callable[..., AIMarket]:
    """The `simulate` helper, for tests that build their own runs."""
    return simulate


@pytest.fixture(scope="session")
def small_scenario() -> Callable[..., Scenario]:
    """The `small` helper: a shipped scenario at test size, with overrides."""
    return small


@pytest.fixture(scope="session")
def sprint_race() -> Scenario:
    """sprint_race at test size (3,000 users, 12 months, 2,000 startups)."""
    return small("sprint_race")


@pytest.fixture(scope="session")
def sprint_runs(sprint_race: Scenario) -> dict[int, dict[str, pd.DataFrame]]:
    """The tables of sprint_race for each seed in SEEDS."""
    return {seed: simulate(sprint_race, seed).tables() for seed in SEEDS}


@pytest.fixture(scope="session")
def kimi_forced() -> tuple[Scenario, dict[str, pd.DataFrame]]:
    """sprint_race with Kimi forced past the kill line; its scenario and tables."""
    scenario = small("sprint_race", KIMI_FORCED)
    return scenario, simulate(scenario, 7).tables()


@pytest.fixture(scope="session")
def yuanbao_forced() -> tuple[Scenario, dict[str, pd.DataFrame]]:
    """status_quo with Tencent's unit forced past the kill line; its scenario and tables."""
    scenario = small("status_quo", YUANBAO_FORCED)
    return scenario, simulate(scenario, 11).tables()


@pytest.fixture(scope="session")
def presence_squeeze() -> tuple[Scenario, dict[str, pd.DataFrame]]:
    """sprint_race where every independent falls below its share floor."""
    scenario = small("sprint_race", PRESENCE_SQUEEZE)
    return scenario, simulate(scenario, 5).tables()


@pytest.fixture(scope="session")
def all_runs(
    sprint_runs: dict[int, dict[str, pd.DataFrame]],
    kimi_forced: tuple[Scenario, dict[str, pd.DataFrame]],
    yuanbao_forced: tuple[Scenario, dict[str, pd.DataFrame]],
    presence_squeeze: tuple[Scenario, dict[str, pd.DataFrame]],
) -> dict[str, dict[str, pd.DataFrame]]:
    """Every shared run's tables by label, ordinary and forced."""
    runs = {f"sprint_race seed {seed}": tables for seed, tables in sprint_runs.items()}
    runs["kimi forced"] = kimi_forced[1]
    runs["yuanbao forced"] = yuanbao_forced[1]
    runs["presence squeeze"] = presence_squeeze[1]
    return runs
