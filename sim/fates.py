"""How each firm fared: ONE derivation of firm fates, and the one tier order.

:func:`fates` reads a run's (or an ensemble's) ``firms`` and ``events`` tables and returns
one row per (replicate, firm): whether and when the firm crossed the kill line, whether,
when and how it left the market, who bought it, and its status at the horizon. Reports,
plots, scalar outcomes and ensemble summaries all read this table rather than the events.

:func:`order_by_tier` sorts any table with a ``tier`` column in the order of
``sim.schema.TIERS`` (giants, mid-tier, independents, verticals; unknown tiers last,
alphabetically): the only tier sort in the package.

    from sim.fates import fates, order_by_tier
    fates(result.firms, result.events)
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TYPE_CHECKING

from sim.schema import EXITED, TIERS

if TYPE_CHECKING:
    import pandas as pd

CROSSED = "crossed_kill_line"
BELOW = "below_kill_line"

COLUMNS = (
    "firm",
    "name",
    "tier",
    "crossed",
    "crossed_month",
    "crossed_date",
    "exit",
    "exit_month",
    "exit_date",
    "acquirer",
    "status_end",
    "share_end",
    "capital_end_bn",
    "end_month",
)


def tier_rank(tier: str) -> tuple[int, str]:
    """Sort key of a tier: its place in ``TIERS``; unknown tiers after them, by name."""
    return (TIERS.index(tier), "") if tier in TIERS else (len(TIERS), str(tier))


def tiers_present(tiers: Iterable[str]) -> list[str]:
    """The distinct tiers among ``tiers``, in tier order."""
    return sorted({tier for tier in tiers if isinstance(tier, str)}, key=tier_rank)


def order_by_tier(
    table: pd.DataFrame, by: str | list[str] | None = None, *, ascending: bool | list[bool] = True
) -> pd.DataFrame:
    """The table sorted by tier (``TIERS`` order), then by the columns ``by``.

    Args:
        table: any table with a ``tier`` column.
        by: further sort columns within a tier (e.g. ``"share_start"``).
        ascending: for the ``by`` columns, as in ``DataFrame.sort_values``.
    """
    extra = [by] if isinstance(by, str) else list(by or [])
    orders = [ascending] * len(extra) if isinstance(ascending, bool) else list(ascending)
    rank = table["tier"].map(lambda tier: tier_rank(tier)[0])
    name = table["tier"].map(lambda tier: tier_rank(tier)[1])
    ranked = table.assign(_rank=rank, _rank_name=name)
    ranked = ranked.sort_values(
        ["_rank", "_rank_name", *extra], ascending=[True, True, *orders], kind="stable"
    )
    return ranked.drop(columns=["_rank", "_rank_name"])


def fates(firms: pd.DataFrame, events: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per (replicate, firm): how the firm fared over the run.

    Works on one run's tables and on an ensemble's (with ``replicate`` and ``seed``
    columns, which are kept as the first columns).

    Args:
        firms: the firm table (``month``, ``date``, ``firm``, ``name``, ``tier``,
            ``status``; ``status_month``, ``acquirer``, ``share``, ``capital_bn`` when
            present).
        events: the event table; its ``crossed_kill_line`` events date the crossings.
            Without it (or when it is empty) a crossing is the first month the firm's
            status was ``below_kill_line``.

    Returns:
        Columns ``firm``, ``name``, ``tier``; ``crossed`` (bool), ``crossed_month``
        (Int64, missing if never) and ``crossed_date`` (``YYYY-MM`` or ""); ``exit``
        (acquired, pivoted, closed or ""), ``exit_month``, ``exit_date``; ``acquirer``
        (or ""); ``status_end`` (status at the horizon); ``share_end``, ``capital_end_bn``;
        ``end_month``: the earlier of crossing and exit (missing if neither). Rows in the
        firm table's order (replicate, then firm).
    """
    import pandas as pd

    keys = ["replicate", "firm"] if "replicate" in firms else ["firm"]
    ids = [column for column in ("replicate", "seed") if column in firms]
    last = firms[firms["month"] == firms["month"].max()]
    table = pd.DataFrame({column: last[column].to_numpy() for column in [*ids, "firm"]})
    table["name"] = last["name"].to_numpy() if "name" in last else table["firm"]
    table["tier"] = last["tier"].to_numpy()
    status = last["status"].astype(str).to_numpy()
    dates = firms.drop_duplicates("month").set_index("month")["date"]

    if events is not None and not events.empty:
        crossings = events[events["kind"] == CROSSED]
    else:
        crossings = firms[firms["status"] == BELOW]
    crossed = crossings.groupby(keys)["month"].min().rename("crossed_month")
    table = table.merge(crossed, left_on=keys, right_index=True, how="left")
    table = table.reset_index(drop=True)

    table["crossed_month"] = table["crossed_month"].astype("Int64")
    table["crossed"] = table["crossed_month"].notna()
    table["crossed_date"] = _dates(table["crossed_month"], dates)
    gone = pd.Series(status).isin(EXITED)
    if "status_month" in last:
        left = pd.Series(last["status_month"].to_numpy())
    else:  # the first month the firm had its final (exit) status
        exited = firms[firms["status"].isin(EXITED)].groupby(keys)["month"].min()
        left = table.merge(exited.rename("_left"), left_on=keys, right_index=True, how="left")
        left = left["_left"].reset_index(drop=True)
    table["exit"] = pd.Series(status).where(gone, "")
    table["exit_month"] = left.where(gone).astype("Int64")
    table["exit_date"] = _dates(table["exit_month"], dates)
    table["acquirer"] = last["acquirer"].fillna("").to_numpy() if "acquirer" in last else ""
    table["status_end"] = status
    table["share_end"] = last["share"].to_numpy() if "share" in last else math.nan
    table["capital_end_bn"] = last["capital_bn"].to_numpy() if "capital_bn" in last else math.nan
    table["end_month"] = table[["crossed_month", "exit_month"]].min(axis=1).astype("Int64")
    return table[[*ids, *COLUMNS]].reset_index(drop=True)


def _dates(months: pd.Series, dates: pd.Series) -> list[str]:
    """``YYYY-MM`` of each month ("" where missing)."""
    lookup = {int(month): str(date) for month, date in dates.items()}
    return [lookup.get(int(month), "") for month in months.fillna(-1)]
