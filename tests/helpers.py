"""Helpers shared by test modules (pytest puts this folder on the import path): small runs,
paired runs with and without events, and the in-process command line."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Mapping
from typing import Any

import pandas as pd

from sim.model import AIMarket
from sim.scenario import Scenario, load_scenario
from sim.schema import EXITED, IN_MARKET

SMALL = {"run.users": 3000, "run.months": 12, "run.startups": 2000}

# Kimi with almost no cash, spending heavily and unable to raise a round: past the line
# from its first month.
KIMI_FORCED = {
    "firms.kimi.capital_bn": 0.01,
    "firms.kimi.spend_bn_month": 2.0,
    "funding.round_close": 0.0,
    "funding.state_fund_close": 0.0,
    # no buyer before it crosses (a distressed Kimi's team is worth buying)
    "acquisition.distress_distance": -100.0,
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
# Statuses only move forward: active, then below the kill line, then one way out.
STATUS_RANK = {
    **{status: rank for rank, status in enumerate(IN_MARKET)},
    **dict.fromkeys(EXITED, 2),
}


def cli(args: list[str]) -> tuple[int, str, str]:
    """Run the ``killline`` command line in-process: exit code, stdout, stderr."""
    from sim.cli import main  # only the tests of the command line load it

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(args)
    return code, out.getvalue(), err.getvalue()


def small(name: str, overrides: Mapping[str, Any] | None = None) -> Scenario:
    """A shipped scenario at test size (SMALL), with overrides."""
    return load_scenario(name, {**SMALL, **(overrides or {})})


def simulate(scenario: Scenario, seed: int, months: int | None = None) -> AIMarket:
    """Build and run a model; returns it for inspection."""
    model = AIMarket(scenario, rng=seed)
    model.run_for(scenario.run.months if months is None else months)
    return model


def paired(
    scenario: Scenario, events: list[dict[str, Any]], seed: int
) -> tuple[AIMarket, AIMarket]:
    """The same seed run with and without `events`: (with, without)."""
    return simulate(scenario.with_events(events), seed), simulate(scenario, seed)


def assert_statuses_move_forward(firms: pd.DataFrame, label: str = "") -> None:
    """Each firm's status only moves forward: active, below the kill line, one exit."""
    for firm, rows in firms.sort_values(["firm", "month"]).groupby("firm"):
        ranks = rows["status"].map(STATUS_RANK)
        assert ranks.notna().all(), f"{label}: unknown status for {firm}"
        assert ranks.is_monotonic_increasing, (
            f"{label}: {firm} went back: {rows['status'].tolist()}"
        )
        assert rows.loc[ranks == 2, "status"].nunique() <= 1, f"{label}: {firm} left twice"


def firm_rows(model: AIMarket, firm: str) -> pd.DataFrame:
    """One firm's rows of the firms table, indexed by month."""
    firms = model.tables()["firms"]
    return firms[firms["firm"] == firm].set_index("month")
