"""Tests for sim/fates.py: one row per (replicate, firm), and the tier order."""

from __future__ import annotations

import pandas as pd
import pytest

from sim.fates import fates, order_by_tier, tiers_present

DATES = ["2025-12", "2026-01", "2026-02", "2026-03", "2026-04"]


def make_firms() -> pd.DataFrame:
    """Buyco never crosses; Gone crosses at 1 and is acquired by Buyco at 3; Turn crosses at
    2 and pivots at 4."""
    statuses = {
        "buyco": ["active"] * 5,
        "gone": ["active", "below_kill_line", "below_kill_line", "acquired", "acquired"],
        "turn": ["active", "active", "below_kill_line", "below_kill_line", "pivoted"],
    }
    left = {"buyco": 0, "gone": 3, "turn": 4}
    tiers = {"buyco": "giant", "gone": "vertical", "turn": "independent"}
    rows = []
    for month, date in enumerate(DATES):
        for firm, status in statuses.items():
            gone = status[month] in ("acquired", "pivoted")
            rows.append(
                {
                    "month": month,
                    "date": date,
                    "firm": firm,
                    "name": firm.title(),
                    "tier": tiers[firm],
                    "status": status[month],
                    "status_month": left[firm] if gone else 0,
                    "acquirer": "buyco" if firm == "gone" and gone else "",
                    "share": 0.0 if gone else 0.5,
                    "capital_bn": 1.0 + month,
                }
            )
    return pd.DataFrame(rows)


def make_events() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "month": [1, 2, 3, 4],
            "date": [DATES[1], DATES[2], DATES[3], DATES[4]],
            "kind": ["crossed_kill_line", "crossed_kill_line", "acquired", "pivoted"],
            "firm": ["gone", "turn", "gone", "turn"],
            "detail": ["", "", "by buyco", ""],
            "origin": ["model"] * 4,
        }
    )


def check_one_run(table: pd.DataFrame) -> None:
    row = table.set_index("firm")
    assert not row.loc["buyco", "crossed"]
    assert row.loc["buyco", "crossed_month"] is pd.NA
    assert row.loc["buyco", "exit"] == "" and row.loc["buyco", "crossed_date"] == ""
    assert row.loc["gone", "crossed"] and row.loc["gone", "crossed_month"] == 1
    assert row.loc["gone", "crossed_date"] == "2026-01"
    assert (row.loc["gone", "exit"], row.loc["gone", "exit_month"]) == ("acquired", 3)
    assert row.loc["gone", "exit_date"] == "2026-03"
    assert row.loc["gone", "acquirer"] == "buyco" and row.loc["gone", "status_end"] == "acquired"
    assert (row.loc["turn", "exit"], row.loc["turn", "exit_month"]) == ("pivoted", 4)
    assert row.loc["turn", "crossed_month"] == 2 and row.loc["turn", "end_month"] == 2
    assert row.loc["turn", "acquirer"] == ""


def test_fates_of_one_run() -> None:
    table = fates(make_firms(), make_events())
    assert table["firm"].tolist() == ["buyco", "gone", "turn"]
    assert "replicate" not in table
    check_one_run(table)


def test_fates_without_events_read_the_statuses() -> None:
    firms = make_firms()
    with_events = fates(firms, make_events())
    pd.testing.assert_frame_equal(fates(firms), with_events)
    pd.testing.assert_frame_equal(fates(firms.drop(columns="status_month")), with_events)


def test_fates_per_replicate() -> None:
    firms, events = make_firms(), make_events()
    other = firms.assign(status="active", status_month=0, acquirer="")
    table = fates(
        pd.concat([firms.assign(replicate=0, seed=11), other.assign(replicate=1, seed=12)]),
        pd.concat([events.assign(replicate=0, seed=11), events.iloc[:0].assign(replicate=1)]),
    )
    assert list(table.columns[:3]) == ["replicate", "seed", "firm"]
    assert len(table) == 6
    check_one_run(table[table["replicate"] == 0].drop(columns=["replicate", "seed"]))
    second = table[table["replicate"] == 1]
    assert not second["crossed"].any() and (second["exit"] == "").all()


@pytest.mark.parametrize("rows", [["vertical", "giant", "other", "midtier", "independent"]])
def test_order_by_tier(rows: list[str]) -> None:
    table = pd.DataFrame({"tier": rows, "share": [0.1, 0.2, 0.3, 0.4, 0.5]})
    ordered = order_by_tier(table, "share", ascending=False)
    assert ordered["tier"].tolist() == ["giant", "midtier", "independent", "vertical", "other"]
    assert tiers_present(["vertical", "zeta", "giant", "alpha"]) == [
        "giant",
        "vertical",
        "alpha",
        "zeta",
    ]
