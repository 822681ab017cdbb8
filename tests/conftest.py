"""Shared scenarios and small runs for the test suite.

Runs are small (a few thousand simulated users, a year at most, a few thousand startups:
`helpers.SMALL`) and shared across tests through session-scoped fixtures, so the whole
suite stays fast. Every run passes an explicit integer seed.
"""

from __future__ import annotations

import pandas as pd
import pytest
from helpers import KIMI_FORCED, PRESENCE_SQUEEZE, YUANBAO_FORCED, simulate, small

from sim.scenario import Scenario

SEEDS = (1, 2, 3)


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
