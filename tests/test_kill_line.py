"""The kill line (斩杀线): runway and distance, and the collapse that follows a crossing."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from helpers import KIMI_FORCED, assert_statuses_move_forward, simulate, small
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.kill_line import distance_to_kill_line, runway
from sim.schema import EXITED

# ------------------------------------------------------------------ runway


def test_runway_is_cash_over_burn():
    assert runway(12.0, 2.0, 120.0) == pytest.approx(6.0)
    assert runway(0.5, 2.0, 120.0) == pytest.approx(0.25)


def test_runway_is_capped():
    assert runway(1e6, 1.0, 120.0) == 120.0
    assert runway(240.0, 2.0, 36.0) == 36.0


@pytest.mark.parametrize("burn", [0.0, -0.5])
def test_a_firm_that_does_not_burn_has_the_capped_runway(burn):
    assert runway(5.0, burn, 120.0) == 120.0
    assert runway(0.0, burn, 24.0) == 24.0


def test_negative_cash_is_no_runway():
    assert runway(-3.0, 1.0, 120.0) == 0.0


# ------------------------------------------------------------------ distance


def test_distance_is_zero_on_the_line():
    assert distance_to_kill_line(6.0, 0.5, 6.0, 0.01) == pytest.approx(0.0)
    assert distance_to_kill_line(120.0, 0.01, 6.0, 0.01) == pytest.approx(0.0)


def test_distance_counts_doublings_of_the_weaker_side():
    assert distance_to_kill_line(12.0, 0.1, 6.0, 0.01) == pytest.approx(1.0)
    assert distance_to_kill_line(120.0, 0.04, 6.0, 0.01) == pytest.approx(2.0)


def test_distance_is_negative_when_runway_is_short():
    assert distance_to_kill_line(3.0, 0.5, 6.0, 0.01) == pytest.approx(-1.0)


def test_distance_is_negative_when_presence_is_below_the_floor():
    assert distance_to_kill_line(120.0, 0.005, 6.0, 0.01) == pytest.approx(-1.0)


@pytest.mark.parametrize(("runway_months", "presence"), [(0.0, 0.5), (12.0, 0.0), (0.0, 0.0)])
def test_distance_is_finite_at_zero(runway_months, presence):
    distance = distance_to_kill_line(runway_months, presence, 6.0, 0.01)
    assert math.isfinite(distance)
    assert distance < -10


@settings(max_examples=50, deadline=None, database=None)
@given(
    short=st.floats(0.01, 100.0),
    longer=st.floats(0.01, 100.0),
    presence=st.floats(0.0, 1.0),
    threshold=st.floats(0.5, 24.0),
    floor=st.floats(0.0001, 0.1),
)
def test_distance_never_falls_as_runway_grows(short, longer, presence, threshold, floor):
    low, high = sorted((short, longer))
    assert distance_to_kill_line(low, presence, threshold, floor) <= distance_to_kill_line(
        high, presence, threshold, floor
    )
    below = distance_to_kill_line(low, presence, threshold, floor) < 0
    assert below == (low < threshold or presence < floor)


def test_reported_distance_follows_the_definition(sprint_race, sprint_runs):
    """Firms in the market, in months where nobody left: the table's distance is the
    definition applied to the table's runway, share and API share."""
    kill = sprint_race.kill_line
    for tables in sprint_runs.values():
        firms, events = tables["firms"], tables["events"]
        exit_months = set(events.loc[events["kind"].isin(EXITED), "month"])
        rows = firms[(firms["status"] == "active") & ~firms["month"].isin(exit_months)]
        expected = [
            distance_to_kill_line(
                row.runway_months,
                max(row.share, row.api_share),
                kill.runway_months,
                kill.share_floor[row.tier],
            )
            for row in rows.itertuples()
        ]
        np.testing.assert_allclose(rows["distance_to_kill_line"], expected, atol=1e-9)
        assert (rows["runway_months"] <= kill.runway_cap_months).all()
        assert (rows["runway_months"] >= 0).all()


# ------------------------------------------------------------------ crossing and exit


def _kimi(tables: dict[str, pd.DataFrame]) -> tuple[pd.DataFrame, pd.DataFrame]:
    events = tables["events"]
    firms = tables["firms"]
    return events[events["firm"] == "kimi"], firms[firms["firm"] == "kimi"].set_index("month")


