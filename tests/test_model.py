"""The model's invariants: determinism, users on exactly one assistant, migration matching
the change in users, the accounting identity, and month 0 matching the roster."""

from __future__ import annotations

import contextlib
import functools
import signal
import threading
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
from helpers import (
    KIMI_FORCED,
    PRESENCE_SQUEEZE,
    assert_statuses_move_forward,
    simulate,
    small,
)
from hypothesis import Phase, example, given, settings
from hypothesis import strategies as st
from pandas.testing import assert_frame_equal

from sim.model import AIMarket
from sim.scenario import Scenario, load_scenario
from sim.schema import EXITED
from sim.tables import FIRM_COLUMNS, TABLES

# ------------------------------------------------------------------ determinism


def test_same_seed_gives_identical_tables(sprint_race, sprint_runs):
    again = simulate(sprint_race, 1).tables()
    for name in TABLES:
        assert_frame_equal(again[name], sprint_runs[1][name], obj=name)


def test_same_seed_is_identical_with_exits(kimi_forced):
    scenario, tables = kimi_forced
    again = simulate(scenario, 7).tables()
    for name in TABLES:
        assert_frame_equal(again[name], tables[name], obj=name)


def test_different_seeds_give_different_firm_tables(sprint_runs):
    one, two = sprint_runs[1]["firms"], sprint_runs[2]["firms"]
    assert one.shape == two.shape
    later = one["month"] > 0
    assert not np.allclose(one.loc[later, "users_m"], two.loc[later, "users_m"])
    assert not one.equals(two)


def test_the_scenario_seed_is_the_default_rng(sprint_race):
    default = AIMarket(sprint_race.with_overrides({"run.seed": 42}))
    explicit = AIMarket(sprint_race, rng=42)
    default.run_for(3)
    explicit.run_for(3)
    assert_frame_equal(default.tables()["firms"], explicit.tables()["firms"])


# ------------------------------------------------------------------ users


def _check_population(model: AIMarket) -> None:
    users = model.users
    main, used = users.main, users.used
    assert main.min() >= -1
    assert main.max() < users.n_firms
    counts = np.bincount(main[main >= 0], minlength=users.n_firms)
    np.testing.assert_array_equal(counts, users.counts())
    bits = (used[:, None] >> np.arange(users.n_firms, dtype=np.uint32)) & 1
    np.testing.assert_array_equal(bits.sum(axis=0), users.mau_counts())
    on = main >= 0
    assert ((used[on] >> main[on].astype(np.uint32)) & 1).all(), "the main one is not used"
    assert (used[~on] == 0).all(), "a user with no main assistant uses one"
    assert np.count_nonzero(used) * users.weight_m == pytest.approx(users.active_m)
    later = users.adoption_order[users.n_adopters :]
    assert (main[later] == -1).all(), "a user who has not adopted holds an assistant"
    for firm in model.firm_list:
        if not firm.in_market:
            assert counts[firm.index] == 0, f"{firm.firm_id} left but keeps users"
            assert users.mau_counts()[firm.index] == 0, f"{firm.firm_id} left but keeps MAU"


@pytest.mark.parametrize(
    ("overrides", "seed"),
    [({}, 3), (PRESENCE_SQUEEZE, 5), (KIMI_FORCED, 7)],
    ids=["sprint_race", "presence_squeeze", "kimi_forced"],
)
def test_every_user_has_one_assistant_or_none_each_month(overrides, seed):
    model = AIMarket(small("sprint_race", overrides), rng=seed)
    _check_population(model)
    for _ in range(model.params.run.months):
        model.step()
        _check_population(model)


def test_exited_firms_have_no_users(all_runs):
    exits_seen = 0
    for label, tables in all_runs.items():
        firms = tables["firms"]
        gone = firms[firms["status"].isin(EXITED)]
        exits_seen += gone["firm"].nunique()
        assert (gone["users_m"] == 0).all(), label
        assert (gone["mau_m"] == 0).all(), label
    assert exits_seen >= 3, "the forced runs should produce exits"


def test_main_users_sum_to_active_users_and_mau_exceeds_them(all_runs):
    for label, tables in all_runs.items():
        firms, market = tables["firms"], tables["market"].set_index("month")
        per_month = firms.groupby("month")["users_m"].sum()
        active = market.loc[per_month.index, "active_users_m"]
        np.testing.assert_allclose(per_month, active, rtol=1e-12, err_msg=label)
        in_market = market.loc[per_month.index, "users_in_market_m"]
        np.testing.assert_allclose(per_month, in_market, rtol=1e-12)
        mau = firms.groupby("month")["mau_m"].sum()
        np.testing.assert_allclose(mau, market.loc[mau.index, "mau_in_market_m"], rtol=1e-12)
        assert (mau >= per_month - 1e-9).all(), label
        assert (active <= market.loc[active.index, "adopters_m"] + 1e-9).all(), label


