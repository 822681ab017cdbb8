"""Tests for sim/plots/ (run and ensemble plots) on small synthetic tables (no model run)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from sim.plots import run, style

MONTHS = 6
DATES = [f"{2025 + (11 + m) // 12}-{(11 + m) % 12 + 1:02d}" for m in range(MONTHS + 1)]
# firm, name, tier, exit month, exit status
ROSTER = [
    ("bigco", "BigCo", "giant", None, None),
    ("bigco2", "BigCo Two", "giant", None, None),
    ("midco", "MidCo", "midtier", None, None),
    ("indie", "Indie", "independent", 3, "closed"),
    ("niche", "Niche", "vertical", 1, "acquired"),
]
EXPECTED = [
    "market_share.png",
    "kill_line.png",
    "capital_runway.png",
    "migration.png",
    "concentration.png",
    "startups.png",
]


def make_firms(rng: np.random.Generator) -> pd.DataFrame:
    """Five firms over six months; Indie crosses the kill line at 2 and closes at 3, Niche
    is acquired at month 1."""
    rows = []
    for month in range(MONTHS + 1):
        weights = []
        for firm, name, tier, exit_month, exit_status in ROSTER:
            gone = exit_month is not None and month >= exit_month
            if firm == "indie":
                distance = 1.0 - 0.6 * month
                status = "below_kill_line" if month == 2 else "active"
            else:
                distance = 2.0 + rng.normal(0, 0.1)
                status = "active"
            if gone:
                status = exit_status
            weights.append(0.0 if gone else rng.uniform(0.5, 2.0))
            rows.append(
                {
                    "month": month,
                    "date": DATES[month],
                    "firm": firm,
                    "name": name,
                    "tier": tier,
                    "status": status,
                    "capital_bn": 5.0 - 0.5 * month + rng.uniform(0, 1),
                    "runway_months": float(2 ** (distance + 2.0)),
                    "distance_to_kill_line": distance,
                    "status_month": exit_month if gone else 0,
                    "acquirer": "bigco" if firm == "niche" and gone else "",
                }
            )
        total = sum(weights)
        for row, weight in zip(rows[-len(ROSTER) :], weights, strict=True):
            row["share"] = weight / total
            row["users_m"] = 500.0 * weight / total
    return pd.DataFrame(rows)


def make_tables(rng: np.random.Generator) -> dict[str, pd.DataFrame]:
    firms = make_firms(rng)
    market = pd.DataFrame(
        {
            "month": range(MONTHS + 1),
            "date": DATES,
            "hhi": firms.groupby("month")["share"].apply(lambda s: (s**2).sum()).to_numpy(),
            "top3_share": firms.groupby("month")["share"].apply(lambda s: s.nlargest(3).sum()),
            "firms_in_market": [5, 4, 4, 4, 3, 3, 3],
        }
    )
    for tier in ("giant", "midtier", "independent", "vertical"):
        by_tier = firms[firms["tier"] == tier].groupby("month")["share"].sum()
        market[f"share_{tier}"] = by_tier.to_numpy()
    migration = pd.DataFrame(
        {
            "month": [1, 1, 2, 3, 4],
            "date": [DATES[m] for m in (1, 1, 2, 3, 4)],
            "from": ["niche", "none", "bigco", "indie", "midco"],
            "to": ["bigco", "midco", "bigco2", "bigco", "none"],
            "users_m": [2.0, 30.0, 5.5, 12.0, 0.4],
        }
    )
    startups = pd.DataFrame(
        {
            "month": range(1, MONTHS + 1),
            "date": DATES[1:],
            "alive": np.linspace(1.4e6, 1.5e6, MONTHS),
            "closed": np.linspace(1.8e5, 2.2e5, MONTHS),
            "alive_aged_1_3": np.linspace(8.8e5, 8.6e5, MONTHS),
            "closed_aged_1_3": np.linspace(1.5e5, 1.7e5, MONTHS),
        }
    )
    events = pd.DataFrame(
        {
            "month": [1, 2, 3],
            "date": [DATES[1], DATES[2], DATES[3]],
            "kind": ["acquired", "crossed_kill_line", "closed"],
            "firm": ["niche", "indie", "indie"],
            "detail": ["by bigco", "runway 3.0 months", ""],
            "origin": ["model", "model", "model"],
        }
    )
    return {
        "firms": firms,
        "market": market,
        "migration": migration,
        "startups": startups,
        "events": events,
    }


@pytest.fixture
def tables() -> dict[str, pd.DataFrame]:
    return make_tables(np.random.default_rng(7))


def assert_png(path: Path) -> None:
    assert path.exists(), path
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG"), path
    assert len(data) > 10_000, path


def test_save_run_plots_writes_every_png(tables: dict[str, pd.DataFrame], tmp_path: Path) -> None:
    folder = tmp_path / "new" / "plots"
    written = run.save_run_plots(
        tables,
        folder,
        runway_threshold=6.0,
        startup_targets={"date": "2026-01-29", "alive_aged_1_3": 869e3, "closed_aged_1_3": 168e3},
    )
    assert [path.name for path in written] == EXPECTED
    for path in written:
        assert path.parent == folder
        assert_png(path)


def test_kill_line_is_drawn_at_zero(tables: dict[str, pd.DataFrame]) -> None:
    figure = run.kill_line_distance(tables["firms"], tables["events"])
    assert isinstance(figure, Figure)
    axes = [ax for ax in figure.axes if ax.lines]
    assert len(axes) == 4  # one panel per tier
    for ax in axes:
        zero = [line for line in ax.lines if line.get_label() == "kill line"]
        assert len(zero) == 1
        assert np.allclose(np.asarray(zero[0].get_ydata(), dtype=float), 0.0)


@pytest.mark.parametrize(("firm", "exit_month"), [("indie", 3), ("niche", 1)])
def test_kill_line_stops_after_exit(
    tables: dict[str, pd.DataFrame], firm: str, exit_month: int
) -> None:
    figure = run.kill_line_distance(tables["firms"], tables["events"])
    (line,) = [line for ax in figure.axes for line in ax.lines if line.get_gid() == firm]
    months = np.asarray(line.get_xdata(), dtype=float)
    distance = np.asarray(line.get_ydata(), dtype=float)
    assert np.isfinite(distance[months <= exit_month]).all()
    assert np.isnan(distance[months > exit_month]).all()
    assert (months > exit_month).any()


def test_kill_line_marks_crossings_and_exits(tables: dict[str, pd.DataFrame]) -> None:
    figure = run.kill_line_distance(tables["firms"], tables["events"])
    marks = sum(len(ax.collections) for ax in figure.axes)
    assert marks == 3  # Indie crossed and closed, Niche was acquired


def test_kill_line_without_events_uses_statuses(tables: dict[str, pd.DataFrame]) -> None:
    figure = run.kill_line_distance(tables["firms"], None)
    assert sum(len(ax.collections) for ax in figure.axes) == 3


def test_runway_threshold_is_dashed(tables: dict[str, pd.DataFrame]) -> None:
    figure = run.capital_and_runway(tables["firms"], runway_threshold=6.0)
    dashed = [
        line
        for ax in figure.axes
        for line in ax.lines
        if line.get_linestyle() == "--" and np.allclose(line.get_ydata(), 6.0)
    ]
    assert len(dashed) == 1


def test_empty_migration(tables: dict[str, pd.DataFrame], tmp_path: Path) -> None:
    empty = tables["migration"].iloc[0:0]
    assert isinstance(run.migration_heatmap(empty, tables["firms"]), Figure)
    written = run.save_run_plots({**tables, "migration": empty}, tmp_path)
    assert [path.name for path in written] == EXPECTED
    assert_png(tmp_path / "migration.png")


def test_empty_startups_writes_no_startup_plot(
    tables: dict[str, pd.DataFrame], tmp_path: Path
) -> None:
    empty = tables["startups"].iloc[0:0]
    assert isinstance(run.startups(empty), Figure)
    written = run.save_run_plots({**tables, "startups": empty}, tmp_path)
    assert [path.name for path in written] == EXPECTED[:-1]
    assert not (tmp_path / "startups.png").exists()


def test_startup_targets_are_marked(tables: dict[str, pd.DataFrame]) -> None:
    targets = {"date": "2026-01", "alive_aged_1_3": 869e3, "closed_aged_1_3": 168e3}
    (ax,) = run.startups(tables["startups"], targets).axes
    assert len(ax.collections) == 2
    assert len(run.startups(tables["startups"]).axes[0].collections) == 0


def test_firm_colours_are_distinct_and_stable(tables: dict[str, pd.DataFrame]) -> None:
    firms = tables["firms"]
    colours = style.firm_colours(firms)
    assert set(colours) == set(firms["firm"])
    assert len(set(colours.values())) == len(colours)
    assert style.firm_colours(firms.iloc[::-1]) == colours
    assert style.firm_order(firms)[:2] == ["bigco", "bigco2"]


def test_run_plot_by_name(tables: dict[str, pd.DataFrame]) -> None:
    assert isinstance(run.run_plot(tables, "kill_line"), Figure)
    with pytest.raises(KeyError, match="unknown plot"):
        run.run_plot(tables, "nope")


def test_exit_months_reads_fates_of_replicates(tables: dict[str, pd.DataFrame]) -> None:
    from sim.fates import fates
    from sim.plots import ensemble

    firms = pd.concat([tables["firms"].assign(replicate=r) for r in (0, 1)])
    events = pd.concat([tables["events"].assign(replicate=r) for r in (0, 1)])
    figure = ensemble.exit_months(fates(firms, events), MONTHS)
    labels = [ax.get_ylabel() for ax in figure.axes]
    assert labels == ["Indie", "Niche"]  # tier order: the independent before the vertical


def test_kill_line_view_clips_a_collapse_and_says_so(tables: dict[str, pd.DataFrame]) -> None:
    firms = tables["firms"].copy()
    deep = firms["firm"] == "indie"
    firms.loc[deep, "distance_to_kill_line"] = firms.loc[deep, "distance_to_kill_line"] - 15.0
    figure = run.kill_line_distance(firms, tables["events"])
    (line,) = [line for ax in figure.axes for line in ax.lines if line.get_gid() == "indie"]
    drawn = np.asarray(line.get_ydata(), dtype=float)
    assert np.nanmin(drawn) == run.DISTANCE_FLOOR  # on the edge, not at -15
    low, _ = figure.axes[0].get_ylim()
    assert low > run.DISTANCE_FLOOR - 1.0  # the other lines keep their room
    notes = [t.get_text() for ax in figure.axes for t in ax.texts]
    assert any("clipped" in note for note in notes)
