"""Plots of an ensemble, drawn from its tables (never from a result object or the model).

    fan_chart            a firm metric's median with 50% and 90% bands, one panel per firm
    survival_curves      per tier, the probability of being clear of the kill line by month
    exit_months          per firm, the distribution of the month it left the market
    exit_kinds           per firm, the probability of each way of leaving (or staying)
    ensemble_plot        one of the above by name, from the ensemble's tables
    save_ensemble_plots  all of the above as PNGs

The tables: ``firms`` (with ``replicate``), ``percentiles`` (per firm or market metric and
month), ``exits`` (the firm fates, sim.fates.fates: one row per (replicate, firm)),
``survival`` (per tier and month) and ``firm_summary`` (per firm: probabilities of crossing
and of each exit).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator, PercentFormatter

from sim.fates import order_by_tier
from sim.plots.style import (
    EXIT_COLOURS,
    TIER_LABELS,
    TIER_LINE_COLOURS,
    firm_colours,
    firm_order,
    grid,
    new_figure,
    save_figures,
)
from sim.schema import EXITED

FAN_METRICS = {
    "share": ("Consumer share", True),
    "capital_bn": ("Capital (bn RMB)", False),
    "distance_to_kill_line": ("Distance to the kill line (doublings)", False),
}
# Line widths and dashes of the survival curves, tier by tier (wide and solid first).
SURVIVAL_WIDTHS = (4.5, 3.0, 2.0, 1.2)
SURVIVAL_DASHES = ("-", (0, (5, 2)), (0, (3, 1.5)), (0, (1, 1)))
ENSEMBLE_PLOTS = (
    "fan_share",
    "fan_capital",
    "fan_distance",
    "survival",
    "exit_months",
    "exit_kinds",
)


def _roster(firms: pd.DataFrame) -> pd.DataFrame:
    """One replicate's month-0 rows: enough for the shared firm order and colours."""
    first = firms[firms["replicate"] == firms["replicate"].min()] if "replicate" in firms else firms
    return first[first["month"] == first["month"].min()]


def fan_chart(percentiles: pd.DataFrame, firms: pd.DataFrame, metric: str = "share") -> Figure:
    """A firm metric over the months: median with 50% (p25-p75) and 90% (p5-p95) bands,
    one small panel per firm, firms in the shared order (sim/plots/style.py).

    Args:
        percentiles: the ensemble's percentile table (``scope``, ``firm``, ``month``,
            ``metric``, ``p5``...``p95``).
        firms: the ensemble's firm table (for names, tiers, order and colours).
        metric: ``share``, ``capital_bn`` or ``distance_to_kill_line``.
    """
    roster = _roster(firms)
    order = firm_order(roster)
    colours = firm_colours(roster)
    names = roster.set_index("firm")["name"].to_dict()
    tiers = roster.set_index("firm")["tier"].to_dict()
    label, is_share = FAN_METRICS.get(metric, (metric, False))
    rows = percentiles[(percentiles["scope"] == "firm") & (percentiles["metric"] == metric)]
    n_rows, n_cols = grid(len(order))
    height = 2.1 * n_rows + 0.6
    # many small panels: a fixed layout draws several times faster than a constrained one
    figure = new_figure(3.0 * n_cols, height, layout=None)
    figure.subplots_adjust(
        left=0.06,
        right=0.98,
        bottom=0.45 / height,
        top=1 - 0.55 / height,
        wspace=0.28,
        hspace=0.42,
    )
    axes = figure.subplots(n_rows, n_cols, sharex=True, squeeze=False).ravel()
    for ax, firm in zip(axes, order, strict=False):
        data = rows[rows["firm"] == firm].sort_values("month")
        colour = colours[firm]
        ax.fill_between(data["month"], data["p5"], data["p95"], color=colour, alpha=0.18, lw=0)
        ax.fill_between(data["month"], data["p25"], data["p75"], color=colour, alpha=0.38, lw=0)
        ax.plot(data["month"], data["p50"], color=colour, lw=1.6)
        if metric == "distance_to_kill_line":
            ax.axhline(0.0, color="#d62728", lw=0.8, ls="--")
        ax.set_title(
            f"{names.get(firm, firm)} ({TIER_LABELS.get(tiers.get(firm), tiers.get(firm))})",
            fontsize=8.5,
            loc="left",
        )
        ax.tick_params(labelsize=7)
        if len(data):
            low, high = min(0.0, float(data["p5"].min())), float(data["p95"].max())
            ax.set_ylim(low, high + 0.08 * (high - low) if high > low else low + 1.0)
        if is_share:
            ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=None))
        ax.xaxis.set_major_locator(MaxNLocator(6, integer=True))
    for ax in axes[len(order) :]:
        ax.set_visible(False)
    figure.suptitle(
        f"{label}: median, 50% and 90% bands over replicates",
        fontsize=11,
        x=0.01,
        ha="left",
    )
    figure.supxlabel("month", fontsize=9, y=0.02)
    return figure


