"""Side-by-side plots of a comparison (sim/compare.py), drawn from each side's tables.

    compare_metric       a firm metric over the months, one panel per firm, one line per
                         side (an ensemble's median with its 50% band)
    compare_survival     per tier, the share of firms clear of the kill line by month, one
                         line per side (an ensemble's mean with its 95% band)
    save_compare_plots   shares, kill-line distances and survival as PNGs

Sides are told apart by colour and dash, and firms keep the shared order
(sim/plots/style.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator, PercentFormatter

from sim.fates import fates
from sim.plots.style import TIER_LABELS, firm_order, grid, names, new_figure, save_figures

if TYPE_CHECKING:
    from sim.compare import Side

# one colour and dash per side, in order (colour-blind safe: Okabe-Ito)
SIDE_COLOURS = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9")
SIDE_DASHES = ("-", (0, (5, 2)), (0, (2, 1.5)), (0, (6, 2, 1, 2)))
METRIC_LABELS = {
    "share": "Consumer share",
    "distance_to_kill_line": "Distance to the kill line (doublings; below 0 is past it)",
    "capital_bn": "Capital (bn RMB)",
}
COMPARE_PLOTS = {
    "compare_share": "share",
    "compare_kill_line": "distance_to_kill_line",
    "compare_survival": None,
}


def _style(index: int) -> dict:
    return {
        "color": SIDE_COLOURS[index % len(SIDE_COLOURS)],
        "ls": SIDE_DASHES[index % len(SIDE_DASHES)],
    }


def _key(figure: Figure, compared: Sequence[Side]) -> None:
    handles = [Line2D([], [], lw=2, label=one.label, **_style(i)) for i, one in enumerate(compared)]
    figure.legend(
        handles=handles,
        loc="outside lower center",
        ncols=min(3, len(handles)),
        fontsize=8,
        frameon=False,
    )


def compare_metric(compared: Sequence[Side], metric: str = "share") -> Figure:
    """A firm metric over the months, one panel per firm (every firm of any side), one line
    per side: a run's value, an ensemble's median with its p25-p75 band. A line stops when
    its firm has left the market.

    Args:
        compared: the sides (sim.compare.sides).
        metric: a numeric column of the firm table.
    """
    roster = pd.concat(
        [one.tables["firms"][one.tables["firms"]["replicate"] == 0] for one in compared]
    )
    order = firm_order(roster)
    display = names(roster)
    n_rows, n_cols = grid(len(order))
    figure = new_figure(3.0 * n_cols, 2.1 * n_rows + 1.0)
    axes = figure.subplots(n_rows, n_cols, sharex=True, squeeze=False).ravel()
    for index, one in enumerate(compared):
        firms = one.tables["firms"]
        gone = fates(firms, one.tables.get("events"))
        exit_month = gone[gone["exit"] != ""].set_index(["replicate", "firm"])["exit_month"]
        keyed = pd.MultiIndex.from_frame(firms[["replicate", "firm"]])
        after = firms["month"].to_numpy() > exit_month.reindex(keyed).to_numpy(dtype=float)
        values = firms[metric].astype(float).mask(after)
        spread = (
            firms.assign(value=values)
            .groupby(["firm", "month"])["value"]
            .quantile([0.25, 0.5, 0.75])
            .unstack()
        )
        for ax, firm in zip(axes, order, strict=False):
            if firm not in spread.index.get_level_values(0):
                continue
            rows = spread.loc[firm]
            style = _style(index)
            if one.kind == "ensemble":
                ax.fill_between(
                    rows.index, rows[0.25], rows[0.75], color=style["color"], alpha=0.18, lw=0
                )
            ax.plot(rows.index, rows[0.5], lw=1.5, **style)
    for ax, firm in zip(axes, order, strict=False):
        ax.set_title(display.get(firm, firm), fontsize=8.5, loc="left")
        ax.tick_params(labelsize=7)
        ax.xaxis.set_major_locator(MaxNLocator(5, integer=True))
        ax.grid(alpha=0.3)
        if metric == "share":
            ax.set_ylim(bottom=0.0)
            ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=None))
        if metric == "distance_to_kill_line":
            ax.axhline(0.0, color="#d62728", lw=0.9, ls="--")
    for ax in axes[len(order) :]:
        ax.set_visible(False)
    bands = any(one.kind == "ensemble" for one in compared)
    figure.suptitle(
        f"{METRIC_LABELS.get(metric, metric)}"
        + (": median and 50% band over replicates" if bands else ""),
        fontsize=11,
        x=0.01,
        ha="left",
    )
    for ax in axes[max(0, len(order) - n_cols) : len(order)]:
        ax.set_xlabel("month", fontsize=8)
    _key(figure, compared)
    return figure


def compare_survival(compared: Sequence[Side]) -> Figure:
    """Per tier, the share of its firms that have neither crossed the kill line nor left
    the market by each month: one line per side (an ensemble's mean over replicates, with
    its 95% bootstrap band)."""
    from sim.experiments.stats import survival_curves

    curves = [
        survival_curves(fates(one.tables["firms"], one.tables.get("events")), one.tables["firms"])
        for one in compared
    ]
    tiers = list(dict.fromkeys(tier for curve in curves for tier in curve["tier"]))
    figure = new_figure(3.4 * max(len(tiers), 1), 3.6)
    axes = figure.subplots(1, max(len(tiers), 1), sharey=True, squeeze=False)[0]
    widths = (3.5, 2.2, 1.5, 1.0)
    for index, (one, curve) in enumerate(zip(compared, curves, strict=True)):
        for ax, tier in zip(axes, tiers, strict=True):
            rows = curve[curve["tier"] == tier]
            if rows.empty:
                continue
            style = _style(index)
            if one.kind == "ensemble":
                ax.fill_between(
                    rows["month"], rows["low"], rows["high"], color=style["color"], alpha=0.15
                )
            # later sides narrower, so lines that coincide stay visible
            ax.step(
                rows["month"],
                rows["survival"],
                where="post",
                lw=widths[index % len(widths)],
                zorder=2 + index,
                **style,
            )
    for ax, tier in zip(axes, tiers, strict=True):
        ax.set_title(TIER_LABELS.get(tier, tier), fontsize=9, loc="left")
        ax.set_ylim(0.0, 1.02)
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax.grid(alpha=0.3)
        ax.set_xlabel("month", fontsize=8)
    axes[0].set_ylabel("firms clear of the kill line")
    figure.suptitle(
        "Survival by tier: not past the kill line and still in the market",
        fontsize=10,
        x=0.01,
        ha="left",
    )
    _key(figure, compared)
    return figure


def compare_plot(compared: Sequence[Side], name: str) -> Figure:
    """One comparison plot by name: compare_share, compare_kill_line, compare_survival."""
    if name not in COMPARE_PLOTS:
        raise KeyError(f"unknown plot {name!r}; choose from {', '.join(COMPARE_PLOTS)}")
    metric = COMPARE_PLOTS[name]
    return compare_survival(compared) if metric is None else compare_metric(compared, metric)


def save_compare_plots(compared: Sequence[Side], folder: Path) -> list[Path]:
    """Every comparison plot as a PNG in ``folder``; returns the paths."""
    return save_figures(
        {name: lambda name=name: compare_plot(compared, name) for name in COMPARE_PLOTS},
        folder,
    )
