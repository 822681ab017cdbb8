"""The shared look of every plot: tier order, palette, firm order and colours, figures.

Every plot module (run, ensemble, analysis) draws with these: each firm keeps one colour
across all plots (``firm_colours``: giants reds and oranges, mid-tier firms blues,
independents greens, verticals purples and greys), firms come in one order
(``firm_order``: tier, then consumer share at the start), and every figure is built on its
own Agg canvas (``new_figure``) so nothing global changes: notebooks keep their backend and
a figure no longer referenced is simply freed.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgba
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from sim.fates import tier_rank, tiers_present

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
# One line colour per tier where a tier is drawn as a whole (survival curves).
TIER_LINE_COLOURS = {
    "giant": "#a50f15",
    "midtier": "#08519c",
    "independent": "#238b45",
    "vertical": "#54278f",
}
EXIT_COLOURS = {
    "acquired": "#1f77b4",
    "pivoted": "#ff7f0e",
    "closed": "#d62728",
    "in market": "#c7c7c7",
}
EXIT_MARKERS = {"acquired": "^", "pivoted": "s", "closed": "x"}
CROSSED_MARKER = "o"
KILL_ZONE_COLOUR = "#d62728"
DPI = 110
# zlib level of the PNGs: 1 writes about four times faster than 6 for a slightly
# larger file
PNG_COMPRESSION = 1


# ---------------------------------------------------------------- firms, tiers, colours


def tiers(firms: pd.DataFrame) -> list[str]:
    """Tiers present, giants first; unknown tiers after the known ones, alphabetically."""
    return tiers_present(firms["tier"].dropna())


def firm_order(firms: pd.DataFrame) -> list[str]:
    """Firm ids ordered by tier (giants first), then by consumer share at the start.

    The order does not depend on how the table's rows are sorted, so a firm keeps its
    place (and its colour) in every plot.

    Args:
        firms: the firm table of a run or an ensemble.
    """
    start = firms[firms["month"] == firms["month"].min()].drop_duplicates("firm")
    first = pd.concat([start, firms.drop_duplicates("firm")]).drop_duplicates("firm")
    ranked = pd.DataFrame(
        {
            "firm": first["firm"].to_numpy(),
            "rank": [tier_rank(tier) for tier in first["tier"]],
            "share": -first["share"].fillna(0.0).to_numpy() if "share" in first else 0.0,
        }
    )
    return ranked.sort_values(["rank", "share", "firm"])["firm"].tolist()


def names(firms: pd.DataFrame) -> dict[str, str]:
    """Firm id -> display name (the id when the name is missing)."""
    if "name" not in firms:
        return {firm: firm for firm in firms["firm"].unique()}
    first = firms.drop_duplicates("firm").set_index("firm")["name"]
    return {
        firm: (name if isinstance(name, str) and name else firm) for firm, name in first.items()
    }


def tier_of(firms: pd.DataFrame) -> dict[str, str]:
    """Firm id -> tier."""
    return firms.drop_duplicates("firm").set_index("firm")["tier"].to_dict()


def palette(tier: str, count: int) -> list[Colour]:
    """``count`` distinct colours of the tier's family."""
    shades = [to_rgba(shade) for shade in TIER_PALETTES.get(tier, ())]
    if count > len(shades):
        cmap = colormaps[TIER_COLOURMAPS.get(tier, OTHER_COLOURMAP)]
        shades += [tuple(cmap(level)) for level in np.linspace(0.9, 0.4, count - len(shades))]
    return shades[:count]


def firm_colours(firms: pd.DataFrame) -> dict[str, Colour]:
    """A colour for every firm, the same in every plot.

    Giants take reds and oranges, mid-tier firms blues, independents greens, verticals
    purples and greys; within a tier, the largest firm at the start takes the first shade.

    Args:
        firms: the firm table (columns ``firm`` and ``tier``).

    Returns:
        Firm id -> RGBA colour.
    """
    tier_by_firm, order = tier_of(firms), firm_order(firms)
    colours: dict[str, Colour] = {}
    for tier in tiers(firms):
        members = [firm for firm in order if tier_by_firm[firm] == tier]
        colours.update(zip(members, palette(tier, len(members)), strict=True))
    return colours


def tier_colour(tier: str) -> Colour:
    """The first shade of the tier's family."""
    return palette(tier, 1)[0]


# ---------------------------------------------------------------- figures