def survival_curves(survival: pd.DataFrame) -> Figure:
    """Per tier, the probability that a firm has neither crossed the kill line nor left the
    market by each month, with its 95% band (bootstrap over replicates).

    Args:
        survival: the ensemble's survival table (``tier``, ``month``, ``survival``, ``low``,
            ``high``, ``firms``, ``replicates``).
    """
    figure = new_figure(7.5, 4.5)
    ax = figure.subplots()
    groups = list(survival.groupby("tier", sort=False))
    for rank, (tier, rows) in enumerate(groups):
        colour = TIER_LINE_COLOURS.get(tier, "0.3")
        label = f"{TIER_LABELS.get(tier, tier)} ({int(rows['firms'].iloc[0])} firms)"
        ax.fill_between(rows["month"], rows["low"], rows["high"], color=colour, alpha=0.2, lw=0)
        # Tiers whose curves coincide (all at 100%, say) stay visible: the first tier is
        # drawn widest and each later one narrower, dashed differently, on top of it.
        ax.step(
            rows["month"],
            rows["survival"],
            where="post",
            color=colour,
            lw=SURVIVAL_WIDTHS[rank % len(SURVIVAL_WIDTHS)],
            ls=SURVIVAL_DASHES[rank % len(SURVIVAL_DASHES)],
            label=label,
            zorder=2 + rank,
        )
    replicates = int(survival["replicates"].iloc[0]) if len(survival) else 0
    ax.set_ylim(0.0, 1.02)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_xlabel("month")
    ax.set_ylabel("firms clear of the kill line")
    ax.set_title(
        f"Survival by tier: not past the kill line and still in the market "
        f"({replicates} replicates, 95% bands)",
        fontsize=10,
        loc="left",
    )
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower left", frameon=False)
    return figure


def exit_months(exits: pd.DataFrame, horizon: int) -> Figure:
    """For each firm that left the market in some replicate: the share of replicates in which
    it left at each month, coloured by how it left.

    Args:
        exits: the firm fates, one row per (replicate, firm) (sim.fates.fates; the
            ensemble's ``exits`` table).
        horizon: the last month.
    """
    leaving = exits[exits["exit"] != ""]
    ranked = leaving.groupby("firm", sort=False).agg(tier=("tier", "first"), n=("exit", "size"))
    order = order_by_tier(ranked, "n", ascending=False).index.tolist()
    replicates = exits["replicate"].nunique()
    if not order:
        figure = new_figure(7.0, 2.5)
        ax = figure.subplots()
        ax.text(
            0.5,
            0.5,
            "no firm left the market in any replicate",
            ha="center",
            va="center",
        )
        ax.set_axis_off()
        return figure
    names = exits.drop_duplicates("firm").set_index("firm")["name"].to_dict()
    figure = new_figure(8.0, 0.9 + 1.0 * len(order))
    axes = np.atleast_1d(figure.subplots(len(order), 1, sharex=True))
    months = np.arange(0, horizon + 1)
    for ax, firm in zip(axes, order, strict=True):
        rows = leaving[leaving["firm"] == firm]
        bottom = np.zeros(len(months))
        for kind in EXITED:
            counts = rows.loc[rows["exit"] == kind, "exit_month"].astype(int).value_counts()
            share = counts.reindex(months, fill_value=0).to_numpy() / replicates
            if share.any():
                ax.bar(
                    months,
                    share,
                    bottom=bottom,
                    color=EXIT_COLOURS[kind],
                    width=0.9,
                    label=kind,
                )
            bottom += share
        ax.set_ylabel(names.get(firm, firm), rotation=0, ha="right", va="center", fontsize=8)
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax.tick_params(labelsize=7)
        ax.set_yticks([0, float(bottom.max())] if bottom.max() > 0 else [0])
    axes[-1].set_xlabel("month of exit")
    drawn = set(leaving["exit"])
    handles = [Patch(color=EXIT_COLOURS[kind], label=kind) for kind in EXITED if kind in drawn]
    figure.legend(handles=handles, loc="outside upper right", ncols=3, fontsize=8, frameon=False)
    figure.suptitle(
        f"When firms left the market (share of {replicates} replicates per month)",
        fontsize=10,
        x=0.01,
        ha="left",
    )
    return figure


