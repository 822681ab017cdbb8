"""Plots of one run's market as a whole, drawn from its tables (see sim/plots/run.py).

migration_heatmap   users who switched assistant, from -> to, over the whole run
monthly_users       monthly active users per firm
concentration       HHI, top-3 share, tier shares and firms in the market
startups            young AI firms alive and closed, against the Tianyancha counts
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, PercentFormatter

from sim.fates import tier_rank
from sim.plots.style import (
    TIER_LABELS,
    by_month,
    date_axis,
    firm_colours,
    firm_order,
    month_starts,
    names,
    new_figure,
    note,
    tier_colour,
    tier_of,
)

NO_FIRM = "none"


def migration_heatmap(
    migration: pd.DataFrame, firms: pd.DataFrame, *, annotate: int = 12
) -> Figure:
    """Users who switched assistant over the whole run, from (rows) -> to (columns).

    Firms are ordered by tier, then as in the firm table; ``none`` (no assistant: new
    adopters in the row, users who quit in the column) comes last. The colour scale is
    logarithmic; the largest flows are written in their cells.

    Args:
        migration: the run's migration table (``from``, ``to``, ``users_m`` in millions).
        firms: the run's firm table, for order, names and tiers.
        annotate: how many of the largest cells to write the number in.

    Returns:
        The figure.
    """
    display, order = names(firms), firm_order(firms)
    moved = migration.groupby(["from", "to"])["users_m"].sum() if not migration.empty else None
    seen = (
        set()
        if moved is None
        else set(moved.index.get_level_values(0)) | set(moved.index.get_level_values(1))
    )
    others = sorted(seen - set(order) - {NO_FIRM})
    axis = [*order, *others, NO_FIRM]
    grid = np.zeros((len(axis), len(axis)))
    if moved is not None:
        table = moved.unstack(fill_value=0.0).reindex(index=axis, columns=axis, fill_value=0.0)
        grid = table.fillna(0.0).to_numpy(dtype=float)
    labels = [
        display.get(firm, firm) if firm != NO_FIRM else "none (no assistant)" for firm in axis
    ]

    size = max(6.0, 0.45 * len(axis) + 3.0)
    figure = new_figure(size + 1.5, size)
    ax = figure.subplots()
    ax.set_title("Users who switched assistant over the whole run (millions)")
    ticks = np.arange(len(axis))
    ax.set_xticks(ticks, labels, rotation=50, ha="right", rotation_mode="anchor", fontsize=8)
    ax.set_yticks(ticks, labels, fontsize=8)
    ax.set_xlabel("to")
    ax.set_ylabel("from")
    positive = grid[grid > 0]
    if positive.size == 0:
        ax.set_xlim(-0.5, len(axis) - 0.5)
        ax.set_ylim(len(axis) - 0.5, -0.5)
        ax.set_aspect("equal")
        note(ax, "no users moved")
        return figure

    top = float(positive.max())
    # Flows below a thousandth of the largest share the lightest colour.
    norm = LogNorm(vmin=max(float(positive.min()), top * 1e-3), vmax=top, clip=True)
    cmap = colormaps["viridis"].with_extremes(bad="white")
    image = ax.imshow(np.ma.masked_less_equal(grid, 0.0), cmap=cmap, norm=norm, aspect="equal")
    bar = figure.colorbar(image, ax=ax, label="users moved (millions, log scale)", shrink=0.8)
    bar.ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))

    tier_by_firm = tier_of(firms)
    kinds = [tier_by_firm.get(firm, "") for firm in axis]
    for i in range(1, len(axis)):
        if kinds[i] != kinds[i - 1]:
            ax.axhline(i - 0.5, color="0.5", linewidth=0.8)
            ax.axvline(i - 0.5, color="0.5", linewidth=0.8)
    largest = np.argsort(grid, axis=None)[::-1][:annotate]
    for flat in largest:
        row, col = np.unravel_index(flat, grid.shape)
        value = grid[row, col]
        if value <= 0:
            break
        dark = norm(value) < 0.6
        ax.text(
            col,
            row,
            f"{value:.0f}" if value >= 10 else f"{value:.1f}",
            ha="center",
            va="center",
            fontsize=7,
            color="white" if dark else "black",
        )
    return figure


def concentration(market: pd.DataFrame) -> Figure:
    """Market concentration over time: HHI and top-3 share, tier shares, firms in market.

    Args:
        market: the run's market table (``hhi`` 0-1, ``top3_share`` and ``share_<tier>``
            as fractions of consumer users, ``firms_in_market``).

    Returns:
        The figure.
    """
    dates = month_starts(market["date"])
    tier_columns = sorted(
        (c for c in market.columns if c.startswith("share_")),
        key=lambda c: tier_rank(c.removeprefix("share_")),
    )
    has_count = "firms_in_market" in market
    panels = 2 + has_count
    figure = new_figure(10, 7.5 if has_count else 6.5)
    axes = figure.subplots(panels, 1, sharex=True, height_ratios=[2, 2, 1][:panels])

    hhi_ax = axes[0]
    (hhi_line,) = hhi_ax.plot(dates, market["hhi"], color="black", lw=1.8, label="HHI (left)")
    hhi_ax.set_ylabel("HHI (0-1)")
    share_ax = hhi_ax.twinx()
    (top_line,) = share_ax.plot(
        dates,
        market["top3_share"],
        color="#d62728",
        lw=1.8,
        linestyle="--",
        label="top-3 share (right)",
    )
    share_ax.yaxis.set_major_formatter(PercentFormatter(xmax=1))
    share_ax.set_ylabel("top-3 share of consumer users (%)")
    hhi_ax.legend(handles=[hhi_line, top_line], loc="upper left", fontsize=8)
    hhi_ax.set_title("Concentration of consumer users")
    hhi_ax.grid(alpha=0.3)

    tier_ax = axes[1]
    for column in tier_columns:
        tier = column.removeprefix("share_")
        tier_ax.plot(
            dates,
            market[column],
            color=tier_colour(tier),
            lw=1.8,
            label=TIER_LABELS.get(tier, tier),
        )
    tier_ax.yaxis.set_major_formatter(PercentFormatter(xmax=1))
    tier_ax.set_ylabel("share of consumer users (%)")
    tier_ax.set_title("Consumer share by tier")
    if tier_columns:
        tier_ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    tier_ax.grid(alpha=0.3)

    if has_count:
        count_ax = axes[2]
        count_ax.step(dates, market["firms_in_market"], where="post", color="0.2", lw=1.5)
        count_ax.set_ylabel("firms")
        count_ax.set_title("Firms in the market")
        count_ax.grid(alpha=0.3)
    axes[-1].set_xlim(dates[0], dates[-1])
    date_axis(axes[-1])
    return figure


def startups(startups: pd.DataFrame, targets: Mapping[str, Any] | None = None) -> Figure:
    """Young AI firms (aged 1-3 years) alive and closed over time, with target counts.

    Args:
        startups: the run's startup table (real counts: ``alive_aged_1_3``,
            ``closed_aged_1_3``, ``alive``, ``closed``).
        targets: observed counts to check against, drawn as markers: keys
            ``alive_aged_1_3`` and/or ``closed_aged_1_3`` (firms) and ``date`` (ISO date;
            the table's first month when missing), e.g. the Tianyancha counts of January
            2026 (F1: 869,000 alive; F2: 168,000 closed).

    Returns:
        The figure (with a note instead of lines when the table is empty).
    """
    figure = new_figure(10, 5.5)
    ax = figure.subplots()
    ax.set_title("AI firms alive and closed (solid: aged 1-3 years; dotted: all ages)")
    ax.set_ylabel("firms (thousands)")
    if startups.empty:
        note(ax, "no startups recorded")
        return figure

    dates = month_starts(startups["date"])
    series = {
        "alive_aged_1_3": ("alive, aged 1-3", "#2ca02c", "-"),
        "closed_aged_1_3": ("closed, aged 1-3", "#d62728", "-"),
        "alive": ("alive, all ages", "#2ca02c", ":"),
        "closed": ("closed, all ages", "#d62728", ":"),
    }
    for column, (label, colour, style) in series.items():
        if column in startups:
            width = 2.0 if style == "-" else 1.2
            ax.plot(
                dates,
                startups[column] / 1e3,
                color=colour,
                linestyle=style,
                lw=width,
                label=label,
            )
    span = [dates[0], dates[-1]]
    if targets:
        when = targets.get("date", startups["date"].iloc[0])
        at = month_starts([when])[0]
        span = [min(span[0], at), max(span[1], at)]
        for column, (label, colour, _) in series.items():
            if column in targets and column.endswith("_1_3"):
                value = float(targets[column])
                ax.scatter(
                    [at],
                    [value / 1e3],
                    marker="D",
                    s=60,
                    color="white",
                    edgecolors=colour,
                    linewidths=2.0,
                    zorder=4,
                    label=f"target: {label} ({value:,.0f})",
                )
    ax.set_ylim(bottom=0)
    # Half a month either side, so that a target at the first month is not cut in half.
    half_month = np.timedelta64(15, "D")
    ax.set_xlim(span[0] - half_month, span[1] + half_month)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    date_axis(ax)
    return figure


def monthly_users(firms: pd.DataFrame) -> Figure:
    """Monthly active users per firm (millions of people), one line per firm in the shared
    order and colours, the largest five labelled at their last month.

    Args:
        firms: the run's firm table (``month``, ``firm``, ``mau_m``).
    """
    order, colours, display = firm_order(firms), firm_colours(firms), names(firms)
    mau = by_month(firms, "mau_m", order)
    figure = new_figure(8, 4.5)
    ax = figure.subplots()
    for firm in order:
        ax.plot(mau.index, mau[firm].to_numpy(), color=colours[firm], lw=1.5)
    last = mau.iloc[-1].sort_values(ascending=False).head(5)
    for firm, value in last.items():
        ax.annotate(
            display[firm],
            (mau.index[-1], value),
            xytext=(3, 0),
            textcoords="offset points",
            fontsize=7,
            va="center",
        )
    ax.set_ylim(bottom=0.0)
    ax.set_xlabel("month")
    ax.set_ylabel("monthly active users (M)")
    ax.set_title("Monthly active users by firm", loc="left", fontsize=10)
    ax.grid(alpha=0.3)
    return figure