def test_forced_firm_crosses_after_confirm_months(kimi_forced):
    scenario, tables = kimi_forced
    events, kimi = _kimi(tables)
    crossed = events[events["kind"] == "crossed_kill_line"]
    assert len(crossed) == 1
    month = int(crossed["month"].iloc[0])
    confirm = scenario.kill_line.confirm_months
    assert month >= confirm
    # Past the line in each of the confirming months, and active until the crossing.
    assert (kimi.loc[month - confirm + 1 : month, "distance_to_kill_line"] < 0).all()
    assert (kimi.loc[: month - 1, "status"] == "active").all()
    assert kimi.loc[month, "status"] == "below_kill_line"
    assert (events.loc[events["kind"] == "round"]).empty, "round_close = 0 allows no round"


def test_forced_firm_exits_within_collapse_months(kimi_forced):
    scenario, tables = kimi_forced
    events, kimi = _kimi(tables)
    crossed = int(events.loc[events["kind"] == "crossed_kill_line", "month"].iloc[0])
    exits = events[events["kind"].isin(EXITED)]
    assert len(exits) == 1
    exit_month = int(exits["month"].iloc[0])
    assert crossed < exit_month <= crossed + scenario.kill_line.collapse_months
    after = kimi.loc[exit_month:]
    assert (after["status"] == exits["kind"].iloc[0]).all()
    assert (after["users_m"] == 0).all()
    assert (after["status_month"] == exit_month).all()


def test_forced_firm_users_go_to_other_firms(kimi_forced):
    _, tables = kimi_forced
    events, kimi = _kimi(tables)
    exit_month = int(events.loc[events["kind"].isin(EXITED), "month"].iloc[0])
    crossed = int(events.loc[events["kind"] == "crossed_kill_line", "month"].iloc[0])
    migration = tables["migration"]
    leaving = migration[
        (migration["from"] == "kimi") & migration["month"].between(crossed + 1, exit_month)
    ]
    joining = migration[(migration["to"] == "kimi") & (migration["month"] > crossed)]
    assert joining.empty, "nobody joins a collapsing firm"
    assert kimi.loc[crossed, "users_m"] > 0
    # Every user kimi held when it crossed left for another assistant by its exit.
    assert leaving["users_m"].sum() == pytest.approx(kimi.loc[crossed, "users_m"], rel=1e-9)
    firms = tables["firms"]
    receivers = set(leaving["to"]) - {"none"}
    assert receivers and "kimi" not in receivers
    at_exit = firms[(firms["month"] == exit_month) & firms["firm"].isin(receivers)]
    assert (at_exit["status"] == "active").all()
    # Part of its users find another assistant; the rest lapse.
    to_firms = leaving.loc[leaving["to"] != "none", "users_m"].sum()
    assert to_firms > 0.25 * leaving["users_m"].sum()
    # Every user with a main assistant is counted once.
    market = tables["market"].set_index("month")
    held = firms.groupby("month")["users_m"].sum()
    np.testing.assert_allclose(held, market.loc[held.index, "active_users_m"], rtol=1e-12)


@pytest.mark.parametrize("confirm", [1, 3])
def test_crossing_waits_for_confirm_months(confirm):
    overrides = {**KIMI_FORCED, "kill_line.confirm_months": confirm, "run.months": 6}
    events = simulate(small("sprint_race", overrides), 3).tables()["events"]
    crossed = events[(events["firm"] == "kimi") & (events["kind"] == "crossed_kill_line")]
    # Past the line from month 1 on, so the crossing comes exactly at `confirm`.
    assert crossed["month"].tolist() == [confirm]


