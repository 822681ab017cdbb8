"""Plots of one run, drawn from its tables.

Every function takes the run's DataFrames (see sim/tables.py) and returns a
``matplotlib.figure.Figure``; none runs the model. Figures are built on their own Agg
canvas rather than through pyplot, so nothing global changes: notebooks keep their own
backend, and a figure that is no longer referenced is simply freed.

    market_share        consumer share by firm, stacked, grouped by tier
    kill_line_distance  distance to the kill line per firm, one panel per tier, exits marked
    capital_and_runway  capital and runway per firm, with the kill-line runway threshold
    migration_heatmap   users who switched assistant, from -> to, over the whole run
    concentration       HHI, top-3 share, tier shares and firms in the market
    startups            young AI firms alive and closed, against the Tianyancha counts
    save_run_plots      all of the above as PNGs in a folder

``new_figure`` and ``save_figures`` are shared with the plots of ensembles, sweeps and
sensitivity analyses (sim/ensemble_plots.py).

Each firm keeps one colour across all plots (``firm_colours``): giants reds and oranges,
mid-tier firms blues, independents greens, verticals purples and greys.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import LogNorm, to_rgba
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator, PercentFormatter

from sim.schema import TIERS

Colour = tuple[float, float, float, float]

TIER_LABELS = {
    "giant": "Giants",
    "midtier": "Mid-tier",
    "independent": "Independents",
    "vertical": "Verticals",
}
# Per tier, dark and light shades alternate so that neighbouring firms stay apart; a tier
# with more firms than shades takes the rest from its colour map.
TIER_PALETTES = {
    "giant": ("#a50f15", "#fd8d3c", "#e6ab02", "#fb6a4a", "#67000d", "#fdd0a2"),
    "midtier": ("#08519c", "#6baed6", "#0097a7", "#9ecae1", "#08306b", "#4292c6"),
    "independent": ("#00441b", "#74c476", "#7a9a01", "#41b6a0", "#238b45", "#c7e9c0"),
    "vertical": ("#54278f", "#9e9ac8", "#525252", "#a0a0a0", "#ae017e", "#cbc9e2"),
}
TIER_COLOURMAPS = {
    "giant": "OrRd",
    "midtier": "Blues",
    "independent": "Greens",
    "vertical": "Purples",
}
OTHER_COLOURMAP = "Greys"

EXIT_MARKERS = {"acquired": "^", "pivoted": "s", "closed": "x"}
CROSSED_MARKER = "o"
NO_FIRM = "none"

DPI = 110
KILL_ZONE_COLOUR = "#d62728"


# ---------------------------------------------------------------- firms, tiers, colours


def _tier_rank(tier: str) -> int:
    return TIERS.index(tier) if tier in TIERS else len(TIERS)


def _tiers(firms: pd.DataFrame) -> list[str]:
    """Tiers present, giants first; unknown tiers after the known ones, alphabetically."""
    present = firms["tier"].dropna().unique().tolist()
    return sorted(present, key=lambda tier: (_tier_rank(tier), tier))


def firm_order(firms: pd.DataFrame) -> list[str]:
    """Firm ids ordered by tier (giants first), then by consumer share at the start.

    The order does not depend on how the table's rows are sorted, so a firm keeps its
    place (and its colour) in every plot.

    Args:
        firms: the run's firm table.
    """
    start = firms[firms["month"] == firms["month"].min()].drop_duplicates("firm")
    first = pd.concat([start, firms.drop_duplicates("firm")]).drop_duplicates("firm")
    ranked = pd.DataFrame(
        {
            "firm": first["firm"].to_numpy(),
            "rank": first["tier"].map(_tier_rank).to_numpy(),
            "tier": first["tier"].to_numpy(),
            "share": -first["share"].fillna(0.0).to_numpy() if "share" in first else 0.0,
        }
    )
    return ranked.sort_values(["rank", "tier", "share", "firm"])["firm"].tolist()


def _names(firms: pd.DataFrame) -> dict[str, str]:
    if "name" not in firms:
        return {firm: firm for firm in firms["firm"].unique()}
    first = firms.drop_duplicates("firm").set_index("firm")["name"]
    return {
        firm: (name if isinstance(name, str) and name else firm) for firm, name in first.items()
    }


def _tier_of(firms: pd.DataFrame) -> dict[str, str]:
    return firms.drop_duplicates("firm").set_index("firm")["tier"].to_dict()


def _palette(tier: str, count: int) -> list[Colour]:
    """``count`` distinct colours of the tier's family."""
    shades = [to_rgba(shade) for shade in TIER_PALETTES.get(tier, ())]
    if count > len(shades):
        cmap = colormaps[TIER_COLOURMAPS.get(tier, OTHER_COLOURMAP)]
        shades += [tuple(cmap(level)) for level in np.linspace(0.9, 0.4, count - len(shades))]
    return shades[:count]


