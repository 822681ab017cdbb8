"""The validation plot: simulated users against an observed panel (sim/validation.py).

Left, each firm the panel observes: its simulated MAU month by month on a log scale (the
median over replicates with the 90% band for an ensemble; the one path for a run) and the
observed points in the firm's colour: a dot for a month, a bar across the months of an
average, a triangle for a bound (pointing down for "at most", up for "at least"). Right,
the market: simulated adopters and users of AI-native apps against CNNIC's and
QuestMobile's counts. Ratio points (Q3 against Q2) are not drawn; they are in
``validation.csv``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
from matplotlib.lines import Line2D

from sim.plots.style import date_axis, firm_colours, firm_order, month_starts, new_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from sim.validation import Panel

MARKET_LINES = {"adopters_m": "adopters (CNNIC basis)", "active_users_m": "users of AI-native apps"}
MARKET_COLOURS = {"adopters_m": "#333333", "active_users_m": "#1f77b4"}
BOUND_MARKERS = {"at_most": "v", "at_least": "^"}


def _band(rows: pd.DataFrame, column: str) -> pd.DataFrame:
    """Per date, the median and the 90% band of `column` over replicates."""
    grouped = rows.groupby("date")[column]
    return pd.DataFrame(
        {"median": grouped.median(), "low": grouped.quantile(0.05), "high": grouped.quantile(0.95)}
    ).sort_index()


def _draw(ax, band: pd.DataFrame, colour, label: str, ensemble: bool) -> None:
    positive = band.where(band > 0)
    dates = month_starts(positive.index)
    ax.plot(dates, positive["median"], color=colour, lw=1.6, label=label)
    if ensemble:
        ax.fill_between(dates, positive["low"], positive["high"], color=colour, alpha=0.18, lw=0)


def _observed(ax, point, colour) -> None:
    start, end = month_starts([point.start, point.end])
    if point.basis in BOUND_MARKERS:
        middle = start + (end - start) / 2
        ax.plot([middle], [point.value], BOUND_MARKERS[point.basis], color=colour, ms=7, mec="k")
    elif point.basis == "average":
        ax.plot([start, end], [point.value] * 2, color=colour, lw=3.5, alpha=0.8)
        ax.plot([start + (end - start) / 2], [point.value], "s", color=colour, ms=5, mec="k")
    elif point.basis == "month":
        ax.plot([start], [point.value], "o", color=colour, ms=6, mec="k")


def validation_figure(tables: dict[str, pd.DataFrame], panel: Panel) -> Figure:
    """The validation plot of a run's or an ensemble's tables against `panel`."""
    firms, market = tables["firms"], tables["market"]
    ensemble = "replicate" in firms and firms["replicate"].nunique() > 1
    observed = [p.firm for p in panel.points if p.measure == "mau_m"]
    roster = firms.drop_duplicates("firm")
    order = [f for f in firm_order(roster) if f in set(observed)]
    colours = firm_colours(roster)
    names = roster.set_index("firm")["name"].to_dict()

    figure = new_figure(13.0, 5.8)
    left, right = figure.subplots(1, 2, width_ratios=[2.2, 1.0])
    for firm in order:
        _draw(
            left, _band(firms[firms["firm"] == firm], "mau_m"), colours[firm], names[firm], ensemble
        )
        for point in panel.points:
            if point.firm == firm and point.measure == "mau_m":
                _observed(left, point, colours[firm])
    left.set_yscale("log")
    left.set_ylabel("MAU (millions, log scale)")
    left.set_title("Assistant apps: simulated (lines) and observed (markers)")
    left.legend(fontsize=8, ncols=2, loc="lower right", frameon=False)
    date_axis(left)

    for measure, label in MARKET_LINES.items():
        colour = MARKET_COLOURS[measure]
        _draw(right, _band(market, measure), colour, label, ensemble)
        for point in panel.points:
            if point.firm == "market" and point.measure == measure:
                _observed(right, point, colour)
    right.set_yscale("log")
    right.set_ylabel("people (millions, log scale)")
    right.set_title("The market")
    date_axis(right)
    keys = [
        Line2D([], [], marker="o", ls="", color="0.5", mec="k", label="observed month"),
        Line2D([], [], marker="s", color="0.5", lw=3, mec="k", label="observed average"),
        Line2D([], [], marker="v", ls="", color="0.5", mec="k", label="observed at most"),
        Line2D([], [], marker="^", ls="", color="0.5", mec="k", label="observed at least"),
    ]
    handles, labels = right.get_legend_handles_labels()
    right.legend(
        [*handles, *keys], [*labels, *(k.get_label() for k in keys)], fontsize=8, frameon=False
    )
    span = "median and 90% band over replicates" if ensemble else "one run"
    figure.suptitle(f"Simulated against observed users ({span})", fontsize=11)
    return figure