def test_collapse_runs_its_course_with_cash_in_hand(presence_squeeze):
    scenario, tables = presence_squeeze
    events, firms = tables["events"], tables["firms"]
    collapse = scenario.kill_line.collapse_months
    crossings = events[events["kind"] == "crossed_kill_line"].set_index("firm")["month"]
    assert len(crossings) >= 2
    exits = events[events["kind"].isin(EXITED)].set_index("firm")["month"]
    horizon = firms["month"].max()
    for firm, month in crossings.items():
        if month + collapse > horizon:
            continue  # a collapse that starts in the last months ends after the run
        assert firm in exits.index, f"{firm} crossed but never left"
        assert month < exits[firm] <= month + collapse
        rows = firms[(firms["firm"] == firm) & (firms["month"] > month)]
        collapsing = rows[rows["status"] == "below_kill_line"]
        # Nobody pays in while a firm collapses.
        assert (collapsing["funding_bn"] == 0).all(), firm


def test_parent_funded_firms_are_cut_not_closed(presence_squeeze, yuanbao_forced):
    exits = 0
    for scenario, tables in (presence_squeeze, yuanbao_forced):
        firms = tables["firms"]
        last = firms[firms["month"] == firms["month"].max()].set_index("firm")
        for firm_id, seed in scenario.firms.items():
            if seed.funding_source == "parent" and last.loc[firm_id, "status"] in EXITED:
                exits += 1
                assert last.loc[firm_id, "status"] in ("pivoted", "acquired"), firm_id
    assert exits >= 2, "DeepSeek (squeezed) and Yuanbao (forced) should both leave"


def test_acquired_firms_name_a_giant_acquirer(all_runs):
    seen = 0
    for tables in all_runs.values():
        firms = tables["firms"]
        last = firms[firms["month"] == firms["month"].max()].set_index("firm")
        bought = last[last["status"] == "acquired"]
        seen += len(bought)
        for firm, row in bought.iterrows():
            assert row["acquirer"] in last.index, firm
            assert last.loc[row["acquirer"], "tier"] == "giant", firm
    assert seen >= 1, "the presence squeeze should see a giant buy a firm"


def test_a_giant_is_never_closed(all_runs):
    for label, tables in all_runs.items():
        firms = tables["firms"]
        assert not ((firms["tier"] == "giant") & (firms["status"] == "closed")).any(), label


def test_a_forced_giant_unit_is_cut_not_closed(yuanbao_forced):
    scenario, tables = yuanbao_forced
    events = tables["events"]
    mine = events[events["firm"] == "yuanbao"]
    assert "crossed_kill_line" in set(mine["kind"])
    exits = mine[mine["kind"].isin(EXITED)]
    assert exits["kind"].tolist() == ["pivoted"]
    firms = tables["firms"]
    last = firms[(firms["firm"] == "yuanbao") & (firms["month"] == scenario.run.months)]
    assert last["status"].item() == "pivoted"
    assert last["users_m"].item() == 0


def test_statuses_only_move_forward(all_runs):
    for label, tables in all_runs.items():
        assert_statuses_move_forward(tables["firms"], label)


# ------------------------------------------------------------------ one-off campaigns

_KIMI_CAMPAIGN = [
    {"kind": "marketing_campaign", "firm": "kimi", "start": "2026-02", "total_bn": 2.0, "months": 1}
]


def _kimi_after_campaign() -> pd.DataFrame:
    from sim.model import AIMarket
    from sim.scenario import load_scenario

    scenario = load_scenario("steady", {"run.users": 5000, "run.startups": 200, "run.months": 4})
    model = AIMarket(scenario.with_events(_KIMI_CAMPAIGN), rng=1)
    model.run_for(4)
    return model.tables()["firms"].query("firm == 'kimi'").set_index("month")


def test_a_one_off_campaign_is_set_against_cash_not_read_as_burn(monkeypatch):
    """Kimi pays 2 bn of its 10 bn for a one-month campaign. Its runway is judged on the burn
    that recurs, so it stays far from the line and in the market; reading the campaign month's
    burn as the burn to come (the channel cut) puts it within a buyer's reach that month."""
    from sim.firms import Firm

    kept = _kimi_after_campaign()
    assert kept.loc[2, "distance_to_kill_line"] > 1.0
    assert (kept["status"] == "active").all()
    monkeypatch.setattr(Firm, "recurring_burn", property(lambda firm: firm.burn))
    monkeypatch.setattr(Firm, "campaign_commitments", property(lambda firm: 0.0))
    cut = _kimi_after_campaign()
    assert cut.loc[2, "distance_to_kill_line"] < kept.loc[2, "distance_to_kill_line"] - 1.0