def exit_kinds(firm_summary: pd.DataFrame) -> Figure:
    """Per firm, the probability of being acquired, pivoting, closing or still being in the
    market at the horizon (stacked to 100%), with the probability of crossing the kill line.

    Args:
        firm_summary: the ensemble's per-firm summary (``p_crossed``, ``p_<exit>``,
            ``p_in_market``).
    """
    table = firm_summary.iloc[::-1]
    figure = new_figure(8.0, 1.2 + 0.32 * len(table))
    ax = figure.subplots()
    left = np.zeros(len(table))
    labels = [f"{row.name} ({row.tier})" for row in table.itertuples()]
    for kind, column in (
        ("acquired", "p_acquired"),
        ("pivoted", "p_pivoted"),
        ("closed", "p_closed"),
        ("in market", "p_in_market"),
    ):
        values = table[column].to_numpy(dtype=float)
        ax.barh(labels, values, left=left, color=EXIT_COLOURS[kind], label=kind, height=0.7)
        left += values
    ax.scatter(
        table["p_crossed"],
        labels,
        marker="|",
        s=160,
        color="black",
        zorder=3,
        label="crossed the kill line",
    )
    ax.set_xlim(0.0, 1.0)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.tick_params(labelsize=8)
    ax.set_title("How each firm ends: probability over replicates", fontsize=10, loc="left")
    figure.legend(fontsize=8, loc="outside lower center", ncols=5, frameon=False)
    return figure


def ensemble_plot(tables: Mapping[str, pd.DataFrame], name: str) -> Figure:
    """One ensemble plot by name (see ``ENSEMBLE_PLOTS``), drawn from the ensemble's tables.

    Args:
        tables: ``firms``, ``percentiles``, ``survival``, ``exits`` (the firm fates) and
            ``firm_summary``; each plot reads only the tables it needs.
        name: fan_share, fan_capital, fan_distance, survival, exit_months or exit_kinds.
    """
    makers = {
        "fan_share": lambda: fan_chart(tables["percentiles"], tables["firms"], "share"),
        "fan_capital": lambda: fan_chart(tables["percentiles"], tables["firms"], "capital_bn"),
        "fan_distance": lambda: fan_chart(
            tables["percentiles"], tables["firms"], "distance_to_kill_line"
        ),
        "survival": lambda: survival_curves(tables["survival"]),
        "exit_months": lambda: exit_months(tables["exits"], int(tables["firms"]["month"].max())),
        "exit_kinds": lambda: exit_kinds(tables["firm_summary"]),
    }
    if name not in makers:
        raise KeyError(f"unknown plot {name!r}; choose from {', '.join(makers)}")
    return makers[name]()


def save_ensemble_plots(tables: Mapping[str, pd.DataFrame], folder: Path) -> list[Path]:
    """Every ensemble plot as a PNG in ``folder``; returns the paths."""
    return save_figures(
        {name: lambda name=name: ensemble_plot(tables, name) for name in ENSEMBLE_PLOTS},
        folder,
    )