def _flows(migration: pd.DataFrame) -> pd.DataFrame:
    inflow = migration.groupby(["month", "to"])["users_m"].sum().rename("inflow")
    outflow = migration.groupby(["month", "from"])["users_m"].sum().rename("outflow")
    inflow.index.names = outflow.index.names = ["month", "firm"]
    return pd.concat([inflow, outflow], axis=1).fillna(0.0)


def test_migration_explains_every_change_in_users(all_runs):
    for label, tables in all_runs.items():
        firms, migration = tables["firms"], tables["migration"]
        assert migration[migration["month"] == 0].empty, "month 0 has no moves"
        users = firms.pivot(index="month", columns="firm", values="users_m")
        change = users.diff().iloc[1:].stack()
        change.index.names = ["month", "firm"]
        flows = _flows(migration).reindex(change.index, fill_value=0.0)
        net = flows["inflow"] - flows["outflow"]
        np.testing.assert_allclose(
            change.to_numpy(), net.to_numpy(), atol=1e-6, err_msg=f"{label}: migration"
        )
        # New adopters and returning users come from "none"; lapsing users go to it.
        assert (migration["to"] == "none").any(), f"{label}: nobody lapses"
        assert (migration["from"] == "none").any(), f"{label}: nobody adopts or returns"
        assert (migration["from"] != migration["to"]).all(), label


def test_migration_is_in_real_millions(sprint_race, sprint_runs):
    model = simulate(sprint_race, 2, months=1)
    weight = model.users.weight_m
    migration = sprint_runs[2]["migration"]
    counts = migration["users_m"] / weight
    np.testing.assert_allclose(counts, np.round(counts), atol=1e-9)
    assert (counts >= 1 - 1e-9).all()
    assert weight == pytest.approx(sprint_race.market.internet_users_m / sprint_race.run.users)


# ------------------------------------------------------------------ accounts


def test_capital_moves_by_revenue_less_costs_plus_funding(all_runs):
    """In ordinary runs and through collapses and acquisitions."""
    for tables in all_runs.values():
        _check_accounts(tables["firms"])


def _check_accounts(firms: pd.DataFrame) -> None:
    wide = firms.sort_values(["firm", "month"])
    for firm, rows in wide.groupby("firm"):
        change = rows["capital_bn"].diff().iloc[1:].to_numpy()
        flow = (rows["revenue_bn"] - rows["costs_bn"] + rows["funding_bn"]).iloc[1:].to_numpy()
        np.testing.assert_allclose(change, flow, rtol=0, atol=1e-9, err_msg=firm)


def test_revenue_and_costs_are_the_sum_of_their_lines(sprint_runs):
    firms = sprint_runs[1]["firms"]
    revenue = firms[
        [
            "consumer_revenue_bn",
            "commerce_revenue_bn",
            "api_revenue_bn",
            "legacy_revenue_bn",
            "vertical_revenue_bn",
        ]
    ].sum(axis=1)
    spend = firms[[c for c in firms.columns if c.startswith("spend_")]].sum(axis=1)
    costs = firms["inference_cost_bn"] + firms["api_cost_bn"] + firms["vertical_cost_bn"] + spend
    np.testing.assert_allclose(firms["revenue_bn"], revenue, atol=1e-12)
    np.testing.assert_allclose(firms["costs_bn"], costs, atol=1e-12)
    assert (firms[["revenue_bn", "costs_bn"]] >= 0).all().all()
    # An acquired firm hands its cash to the acquirer: its only negative funding.
    handed_over = firms["status"].eq("acquired") & firms["funding_bn"].lt(0)
    assert (firms.loc[~handed_over, "funding_bn"] >= 0).all()


# ------------------------------------------------------------------ month 0


@pytest.fixture(scope="module")
def month0() -> tuple[Scenario, AIMarket, dict[str, pd.DataFrame]]:
    scenario = load_scenario("sprint_race", {"run.users": 5000, "run.startups": 2000})
    model = AIMarket(scenario, rng=4)
    return scenario, model, model.tables()


def test_month0_mau_matches_the_roster(month0):
    scenario, model, tables = month0
    start = tables["firms"][tables["firms"]["month"] == 0].set_index("firm")
    weight = model.users.weight_m
    for firm_id, seed in scenario.firms.items():
        # month 0 is drawn user by user from the fitted law: binomial noise, 5 sigma
        tolerance = 5.0 * weight * np.sqrt(seed.mau_m / weight + 1.0)
        assert abs(start.loc[firm_id, "mau_m"] - seed.mau_m) <= tolerance, firm_id
    fit = model.month0_fit
    lapsed = scenario.awareness.lapsed_share
    assert fit.active_share == pytest.approx(1.0 - lapsed, abs=0.03)
    ratio = sum(f.mau_m for f in scenario.firms.values()) / scenario.market.adopters_m
    assert fit.mau_per_adopter == pytest.approx(ratio, rel=0.05)
    assert start.loc["doubao", "status"] == "active"
    assert (start["status"] == "active").all()