class ShownFigure(Figure):
    """A figure that shows itself in Jupyter: returned by a cell, it displays as a PNG
    (``_repr_png_``) rather than as ``<Figure size ...>``, with no pyplot involved."""

    def _repr_png_(self) -> bytes:
        buffer = io.BytesIO()
        canvas = self.canvas if isinstance(self.canvas, FigureCanvasAgg) else None
        (canvas or FigureCanvasAgg(self)).print_png(buffer)
        return buffer.getvalue()


def new_figure(width: float, height: float, *, layout: str | None = "constrained") -> Figure:
    """An empty figure on its own Agg canvas, so nothing global changes; it displays
    inline in Jupyter (:class:`ShownFigure`).

    Args:
        width: inches.
        height: inches.
        layout: matplotlib's layout engine; None for a fixed layout.
    """
    figure = ShownFigure(figsize=(width, height), dpi=DPI, layout=layout)
    FigureCanvasAgg(figure)
    return figure


def save_figure(figure: Figure, path: Path) -> Path:
    """Render a figure once on an Agg canvas and write it as a PNG.

    Straight from the canvas (no ``savefig`` round trip) and with light PNG compression:
    the same pixels, written several times faster than with the default settings.
    """
    canvas = figure.canvas
    if not isinstance(canvas, FigureCanvasAgg):
        canvas = FigureCanvasAgg(figure)
    if figure.dpi != DPI:
        figure.set_dpi(DPI)
    canvas.print_png(path, pil_kwargs={"compress_level": PNG_COMPRESSION})
    return path


def save_figures(makers: Mapping[str, Callable[[], Figure]], folder: Path) -> list[Path]:
    """Draw each figure and write it as ``<name>.png`` into ``folder`` (created if missing).

    Each figure is drawn, written and dropped in turn, so a long series never holds them
    all.

    Args:
        makers: file name (without ``.png``) -> a function that draws the figure.
        folder: where to write.

    Returns:
        The paths written, in the order of ``makers``.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return [save_figure(make(), folder / f"{name}.png") for name, make in makers.items()]


def grid(count: int, columns: int = 4) -> tuple[int, int]:
    """Rows and columns of small multiples for ``count`` panels."""
    columns = max(1, min(columns, count))
    return math.ceil(count / columns), columns


# ---------------------------------------------------------------- axes and tables


def month_starts(dates: pd.Series | pd.Index | list[str]) -> np.ndarray:
    """``YYYY-MM`` (or full ISO) dates as datetime64 at the start of their month."""
    parsed = pd.to_datetime(pd.Series(np.asarray(dates, dtype=object)), format="ISO8601")
    return parsed.dt.to_period("M").dt.to_timestamp().to_numpy()


def date_axis(ax: Any) -> None:
    """Concise date ticks on the x axis."""
    locator = AutoDateLocator(minticks=4, maxticks=10)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))


def by_month(table: pd.DataFrame, column: str, order: list[str]) -> pd.DataFrame:
    """Month x firm table of ``column``, firms in ``order``."""
    wide = table.pivot_table(
        index="month", columns="firm", values=column, aggfunc="first", dropna=False
    )
    return wide.reindex(columns=order)


def month_dates(table: pd.DataFrame) -> pd.Series:
    """Month -> its date, datetime64 at the start of the month."""
    dates = table.drop_duplicates("month").set_index("month")["date"].sort_index()
    return pd.Series(month_starts(dates), index=dates.index)


def tier_legend(
    figure: Figure,
    firms: pd.DataFrame,
    order: list[str],
    handles: Mapping[str, Any],
    *,
    extra: list[Any] | None = None,
) -> None:
    """One legend outside the right edge, firms grouped under bold tier headings."""
    display, tier_by_firm = names(firms), tier_of(firms)
    entries, labels, headings = [], [], []
    for tier in tiers(firms):
        members = [firm for firm in order if tier_by_firm.get(firm) == tier and firm in handles]
        if not members:
            continue
        headings.append(len(labels))
        entries.append(Patch(visible=False))
        labels.append(TIER_LABELS.get(tier, tier))
        entries += [handles[firm] for firm in members]
        labels += [display[firm] for firm in members]
    for handle in extra or []:
        entries.append(handle)
        labels.append(handle.get_label())
    legend = figure.legend(entries, labels, loc="outside right upper", fontsize=8, frameon=False)
    for index in headings:
        legend.get_texts()[index].set_fontweight("bold")


def note(ax: Any, text: str) -> None:
    """A grey note in the middle of an empty panel."""
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", color="0.4")
