"""Scalar outcomes of one run: the numbers ensembles, sweeps, sensitivity and claims compare.

Each outcome is a function of one run's tables (``firms``, ``market``, ``events``; see
sim/tables.py) returning a float, and is registered by name in :data:`OUTCOMES`:

* ``giant_survival``, ``midtier_survival``, ``independent_survival``,
  ``vertical_survival``: share of the tier's firms still in the market at the horizon
  (status ``active`` or ``below_kill_line``); NaN when the scenario has no firm of the tier.
* ``firms_exited``: firms that left the market by the horizon (acquired, pivoted, closed).
* ``firms_crossed``: firms that crossed the kill line at some month.
* ``first_independent_crossing_month``, ``first_midtier_crossing_month``: the first month a
  firm of the tier crossed the kill line; horizon + 1 when none did, so later is larger.
* ``hhi_end``: concentration of consumer users at the horizon (Herfindahl, 0-1).
* ``top3_end``: combined consumer share of the three largest assistants at the horizon.
* ``share_giant_end``, ``share_midtier_end``, ``share_independent_end``: the tier's
  consumer share at the horizon (0-1).

"Still in the market" counts a firm that has crossed the kill line but not yet left it:
survival here is about exits. The ensemble's survival *curves* (sim/experiments/stats.py)
ask the stricter question of whether a firm has crossed the line at all.

Usage::

    from sim.outcomes import OUTCOMES, compute
    compute(model.tables())                      # every outcome
    compute(model.tables(), ["midtier_survival"])
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING

from sim.fates import fates
from sim.schema import EXITED, IN_MARKET

if TYPE_CHECKING:
    import pandas as pd

Tables = Mapping[str, "pd.DataFrame"]


class RunView:
    """What the outcomes read from one run's tables (its firm fates, sim/fates.py), once.

    Every outcome accepts either the tables or a view of them; :func:`compute` builds the
    view once, so a dozen outcomes cost little more than one (an ensemble computes them for
    every replicate).
    """

    def __init__(self, tables: Tables) -> None:
        fate = fates(tables["firms"], tables["events"])
        self.horizon = int(tables["firms"]["month"].max())
        self.tier = dict(zip(fate["firm"], fate["tier"], strict=True))
        self.status = dict(zip(fate["firm"], fate["status_end"], strict=True))
        crossed = fate[fate["crossed"]]
        self.crossings = list(
            zip(crossed["firm"], crossed["crossed_month"].astype(int), strict=True)
        )
        market = tables["market"]
        self.market_end = market.iloc[int(market["month"].to_numpy().argmax())]


def view(tables: Tables | RunView) -> RunView:
    """The run's view (built now unless given one)."""
    return tables if isinstance(tables, RunView) else RunView(tables)


def tier_survival(tables: Tables | RunView, tier: str) -> float:
    """Share of the tier's firms still in the market at the horizon (NaN: no such firm)."""
    run = view(tables)
    members = [firm for firm, of in run.tier.items() if of == tier]
    if not members:
        return float("nan")
    return sum(run.status[firm] in IN_MARKET for firm in members) / len(members)


def first_crossing_month(tables: Tables | RunView, tier: str) -> float:
    """First month a firm of the tier crossed the kill line; horizon + 1 when none did."""
    run = view(tables)
    months = [month for firm, month in run.crossings if run.tier.get(firm) == tier]
    return float(min(months)) if months else float(run.horizon + 1)


def giant_survival(tables: Tables | RunView) -> float:
    """Share of the giants' AI units still in the market at the horizon."""
    return tier_survival(tables, "giant")


def midtier_survival(tables: Tables | RunView) -> float:
    """Share of mid-tier firms still in the market at the horizon."""
    return tier_survival(tables, "midtier")


def independent_survival(tables: Tables | RunView) -> float:
    """Share of independent model makers still in the market at the horizon."""
    return tier_survival(tables, "independent")


def vertical_survival(tables: Tables | RunView) -> float:
    """Share of vertical firms still in the market at the horizon."""
    return tier_survival(tables, "vertical")


def firms_exited(tables: Tables | RunView) -> float:
    """Number of firms that left the market by the horizon (acquired, pivoted, closed)."""
    return float(sum(status in EXITED for status in view(tables).status.values()))


def firms_crossed(tables: Tables | RunView) -> float:
    """Number of firms that crossed the kill line during the run."""
    return float(len({firm for firm, _ in view(tables).crossings}))


def first_independent_crossing_month(tables: Tables | RunView) -> float:
    """First month an independent crossed the kill line (horizon + 1 if none did)."""
    return first_crossing_month(tables, "independent")


def first_midtier_crossing_month(tables: Tables | RunView) -> float:
    """First month a mid-tier firm crossed the kill line (horizon + 1 if none did)."""
    return first_crossing_month(tables, "midtier")


def _market_end(tables: Tables | RunView, column: str) -> float:
    return float(view(tables).market_end[column])


def hhi_end(tables: Tables | RunView) -> float:
    """Herfindahl-Hirschman index of consumer users at the horizon (0-1)."""
    return _market_end(tables, "hhi")


def top3_end(tables: Tables | RunView) -> float:
    """Combined consumer share of the three largest assistants at the horizon."""
    return _market_end(tables, "top3_share")


def share_giant_end(tables: Tables | RunView) -> float:
    """Consumer share of the giants' units at the horizon."""
    return _market_end(tables, "share_giant")


def share_midtier_end(tables: Tables | RunView) -> float:
    """Consumer share of the mid-tier firms at the horizon."""
    return _market_end(tables, "share_midtier")


def share_independent_end(tables: Tables | RunView) -> float:
    """Consumer share of the independents at the horizon."""
    return _market_end(tables, "share_independent")


OUTCOMES: dict[str, Callable[[Tables | RunView], float]] = {
    "giant_survival": giant_survival,
    "midtier_survival": midtier_survival,
    "independent_survival": independent_survival,
    "vertical_survival": vertical_survival,
    "firms_exited": firms_exited,
    "firms_crossed": firms_crossed,
    "first_independent_crossing_month": first_independent_crossing_month,
    "first_midtier_crossing_month": first_midtier_crossing_month,
    "hhi_end": hhi_end,
    "top3_end": top3_end,
    "share_giant_end": share_giant_end,
    "share_midtier_end": share_midtier_end,
    "share_independent_end": share_independent_end,
}


def check_names(names: Iterable[str]) -> list[str]:
    """The names, checked against the registry (ValueError naming the nearest on a typo)."""
    import difflib

    checked = []
    for name in names:
        if name not in OUTCOMES:
            near = difflib.get_close_matches(name, list(OUTCOMES), n=1, cutoff=0.5)
            hint = f"; did you mean {near[0]!r}?" if near else ""
            raise ValueError(f"unknown outcome {name!r}{hint} (choose from: {', '.join(OUTCOMES)})")
        checked.append(name)
    return checked


def compute(tables: Tables | RunView, names: Iterable[str] | None = None) -> dict[str, float]:
    """The named outcomes (default: all of them) of one run's tables."""
    chosen = list(OUTCOMES) if names is None else check_names(names)
    run = view(tables)
    return {name: OUTCOMES[name](run) for name in chosen}