def test_month0_adopters_match_the_market(month0):
    scenario, model, tables = month0
    market = tables["market"].set_index("month")
    assert abs(market.loc[0, "adopters_m"] - scenario.market.adopters_m) <= model.users.weight_m


def test_month0_api_shares_match_the_roster(month0):
    scenario, _, tables = month0
    start = tables["firms"][tables["firms"]["month"] == 0].set_index("firm")
    seeds = pd.Series({firm_id: firm.api_share for firm_id, firm in scenario.firms.items()})
    expected = seeds / seeds.sum()
    np.testing.assert_allclose(start.loc[expected.index, "api_share"], expected, atol=1e-9)


def test_month0_capital_is_the_roster(month0):
    scenario, _, tables = month0
    start = tables["firms"][tables["firms"]["month"] == 0].set_index("firm")
    for firm_id, seed in scenario.firms.items():
        assert start.loc[firm_id, "capital_bn"] == pytest.approx(seed.capital_bn)
        assert start.loc[firm_id, "quality"] == pytest.approx(seed.quality)


# ------------------------------------------------------------------ tables


def test_tables_have_one_row_per_month_and_firm(sprint_race, sprint_runs):
    tables = sprint_runs[3]
    firms, market = tables["firms"], tables["market"]
    months = sprint_race.run.months
    assert len(firms) == (months + 1) * len(sprint_race.firms)
    assert not firms.duplicated(["month", "firm"]).any()
    assert list(market["month"]) == list(range(months + 1))
    assert list(tables["startups"]["month"]) == list(range(1, months + 1))
    assert set(FIRM_COLUMNS) <= set(firms.columns)
    assert firms.loc[firms["month"] == 1, "date"].unique().tolist() == [sprint_race.run.start]


def _check_shares(tables: dict[str, pd.DataFrame], label: str = "") -> None:
    """Consumer shares, and tier shares, sum to one every month."""
    firms, market = tables["firms"], tables["market"]
    np.testing.assert_allclose(firms.groupby("month")["share"].sum(), 1.0, err_msg=label)
    tiers = market[[c for c in market.columns if c.startswith("share_")]].sum(axis=1)
    np.testing.assert_allclose(tiers, 1.0, err_msg=label)


def test_shares_sum_to_one(all_runs):
    for label, tables in all_runs.items():
        _check_shares(tables, label)
        firms = tables["firms"]
        # API shares are renormalised at the next month's accounts: in a month where a
        # firm leaves, the leaver's share is simply gone.
        api = firms.groupby("month")["api_share"].sum()
        assert (api <= 1.0 + 1e-9).all(), label
        exit_months = set(tables["events"].loc[tables["events"]["kind"].isin(EXITED), "month"])
        calm = api[~api.index.isin(exit_months)]
        np.testing.assert_allclose(calm, 1.0, err_msg=label)


# ------------------------------------------------------------------ invariants, at random


@functools.cache
def tiny_sprint() -> Scenario:
    """sprint_race at 1,000 users for 4 months (loaded once; not a fixture, so that
    hypothesis does not print the whole scenario with a failing example)."""
    return load_scenario("sprint_race", {"run.users": 1000, "run.months": 4, "run.startups": 500})


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Turn a hang into a failure: raise TimeoutError after `seconds` (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum, frame):
        raise TimeoutError(f"a 4-month run at 1,000 users took over {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# No shrinking: a failing example is reported as drawn, so a hang costs one time limit.
@settings(
    max_examples=12,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)
@example(reconsider=0.0, runway_months=24.0, b_quality=0.0, kimi_capital=0.0, seed=0)
@example(reconsider=1e-300, runway_months=6.0, b_quality=4.0, kimi_capital=3.0, seed=1)
@given(
    reconsider=st.floats(0.0, 0.5),
    runway_months=st.floats(1.0, 24.0),
    b_quality=st.floats(0.0, 8.0),
    kimi_capital=st.floats(0.0, 3.0),
    seed=st.integers(0, 2**31 - 1),
)
def test_invariants_hold_for_random_parameters(
    reconsider, runway_months, b_quality, kimi_capital, seed
):
    scenario = tiny_sprint().with_overrides(
        {
            "market.reconsider_rate": reconsider,
            "kill_line.runway_months": runway_months,
            "choice.b_quality": b_quality,
            "firms.kimi.capital_bn": kimi_capital,
        }
    )
    with time_limit(10.0):
        model = AIMarket(scenario, rng=seed)
        model.run_for(4)
    tables = model.tables()
    firms, market = tables["firms"], tables["market"]
    _check_shares(tables)
    assert (firms["users_m"] >= 0).all()
    assert (tables["migration"]["users_m"] > 0).all()
    held = firms.groupby("month")["users_m"].sum()
    np.testing.assert_allclose(held, market.set_index("month").loc[held.index, "active_users_m"])
    assert_statuses_move_forward(firms)
    assert (firms.loc[firms["status"].isin(EXITED), "users_m"] == 0).all()
