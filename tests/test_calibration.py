"""The calibrated parameters in seeds/parameters.toml are what sim/calibration.py fits, and
the model reproduces the article's count of young AI firms (F1, F2)."""

from __future__ import annotations

import tomllib

import pytest

from sim.calibration import bass_path, fit_bass, fit_startups, targets
from sim.model import AIMarket
from sim.scenario import load_scenario
from sim.schema import PARAMETERS_FILE


@pytest.fixture(scope="module")
def seeded() -> dict:
    with PARAMETERS_FILE.open("rb") as handle:
        return tomllib.load(handle)


@pytest.fixture(scope="module")
def bass() -> dict[str, float]:
    return fit_bass()


@pytest.fixture(scope="module")
def births(seeded) -> dict[str, float]:
    return fit_startups(seeded["startups"]["warmup_start"])


def test_bass_fit_matches_the_seeds(bass, seeded):
    market = seeded["market"]
    assert bass["bass_p"] == pytest.approx(market["bass_p"], rel=0.01, abs=1e-4)
    assert bass["bass_q"] == pytest.approx(market["bass_q"], rel=0.01, abs=1e-4)
    assert bass["internet_users_m"] == pytest.approx(market["internet_users_m"], rel=0.01)


def test_bass_fit_passes_through_the_cnnic_counts(bass):
    assert bass["max_relative_error"] < 0.05


def test_bass_path_reaches_the_december_count(bass):
    found = targets()
    start = found["genai_users_2024_06"]["value"]
    path = bass_path(bass["bass_p"], bass["bass_q"], start, bass["internet_users_m"], 18)
    assert path[0] == start
    assert (path[1:] >= path[:-1]).all(), "adopters never fall"
    assert path[-1] == pytest.approx(found["genai_users_2025_12"]["value"], rel=0.05)


def test_startup_fit_matches_the_seeds(births, seeded):
    startups = seeded["startups"]
    assert births["births_2023"] == pytest.approx(startups["births_per_month"]["2023"], rel=0.01)
    assert births["births_2024"] == pytest.approx(startups["births_per_month"]["2024"], rel=0.01)
    assert births["base_hazard"] == pytest.approx(startups["base_hazard"], rel=0.01)


@pytest.fixture(scope="module")
def census() -> dict[str, float]:
    """The startups table's first month (2026-01) with 20,000 simulated startups."""
    scenario = load_scenario(
        "status_quo", {"run.users": 2000, "run.months": 1, "run.startups": 20000}
    )
    model = AIMarket(scenario, rng=29)
    model.run_for(1)
    table = model.tables()["startups"]
    row = table[table["month"] == 1]
    assert row["date"].item() == "2026-01"
    return row.iloc[0].to_dict()


def test_model_reproduces_young_firms_alive(census):
    alive = targets()["startups_alive_2026_01"]["value"]
    assert alive == 869_000
    assert census["alive_aged_1_3"] == pytest.approx(alive, rel=0.03)


def test_model_reproduces_young_firms_closed(census):
    closed = targets()["startups_closed_2026_01"]["value"]
    assert closed == 168_000
    assert census["closed_aged_1_3"] == pytest.approx(closed, rel=0.05)