def firm_colours(firms: pd.DataFrame) -> dict[str, Colour]:
    """A colour for every firm, the same in every plot of the run.

    Giants take reds and oranges, mid-tier firms blues, independents greens, verticals
    purples and greys; within a tier, the largest firm at the start takes the first shade.

    Args:
        firms: the run's firm table (columns ``firm`` and ``tier``).

    Returns:
        Firm id -> RGBA colour.
    """
    tier_of = _tier_of(firms)
    colours: dict[str, Colour] = {}
    for tier in _tiers(firms):
        members = [firm for firm in firm_order(firms) if tier_of[firm] == tier]
        colours.update(zip(members, _palette(tier, len(members)), strict=True))
    return colours


def _tier_colour(tier: str) -> Colour:
    return _palette(tier, 1)[0]


# ---------------------------------------------------------------- exits and crossings


def _exits(firms: pd.DataFrame, events: pd.DataFrame | None = None) -> dict[str, tuple[int, str]]:
    """Firm id -> (month, kind) of its exit: acquired, pivoted or closed."""
    found: dict[str, tuple[int, str]] = {}
    gone = firms[firms["status"].isin(EXIT_MARKERS)]
    for firm, rows in gone.sort_values("month").groupby("firm", sort=False):
        found[firm] = (int(rows["month"].iloc[0]), str(rows["status"].iloc[0]))
    if events is not None and not events.empty:
        for row in events[events["kind"].isin(EXIT_MARKERS)].itertuples():
            if row.firm not in found or int(row.month) < found[row.firm][0]:
                found[row.firm] = (int(row.month), str(row.kind))
    return found


def _crossings(firms: pd.DataFrame, events: pd.DataFrame | None = None) -> dict[str, int]:
    """Firm id -> month it crossed the kill line (from events, else from its status)."""
    months: dict[str, int] = {}
    below = firms[firms["status"] == "below_kill_line"]
    months.update(below.groupby("firm")["month"].min().astype(int).to_dict())
    if events is not None and not events.empty:
        crossed = events[events["kind"] == "crossed_kill_line"]
        for firm, month in crossed.groupby("firm")["month"].min().items():
            months[firm] = min(int(month), months.get(firm, int(month)))
    return months


