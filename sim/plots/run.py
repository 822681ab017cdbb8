"""Plots of one run, drawn from its tables (see sim/tables.py); none runs the model.

market_share        consumer share by firm, stacked, grouped by tier
kill_line_distance  distance to the kill line per firm, one panel per tier, exits marked
capital_and_runway  capital and runway per firm, with the kill-line runway threshold
migration_heatmap   users who switched assistant, from -> to, over the whole run
concentration       HHI, top-3 share, tier shares and firms in the market
startups            young AI firms alive and closed, against the Tianyancha counts
run_plot            one of the above by name, from the run's tables
save_run_plots      all of the above as PNGs in a folder
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator, PercentFormatter

from sim.fates import fates
from sim.plots.market import concentration, migration_heatmap, startups
from sim.plots.style import (
    CROSSED_MARKER,
    EXIT_MARKERS,
    KILL_ZONE_COLOUR,
    TIER_LABELS,
    by_month,
    date_axis,
    firm_colours,
    firm_order,
    month_dates,
    names,
    new_figure,
    save_figures,
    tier_legend,
    tier_of,
    tiers,
)

RUN_PLOTS = (
    "market_share",
    "kill_line",
    "capital_runway",
    "migration",
    "concentration",
    "startups",
)

if TYPE_CHECKING:
    from sim.plots.painter import Painter


def _until_exit(firms: pd.DataFrame, columns: list[str], exit_month: pd.Series) -> pd.DataFrame:
    """The firm table with ``columns`` blanked (NaN) after each firm's exit month.

    After an exit the table keeps the firm's last figures; drawn on, they would suggest a
    firm still in business.
    """
    after = firms["month"] > firms["firm"].map(exit_month).astype(float)
    shown = firms.copy()
    shown[columns] = shown[columns].astype(float)
    shown.loc[after.to_numpy(dtype=bool), columns] = np.nan
    return shown


def _exit_month(firms: pd.DataFrame) -> pd.Series:
    """Firm id -> the month it left the market (missing if it did not)."""
    return fates(firms).set_index("firm")["exit_month"]


def market_share(firms: pd.DataFrame) -> Figure:
    """Consumer share by firm over time, stacked, giants at the bottom.

    Args:
        firms: the run's firm table (``month``, ``date``, ``firm``, ``name``, ``tier``,
            ``share`` as a fraction 0-1 of consumer users).

    Returns:
        The figure.
    """
    order = firm_order(firms)
    colours = firm_colours(firms)
    shares = by_month(firms, "share", order).fillna(0.0)
    dates = month_dates(firms).reindex(shares.index).to_numpy()

    figure = new_figure(11, 6)
    ax = figure.subplots()
    areas = ax.stackplot(
        dates,
        shares.to_numpy().T,
        colors=[colours[firm] for firm in order],
        edgecolor="white",
        linewidth=0.3,
    )
    # Tier boundaries, so each tier's total share reads off the stack.
    tier_by_firm = tier_of(firms)
    running = np.zeros(len(shares))
    for tier in tiers(firms)[:-1]:
        running = (
            running + shares[[f for f in order if tier_by_firm[f] == tier]].sum(axis=1).to_numpy()
        )
        ax.plot(dates, running, color="black", linewidth=1.0)
    ax.set_ylim(0, 1)
    if len(dates) > 1:  # a run at month 0 (the dashboard) has one date
        ax.set_xlim(dates[0], dates[-1])
    ax.yaxis.set_major_formatter(PercentFormatter(xmax=1))
    ax.set_ylabel("share of consumer users (%)")
    ax.set_title("Consumer share by firm (black lines separate tiers)")
    date_axis(ax)
    tier_legend(figure, firms, order, dict(zip(order, areas, strict=True)))
    return figure


# the distance panel stops three doublings below the line (an eighth of the threshold);
# a collapsing firm's distance falls far lower and would flatten every other line
DISTANCE_FLOOR = -3.0


def kill_line_distance(firms: pd.DataFrame, events: pd.DataFrame | None = None) -> Figure:
    """Distance to the kill line per firm, one panel per tier, with crossings and exits.

    Each firm is a line of ``distance_to_kill_line`` (log2 units: 0 is the line, 1 is
    twice the threshold, below 0 is past it) that stops at the month the firm leaves the
    market. A dot marks the month it crossed the kill line; a triangle an acquisition, a
    square a pivot, an x a closure. The view stops at ``DISTANCE_FLOOR`` (values below are
    drawn on the edge, and the panel says so).

    Args:
        firms: the run's firm table.
        events: the run's event table (for ``crossed_kill_line`` and exit events); the
            firm statuses are used when it is missing or empty.

    Returns:
        The figure; the firm lines carry the firm id as their ``gid``.
    """
    order = firm_order(firms)
    colours, display, tier_by_firm = firm_colours(firms), names(firms), tier_of(firms)
    column = "distance_to_kill_line"
    fate = fates(firms, events).set_index("firm")
    distance = by_month(_until_exit(firms, [column], fate["exit_month"]), column, order)
    crossings = fate["crossed_month"].dropna().astype(int).to_dict()
    gone = fate[fate["exit"] != ""]
    exits = dict(
        zip(
            gone.index,
            zip(gone["exit_month"].astype(int), gone["exit"], strict=True),
            strict=True,
        )
    )
    panels = tiers(firms)

    figure = new_figure(11, 1.0 + 2.4 * len(panels))
    axes = figure.subplots(len(panels), 1, sharex=True, sharey=True, squeeze=False)[:, 0]
    for ax, tier in zip(axes, panels, strict=True):
        lines = []
        clipped = False
        for firm in (f for f in order if tier_by_firm[f] == tier):
            line = distance[firm].clip(lower=DISTANCE_FLOOR)
            clipped |= bool((distance[firm] < DISTANCE_FLOOR).any())
            (drawn,) = ax.plot(
                line.index,
                line.to_numpy(),
                color=colours[firm],
                linewidth=1.6,
                label=display[firm],
                gid=firm,
            )
            lines.append(drawn)
            marks = [(crossings[firm], CROSSED_MARKER)] if firm in crossings else []
            if firm in exits:
                marks.append((exits[firm][0], EXIT_MARKERS[exits[firm][1]]))
            for month, marker in marks:
                known = line.loc[:month].dropna()
                if known.empty:
                    continue
                ax.scatter(
                    month,
                    known.iloc[-1],
                    marker=marker,
                    s=55,
                    zorder=4,
                    color=colours[firm],
                    edgecolors="black" if marker != "x" else None,
                    linewidths=1.0 if marker != "x" else 2.0,
                )
        ax.axhline(0, color="black", linewidth=2.5, label="kill line", zorder=3)
        ax.annotate(
            "kill line",
            xy=(0.005, 0),
            xycoords=("axes fraction", "data"),
            xytext=(0, -4),
            textcoords="offset points",
            ha="left",
            va="top",
            fontweight="bold",
        )
        if clipped:  # a collapse runs far below the line: the view keeps the line readable
            ax.text(
                0.995,
                0.02,
                f"\u25bc view clipped at {DISTANCE_FLOOR:g}: lower values drawn on the edge",
                transform=ax.transAxes,
                ha="right",
                va="bottom",
                fontsize=8,
            )
        ax.set_title(TIER_LABELS.get(tier, tier), loc="left", fontsize=10, fontweight="bold")
        ax.set_ylabel("distance (doublings)")
        ax.legend(
            handles=lines,
            loc="upper left",
            bbox_to_anchor=(1.01, 1.0),
            fontsize=8,
            frameon=False,
        )
        ax.grid(axis="y", alpha=0.3)

    values = distance.clip(lower=DISTANCE_FLOOR).to_numpy(dtype=float)
    finite = values[np.isfinite(values)]
    low = min(float(finite.min()) if finite.size else 0.0, 0.0)
    high = max(float(finite.max()) if finite.size else 1.0, 0.0)
    pad = 0.08 * (high - low) + 0.25
    for ax in axes:
        ax.axhspan(low - pad, 0, color=KILL_ZONE_COLOUR, alpha=0.08, zorder=0)
    axes[0].set_ylim(low - pad, high + pad)
    if len(distance) > 1:
        axes[0].set_xlim(distance.index.min(), distance.index.max())
    start = firms.loc[firms["month"] == firms["month"].min(), "date"].iloc[0]
    axes[-1].set_xlabel(f"month of the run (0 = {start})")
    axes[-1].xaxis.set_major_locator(MaxNLocator(integer=True))

    # The key lists only the marks drawn (an exit kind no firm took is left out).
    kinds = {kind for _, kind in exits.values()}
    outlined = ({"crossed the kill line": CROSSED_MARKER} if crossings else {}) | {
        kind: EXIT_MARKERS[kind] for kind in ("acquired", "pivoted") if kind in kinds
    }
    keys = [
        Line2D(
            [],
            [],
            marker=marker,
            linestyle="none",
            color="0.6",
            markeredgecolor="black",
            label=label,
        )
        for label, marker in outlined.items()
    ]
    if "closed" in kinds:
        keys.append(
            Line2D(
                [],
                [],
                marker=EXIT_MARKERS["closed"],
                linestyle="none",
                color="0.3",
                markeredgewidth=2.0,
                label="closed",
            )
        )
    keys.append(Patch(color=KILL_ZONE_COLOUR, alpha=0.15, label="past the kill line"))
    figure.legend(handles=keys, loc="outside lower center", ncols=len(keys), frameon=False)
    figure.suptitle("Distance to the kill line (log2 units of runway or share over its threshold)")
    return figure


def capital_and_runway(firms: pd.DataFrame, runway_threshold: float | None = None) -> Figure:
    """Capital and runway per firm over time, each line ending at the firm's exit.

    Capital is on a log scale (symlog when some firm's capital is zero or negative).
    Runway is on a log scale from a little below the shortest runway to the longest one
    in the run: a runway of zero is drawn at the bottom, an infinite one at the top.

    Args:
        firms: the run's firm table (``capital_bn`` in billions of RMB, ``runway_months``).
        runway_threshold: the kill line's runway threshold in months, drawn dashed on the
            runway panel when given.

    Returns:
        The figure.
    """
    order = firm_order(firms)
    colours = firm_colours(firms)
    shown = _until_exit(firms, ["capital_bn", "runway_months"], _exit_month(firms))
    capital = by_month(shown, "capital_bn", order)
    runway = by_month(shown, "runway_months", order)
    dates = month_dates(firms).reindex(capital.index).to_numpy()

    figure = new_figure(11, 8)
    top, bottom = figure.subplots(2, 1, sharex=True)
    handles = {}
    for firm in order:
        (handles[firm],) = top.plot(dates, capital[firm].to_numpy(), color=colours[firm], lw=1.5)
    values = capital.to_numpy(dtype=float)
    values = values[np.isfinite(values)]
    if values.size and (values > 0).all():
        top.set_yscale("log")
        top.set_ylabel("capital (billions of RMB, log scale)")
    elif values.size:
        positive = values[values > 0]
        smallest = float(positive.min()) if positive.size else 1.0
        top.set_yscale("symlog", linthresh=10 ** np.floor(np.log10(smallest)))
        top.axhline(0, color="0.3", linewidth=0.8)
        top.set_ylabel("capital (billions of RMB, symlog scale)")
    top.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    top.set_title("Capital (cash in hand)")
    top.grid(alpha=0.3)

    months = runway.to_numpy(dtype=float)
    finite = months[np.isfinite(months)]
    # A runway of zero has no place on a log axis: it is drawn at the floor, a little
    # below the shortest runway (or the threshold) in the run.
    shortest = float(finite[finite > 0].min()) if (finite > 0).any() else 1.0
    floor = min(shortest, runway_threshold or shortest) / 1.5
    # The top is the longest runway in the run (the model caps runway); an infinite
    # runway is drawn there.
    cap = max(float(finite.max()), 2 * floor) if finite.size else 1.0
    for firm in order:
        line = runway[firm].clip(lower=floor, upper=cap).to_numpy()
        bottom.plot(dates, line, color=colours[firm], lw=1.5)
    extra = []
    if runway_threshold is not None:
        bottom.axhspan(floor, runway_threshold, color=KILL_ZONE_COLOUR, alpha=0.08, zorder=0)
        extra.append(
            bottom.axhline(
                runway_threshold,
                color="black",
                linestyle="--",
                linewidth=1.5,
                label=f"kill-line runway ({runway_threshold:g} months)",
            )
        )
    if finite.size:
        bottom.set_yscale("log", base=2)
        bottom.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        bottom.set_ylim(floor, max(cap, runway_threshold or cap) * 1.25)
    bottom.set_ylabel("runway (months, log scale)")
    bottom.set_title("Runway: months of burn the firm can still pay for")
    bottom.grid(alpha=0.3)
    if len(dates) > 1:
        bottom.set_xlim(dates[0], dates[-1])
    date_axis(bottom)
    tier_legend(figure, firms, order, handles, extra=extra)
    return figure


def run_plot(
    tables: Mapping[str, pd.DataFrame],
    name: str,
    *,
    runway_threshold: float | None = None,
    startup_targets: Mapping[str, Any] | None = None,
) -> Figure:
    """One run plot by name (see ``RUN_PLOTS``), drawn from the run's tables."""
    makers = plot_makers(tables, runway_threshold, startup_targets, every=True)
    if name not in makers:
        raise KeyError(f"unknown plot {name!r}; choose from {', '.join(RUN_PLOTS)}")
    return makers[name]()


def save_run_plots(
    tables: Mapping[str, pd.DataFrame],
    folder: Path,
    *,
    runway_threshold: float | None = None,
    startup_targets: Mapping[str, Any] | None = None,
    painter: Painter | None = None,
    tables_folder: Path | None = None,
) -> list[Path]:
    """Draw every run plot and write it as a PNG into ``folder``.

    Files: market_share.png, kill_line.png, capital_runway.png, migration.png,
    concentration.png and startups.png. A missing or empty startup table writes no
    startups.png; a missing market table no concentration.png; a missing migration table
    draws an empty heatmap.

    Args:
        tables: the run's tables by name (``firms`` is required; ``market``, ``migration``,
            ``startups`` and ``events`` are used when present).
        folder: where to write; created if missing.
        runway_threshold: the kill line's runway threshold in months, for capital_runway.
        startup_targets: observed startup counts for the startups plot (see ``startups``).
        painter: a second process (sim/plots/painter.py) that draws every other plot, read
            from the Parquet tables in ``tables_folder``.
        tables_folder: where ``tables`` are written, for the painter.

    Returns:
        The paths written, in the order above.
    """
    makers = plot_makers(tables, runway_threshold, startup_targets)
    if painter is None or tables_folder is None:
        return save_figures(makers, folder)
    names = list(makers)
    away = names[1::2]
    drawn = painter.paint(tables_folder, folder, away, runway_threshold, startup_targets)
    try:
        here = save_figures({name: makers[name] for name in names if name not in away}, folder)
        there = drawn.result()
    except BaseException:
        # the painter finishes before the caller removes the folder it is drawing into
        with contextlib.suppress(Exception):
            drawn.result()
        raise
    paths = {path.stem: path for path in [*here, *there]}
    return [paths[name] for name in names]


def plot_makers(
    tables: Mapping[str, pd.DataFrame],
    runway_threshold: float | None,
    startup_targets: Mapping[str, Any] | None,
    *,
    every: bool = False,
) -> dict[str, Callable[[], Figure]]:
    """Plot name -> a function drawing it; without ``every``, only the plots whose tables
    have rows."""
    firms = tables["firms"]
    events = tables.get("events")
    migration = tables.get("migration")
    if migration is None:
        migration = pd.DataFrame(columns=["month", "date", "from", "to", "users_m"])
    makers = {
        "market_share": lambda: market_share(firms),
        "kill_line": lambda: kill_line_distance(firms, events),
        "capital_runway": lambda: capital_and_runway(firms, runway_threshold=runway_threshold),
        "migration": lambda: migration_heatmap(migration, firms),
    }
    market = tables.get("market")
    if market is not None and (every or not market.empty):
        makers["concentration"] = lambda: concentration(market)
    young = tables.get("startups")
    if young is not None and (every or not young.empty):
        makers["startups"] = lambda: startups(young, startup_targets)
    return makers


def startup_targets() -> dict[str, float | str]:
    """The article's count of young AI firms (F1, F2) from seeds/calibration.toml, as the
    ``targets`` of :func:`startups`."""
    from sim.calibration import targets

    found = targets()
    return {
        "date": found["startups_alive_2026_01"]["date"],
        "alive_aged_1_3": found["startups_alive_2026_01"]["value"],
        "closed_aged_1_3": found["startups_closed_2026_01"]["value"],
    }