def _until_exit(firms: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """The firm table with ``columns`` blanked (NaN) after each firm's exit month.

    After an exit the table keeps the firm's last figures; drawn on, they would suggest a
    firm still in business.
    """
    exit_month = firms.loc[firms["status"].isin(EXIT_MARKERS)].groupby("firm")["month"].min()
    after = firms["month"] > firms["firm"].map(exit_month).astype(float)
    shown = firms.copy()
    shown[columns] = shown[columns].astype(float)
    shown.loc[after.to_numpy(dtype=bool), columns] = np.nan
    return shown


# ---------------------------------------------------------------- figure helpers


def new_figure(width: float, height: float, *, layout: str | None = "constrained") -> Figure:
    """An empty figure on its own Agg canvas, so nothing global changes.

    Args:
        width: inches.
        height: inches.
        layout: matplotlib's layout engine; None for a fixed layout.
    """
    figure = Figure(figsize=(width, height), dpi=DPI, layout=layout)
    FigureCanvasAgg(figure)
    return figure


def save_figures(makers: Mapping[str, Callable[[], Figure]], folder: Path) -> list[Path]:
    """Draw each figure and write it as ``<name>.png`` into ``folder`` (created if missing).

    Each figure is cleared once written, so a long series does not hold them all.

    Args:
        makers: file name (without ``.png``) -> a function that draws the figure.
        folder: where to write.

    Returns:
        The paths written, in the order of ``makers``.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, make in makers.items():
        path = folder / f"{name}.png"
        figure = make()
        figure.savefig(path, dpi=DPI)
        figure.clear()
        written.append(path)
    return written


def _month_starts(dates: pd.Series | pd.Index) -> np.ndarray:
    """``YYYY-MM`` (or full ISO) dates as datetime64 at the start of their month."""
    parsed = pd.to_datetime(pd.Series(np.asarray(dates, dtype=object)), format="ISO8601")
    return parsed.dt.to_period("M").dt.to_timestamp().to_numpy()


def _date_axis(ax: Any) -> None:
    locator = AutoDateLocator(minticks=4, maxticks=10)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))


def _by_month(table: pd.DataFrame, column: str, order: list[str]) -> pd.DataFrame:
    """Month x firm table of ``column``, firms in ``order``."""
    wide = table.pivot_table(
        index="month", columns="firm", values=column, aggfunc="first", dropna=False
    )
    return wide.reindex(columns=order)


def _month_dates(table: pd.DataFrame) -> pd.Series:
    """Month -> its date, datetime64 at the start of the month."""
    dates = table.drop_duplicates("month").set_index("month")["date"].sort_index()
    return pd.Series(_month_starts(dates), index=dates.index)


def _tier_legend(
    figure: Figure,
    firms: pd.DataFrame,
    order: list[str],
    handles: Mapping[str, Any],
    *,
    extra: list[Any] | None = None,
) -> None:
    """One legend outside the right edge, firms grouped under bold tier headings."""
    names, tier_of = _names(firms), _tier_of(firms)
    entries, labels, headings = [], [], []
    for tier in _tiers(firms):
        members = [firm for firm in order if tier_of.get(firm) == tier and firm in handles]
        if not members:
            continue
        headings.append(len(labels))
        entries.append(Patch(visible=False))
        labels.append(TIER_LABELS.get(tier, tier))
        entries += [handles[firm] for firm in members]
        labels += [names[firm] for firm in members]
    for handle in extra or []:
        entries.append(handle)
        labels.append(handle.get_label())
    legend = figure.legend(entries, labels, loc="outside right upper", fontsize=8, frameon=False)
    for index in headings:
        legend.get_texts()[index].set_fontweight("bold")


def _note(ax: Any, text: str) -> None:
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", color="0.4")


# ---------------------------------------------------------------- the plots


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
    shares = _by_month(firms, "share", order).fillna(0.0)
    dates = _month_dates(firms).reindex(shares.index).to_numpy()

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
    tier_of = _tier_of(firms)
    running = np.zeros(len(shares))
    for tier in _tiers(firms)[:-1]:
        running = running + shares[[f for f in order if tier_of[f] == tier]].sum(axis=1).to_numpy()
        ax.plot(dates, running, color="black", linewidth=1.0)
    ax.set_ylim(0, 1)
    ax.set_xlim(dates[0], dates[-1])
    ax.yaxis.set_major_formatter(PercentFormatter(xmax=1))
    ax.set_ylabel("share of consumer users (%)")
    ax.set_title("Consumer share by firm (black lines separate tiers)")
    _date_axis(ax)
    _tier_legend(figure, firms, order, dict(zip(order, areas, strict=True)))
    return figure


def kill_line_distance(firms: pd.DataFrame, events: pd.DataFrame | None = None) -> Figure:
    """Distance to the kill line per firm, one panel per tier, with crossings and exits.

    Each firm is a line of ``distance_to_kill_line`` (log2 units: 0 is the line, 1 is
    twice the threshold, below 0 is past it) that stops at the month the firm leaves the
    market. A dot marks the month it crossed the kill line; a triangle an acquisition, a
    square a pivot, an x a closure.

    Args:
        firms: the run's firm table.
        events: the run's event table (for ``crossed_kill_line`` and exit events); the
            firm statuses are used when it is missing or empty.

    Returns:
        The figure; the firm lines carry the firm id as their ``gid``.
    """
    order = firm_order(firms)
    colours, names, tier_of = firm_colours(firms), _names(firms), _tier_of(firms)
    column = "distance_to_kill_line"
    distance = _by_month(_until_exit(firms, [column]), column, order)
    exits, crossings = _exits(firms, events), _crossings(firms, events)
    tiers = _tiers(firms)

    figure = new_figure(11, 1.0 + 2.4 * len(tiers))
    axes = figure.subplots(len(tiers), 1, sharex=True, sharey=True, squeeze=False)[:, 0]
    for ax, tier in zip(axes, tiers, strict=True):
        lines = []
        for firm in (f for f in order if tier_of[f] == tier):
            line = distance[firm]
            (drawn,) = ax.plot(
                line.index,
                line.to_numpy(),
                color=colours[firm],
                linewidth=1.6,
                label=names[firm],
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
        ax.set_title(TIER_LABELS.get(tier, tier), loc="left", fontsize=10, fontweight="bold")
        ax.set_ylabel("distance (doublings)")
        ax.legend(
            handles=lines, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False
        )
        ax.grid(axis="y", alpha=0.3)

    values = distance.to_numpy(dtype=float)
    finite = values[np.isfinite(values)]
    low = min(float(finite.min()) if finite.size else 0.0, 0.0)
    high = max(float(finite.max()) if finite.size else 1.0, 0.0)
    pad = 0.08 * (high - low) + 0.25
    for ax in axes:
        ax.axhspan(low - pad, 0, color=KILL_ZONE_COLOUR, alpha=0.08, zorder=0)
    axes[0].set_ylim(low - pad, high + pad)
    axes[0].set_xlim(distance.index.min(), distance.index.max())
    start = firms.loc[firms["month"] == firms["month"].min(), "date"].iloc[0]
    axes[-1].set_xlabel(f"month of the run (0 = {start})")
    axes[-1].xaxis.set_major_locator(MaxNLocator(integer=True))

    outlined = {"crossed the kill line": CROSSED_MARKER} | {
        kind: EXIT_MARKERS[kind] for kind in ("acquired", "pivoted")
    }
    keys = [
        *(
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
        ),
        Line2D(
            [],
            [],
            marker=EXIT_MARKERS["closed"],
            linestyle="none",
            color="0.3",
            markeredgewidth=2.0,
            label="closed",
        ),
        Patch(color=KILL_ZONE_COLOUR, alpha=0.15, label="past the kill line"),
    ]
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
    shown = _until_exit(firms, ["capital_bn", "runway_months"])
    capital = _by_month(shown, "capital_bn", order)
    runway = _by_month(shown, "runway_months", order)
    dates = _month_dates(firms).reindex(capital.index).to_numpy()

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
    bottom.set_xlim(dates[0], dates[-1])
    _date_axis(bottom)
    _tier_legend(figure, firms, order, handles, extra=extra)
    return figure


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
    names, order = _names(firms), firm_order(firms)
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
    labels = [names.get(firm, firm) if firm != NO_FIRM else "none (no assistant)" for firm in axis]

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
        _note(ax, "no users moved")
        return figure

    top = float(positive.max())
    # Flows below a thousandth of the largest share the lightest colour.
    norm = LogNorm(vmin=max(float(positive.min()), top * 1e-3), vmax=top, clip=True)
    cmap = colormaps["viridis"].with_extremes(bad="white")
    image = ax.imshow(np.ma.masked_less_equal(grid, 0.0), cmap=cmap, norm=norm, aspect="equal")
    bar = figure.colorbar(image, ax=ax, label="users moved (millions, log scale)", shrink=0.8)
    bar.ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))

    tier_of = _tier_of(firms)
    kinds = [tier_of.get(firm, "") for firm in axis]
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
    dates = _month_starts(market["date"])
    tier_columns = sorted(
        (c for c in market.columns if c.startswith("share_")),
        key=lambda c: (_tier_rank(c.removeprefix("share_")), c),
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
            color=_tier_colour(tier),
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
    _date_axis(axes[-1])
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
        _note(ax, "no startups recorded")
        return figure

    dates = _month_starts(startups["date"])
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
                dates, startups[column] / 1e3, color=colour, linestyle=style, lw=width, label=label
            )
    span = [dates[0], dates[-1]]
    if targets:
        when = targets.get("date", startups["date"].iloc[0])
        at = _month_starts([when])[0]
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
    _date_axis(ax)
    return figure


def save_run_plots(
    tables: Mapping[str, pd.DataFrame],
    folder: Path,
    *,
    runway_threshold: float | None = None,
    startup_targets: Mapping[str, Any] | None = None,
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

    Returns:
        The paths written, in the order above.
    """
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
    if market is not None and not market.empty:
        makers["concentration"] = lambda: concentration(market)
    young = tables.get("startups")
    if young is not None and not young.empty:
        makers["startups"] = lambda: startups(young, startup_targets)
    return save_figures(makers, folder)
