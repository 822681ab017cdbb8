"""The dashboard's live plots: five figures built once per run and redrawn in place.

A redraw takes the run so far as arrays (:class:`sim.dashboard.session.Snapshot`), moves
the artists' data and encodes each figure as a PNG (sim/dashboard/redraw.py: the still
parts are pasted from a background). Nothing is derived from the tables and no figure is
built again: the x axes span the horizon from month 0, the y ranges grow in steps.

market_share    consumer share by firm, stacked, black lines between tiers
mau             monthly active users per firm, the five largest named
kill_line       distance to the kill line per firm, a panel per tier, crossings and exits
                marked; the view stops ``CLIP_BELOW`` doublings under the line, and a firm
                further down is drawn dotted on that edge with a downward mark
capital_runway  capital (symlog) and runway (log) per firm, the kill-line runway dashed
migration       users who switched assistant so far, from -> to

    pngs = LivePlots(live).draw(live.snapshot())   # name -> PNG bytes
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np
from matplotlib import colormaps
from matplotlib.colors import LogNorm
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator, PercentFormatter

from sim.dashboard.redraw import PLOT_DPI, InPlace
from sim.fates import BELOW
from sim.plots.style import (
    CROSSED_MARKER,
    EXIT_MARKERS,
    KILL_ZONE_COLOUR,
    TIER_LABELS,
    firm_colours,
    firm_order,
    names,
    new_figure,
    tier_legend,
    tier_of,
    tiers,
)
from sim.schema import EXITED

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from sim.dashboard.session import LiveRun, Snapshot

PLOTS = ("market_share", "mau", "kill_line", "capital_runway", "migration")
# The distance panel's view stops this many doublings under the kill line (1/8 of the
# runway or share threshold): a collapsing firm's distance falls to -15 and more, which
# would flatten every line near the line itself.
CLIP_BELOW = -3.0
CAPITAL_LINEAR_BN = 1.0  # the capital axis is linear within +-1 bn, logarithmic beyond
RUNWAY_FLOOR_SHARE = 0.25  # the runway axis starts at a quarter of the kill-line runway
LABELLED = 5  # firms named at the end of their MAU line
ANNOTATED = 12  # migration cells with their number written in
FLOW_RANGE = 1e-3  # flows under this fraction of the largest share the lightest colour


def exits(status: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """From a months x firms array of statuses: whether each firm crossed the kill line
    and in which month, and the month it left the market (-1 if it did not)."""
    below = status == BELOW
    crossed = below.any(axis=0)
    crossed_month = np.where(crossed, below.argmax(axis=0), -1)
    gone = np.isin(status, EXITED)
    exit_month = np.where(gone.any(axis=0), gone.argmax(axis=0), -1)
    return crossed, crossed_month, exit_month


def until_exit(values: np.ndarray, status: np.ndarray) -> np.ndarray:
    """``values`` (months x firms) blanked after each firm's exit month: drawn on, a
    departed firm's last figures would suggest a firm still in business."""
    gone = np.isin(status, EXITED)
    after = gone & (np.cumsum(gone, axis=0) > 1)
    return np.where(after, np.nan, values.astype(float))


class LivePlots(InPlace):
    """The five live figures of one run, made empty at month 0 and redrawn in place.

    Args:
        live: the live run; its roster (month 0), horizon and kill line set the axes.
    """

    def __init__(self, live: LiveRun) -> None:
        roster = live.tables()["firms"]
        roster = roster[roster["month"] == roster["month"].min()]
        self.horizon = live.horizon
        self.threshold = float(live.scenario.kill_line.runway_months)
        self.runway_cap = float(live.scenario.kill_line.runway_cap_months)
        self.start = str(roster["date"].iloc[0])
        self.roster = roster
        self.order = firm_order(roster)
        ids = list(live.scenario.firm_ids)
        self.columns = np.array([ids.index(firm) for firm in self.order])
        self.flow_columns = np.array([*self.columns, len(ids)])
        self.colours = firm_colours(roster)
        self.display = names(roster)
        self.tier_by_firm = tier_of(roster)
        self.tiers = tiers(roster)
        self.months = np.arange(self.horizon + 1)
        self.draws = 0  # redraws so far
        self.draw_seconds = 0.0  # the last redraw's wall time
        super().__init__(PLOTS)
        self.figures: dict[str, Figure] = {
            "market_share": self._market_share(),
            "mau": self._mau(),
            "kill_line": self._kill_line(),
            "capital_runway": self._capital_runway(),
            "migration": self._migration(),
        }
        for figure in self.figures.values():
            figure.set_dpi(PLOT_DPI)

    # ---------------------------------------------------------------- drawing

    def draw(self, snapshot: Snapshot) -> dict[str, bytes]:
        """Every plot brought to the snapshot's month, as PNG bytes by name."""
        began = time.perf_counter()
        series = {key: value[:, self.columns] for key, value in snapshot.series.items()}
        status = series["status"]
        x = self.months[: len(status)]
        self._update_market_share(x, series["share"])
        self._update_mau(x, series["mau_m"])
        self._update_kill_line(x, until_exit(series["distance_to_kill_line"], status), status)
        self._update_capital_runway(
            x,
            until_exit(series["capital_bn"], status),
            until_exit(series["runway_months"], status),
        )
        self._update_migration(snapshot.moved_m[np.ix_(self.flow_columns, self.flow_columns)])
        drawn = {name: self.png(name) for name in PLOTS}
        self.draws += 1
        self.draw_seconds = time.perf_counter() - began
        return drawn

    def _month_axis(self, ax) -> None:
        ax.set_xlim(0, self.horizon)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))

    # ---------------------------------------------------------------- market share

    def _market_share(self) -> Figure:
        figure = new_figure(10, 5)
        ax = figure.subplots()
        self.share_ax = ax
        self.stack: list = []
        self.tier_lines = [
            self.move("market_share", ax.plot([], [], color="black", linewidth=1.0)[0])
            for _ in self.tiers[:-1]
        ]
        ax.set_ylim(0, 1)
        self._month_axis(ax)
        ax.yaxis.set_major_formatter(PercentFormatter(xmax=1))
        ax.set_ylabel("share of consumer users (%)")
        ax.set_xlabel(f"month of the run (0 = {self.start})")
        ax.set_title("Consumer share by firm (black lines separate tiers)")
        patches = {firm: Patch(color=self.colours[firm]) for firm in self.order}
        tier_legend(figure, self.roster, self.order, patches)
        return figure

    def _update_market_share(self, x: np.ndarray, share: np.ndarray) -> None:
        shares = np.nan_to_num(share.astype(float))
        for area in self.stack:
            area.remove()
            self.moving["market_share"].remove(area)
        self.stack = self.share_ax.stackplot(
            x,
            shares.T,
            colors=[self.colours[firm] for firm in self.order],
            edgecolor="white",
            linewidth=0.3,
        )
        for area in self.stack:
            self.move("market_share", area)
        kinds = np.array([self.tier_by_firm[firm] for firm in self.order])
        running = np.zeros(len(x))
        for line, tier in zip(self.tier_lines, self.tiers[:-1], strict=True):
            running = running + shares[:, kinds == tier].sum(axis=1)
            line.set_data(x, running)

    # ---------------------------------------------------------------- monthly users

    def _mau(self) -> Figure:
        figure = new_figure(8, 4.5)
        ax = figure.subplots()
        self.mau_ax = ax
        self.mau_lines = [
            self.move("mau", ax.plot([], [], color=self.colours[firm], lw=1.5)[0])
            for firm in self.order
        ]
        self.mau_labels = [
            self.move(
                "mau",
                ax.annotate(
                    "",
                    (0, 0),
                    xytext=(3, 0),
                    textcoords="offset points",
                    fontsize=7,
                    va="center",
                ),
            )
            for _ in range(LABELLED)
        ]
        self._month_axis(ax)
        ax.set_ylim(0, 1)
        ax.set_xlabel(f"month of the run (0 = {self.start})")
        ax.set_ylabel("monthly active users (M)")
        ax.set_title("Monthly active users by firm", loc="left", fontsize=10)
        ax.grid(alpha=0.3)
        return figure

    def _update_mau(self, x: np.ndarray, mau: np.ndarray) -> None:
        values = mau.astype(float)
        for line, column in zip(self.mau_lines, values.T, strict=True):
            line.set_data(x, column)
        last = np.nan_to_num(values[-1])
        largest = np.argsort(-last, kind="stable")[:LABELLED]
        for label, index in zip(self.mau_labels, largest, strict=False):
            label.xy = (x[-1], last[index])
            label.set_text(self.display[self.order[index]])
        top = float(np.nanmax(values)) if np.isfinite(values).any() else 0.0
        if top * 1.05 > self.mau_ax.get_ylim()[1]:
            self.set_ylim("mau", self.mau_ax, 0, top * 1.3)

    # ---------------------------------------------------------------- kill line

    def _kill_line(self) -> Figure:
        figure = new_figure(10, 1.0 + 2.0 * len(self.tiers))
        axes = figure.subplots(len(self.tiers), 1, sharex=True, sharey=True, squeeze=False)
        self.kill_axes = list(axes[:, 0])
        self.kill_panels = []
        for ax, tier in zip(self.kill_axes, self.tiers, strict=True):
            members = [i for i, firm in enumerate(self.order) if self.tier_by_firm[firm] == tier]
            lines, edges = [], []
            for i in members:
                firm = self.order[i]
                colour = self.colours[firm]
                line = ax.plot([], [], color=colour, lw=1.6, label=self.display[firm])[0]
                lines.append(self.move("kill_line", line))
                edge = ax.plot([], [], color=colour, lw=1.2, ls=":", marker="v", markersize=4)[0]
                edges.append(self.move("kill_line", edge))
            marks = {
                kind: (
                    ax.scatter([], [], marker=marker, s=55, zorder=4, linewidths=2.0)
                    if marker == "x"
                    else ax.scatter(
                        [], [], marker=marker, s=55, zorder=4, edgecolors="black", linewidths=1.0
                    )
                )
                for kind, marker in {"crossed": CROSSED_MARKER, **EXIT_MARKERS}.items()
            }
            for points in marks.values():
                self.move("kill_line", points)
            clipped = ax.text(
                0.995,
                0.03,
                f"\u25bc below {CLIP_BELOW:g}: drawn dotted on the edge",
                transform=ax.transAxes,
                ha="right",
                va="bottom",
                fontsize=8,
                visible=False,
            )
            self.move("kill_line", clipped)
            self.kill_panels.append((np.array(members), lines, edges, marks, clipped))
            ax.axhspan(-1e3, 0, color=KILL_ZONE_COLOUR, alpha=0.08, zorder=0)
            self.move("kill_line", ax.axhline(0, color="black", linewidth=2.5, zorder=3))
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
            ax.set_ylabel("doublings")
            ax.legend(
                handles=lines,
                loc="upper left",
                bbox_to_anchor=(1.01, 1.0),
                fontsize=8,
                frameon=False,
            )
            ax.grid(axis="y", alpha=0.3)
        self._month_axis(self.kill_axes[-1])
        self.kill_axes[-1].set_xlabel(f"month of the run (0 = {self.start})")
        self.kill_axes[0].set_ylim(CLIP_BELOW, 1)
        self.kill_kinds: tuple = ()
        self.kill_key = None
        self._kill_key(())
        figure.suptitle(
            "Distance to the kill line (log2 of runway or share over its threshold; "
            f"view clipped at {CLIP_BELOW:g})",
            fontsize=11,
        )
        return figure

    def _kill_key(self, kinds: tuple) -> None:
        """The key under the panels, listing only the marks drawn."""
        if self.kill_key is not None:
            self.kill_key.remove()
        keys = []
        for kind in kinds:
            marker = CROSSED_MARKER if kind == "crossed" else EXIT_MARKERS[kind]
            label = "crossed the kill line" if kind == "crossed" else kind
            keys.append(
                Line2D(
                    [],
                    [],
                    marker=marker,
                    linestyle="none",
                    color="0.4",
                    markeredgecolor="black" if marker != "x" else None,
                    markeredgewidth=1.0 if marker != "x" else 2.0,
                    label=label,
                )
            )
        keys.append(Patch(color=KILL_ZONE_COLOUR, alpha=0.15, label="past the kill line"))
        figure = self.kill_axes[0].figure
        self.kill_key = figure.legend(
            handles=keys, loc="outside lower center", ncols=len(keys) + 2, frameon=False
        )
        self.kill_kinds = kinds
        self.stale.add("kill_line")

    def _update_kill_line(self, x: np.ndarray, distance: np.ndarray, status: np.ndarray) -> None:
        inside = np.where(distance >= CLIP_BELOW, distance, np.nan)
        edge = np.where(distance < CLIP_BELOW, CLIP_BELOW, np.nan)
        _, crossed_month, exit_month = exits(status)
        exit_kind = status[exit_month, np.arange(status.shape[1])]
        # a mark sits at the firm's last known distance by its month, clipped to the view
        known = np.where(np.isnan(distance), -1, np.arange(len(x))[:, None])
        last_known = np.maximum.accumulate(known, axis=0)
        drawn: set[str] = set()
        for members, lines, edges, marks, clipped in self.kill_panels:
            for i, line, under in zip(members, lines, edges, strict=True):
                line.set_data(x, inside[:, i])
                under.set_data(x, edge[:, i])
            clipped.set_visible(bool(np.isfinite(edge[:, members]).any()))
            for kind, points in marks.items():
                month = (
                    crossed_month
                    if kind == "crossed"
                    else np.where(exit_kind == kind, exit_month, -1)
                )
                chosen = members[month[members] >= 0]
                rows = last_known[month[chosen], chosen]
                chosen, rows = chosen[rows >= 0], rows[rows >= 0]
                values = np.maximum(distance[rows, chosen], CLIP_BELOW)
                points.set_offsets(np.column_stack([month[chosen], values]))
                colours = [self.colours[self.order[i]] for i in chosen]
                (points.set_color if kind == "closed" else points.set_facecolor)(colours)
                if chosen.size:
                    drawn.add(kind)
        kinds = tuple(k for k in ("crossed", *EXIT_MARKERS) if k in drawn)
        if kinds != self.kill_kinds:
            self._kill_key(kinds)
        # the range in half doublings, so that it changes seldom
        finite = distance[np.isfinite(distance)]
        high = np.ceil(2 * max(float(finite.max()) if finite.size else 1.0, 1.0)) / 2
        low = max(
            np.floor(2 * min(float(finite.min()) if finite.size else 0.0, 0.0)) / 2, CLIP_BELOW
        )
        self.set_ylim("kill_line", self.kill_axes[0], low - 0.25, high + 0.25)

    # ---------------------------------------------------------------- capital and runway

    def _capital_runway(self) -> Figure:
        figure = new_figure(10, 7)
        top, bottom = figure.subplots(2, 1, sharex=True)
        self.capital_ax, self.runway_ax = top, bottom
        self.capital_lines = [
            self.move("capital_runway", top.plot([], [], color=self.colours[firm], lw=1.5)[0])
            for firm in self.order
        ]
        top.set_yscale("symlog", linthresh=CAPITAL_LINEAR_BN)
        top.axhline(0, color="0.3", linewidth=0.8)
        top.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        top.set_ylabel(f"billions of RMB\n(symlog: linear within \u00b1{CAPITAL_LINEAR_BN:g})")
        top.set_title("Capital (cash in hand)")
        top.set_ylim(0, 10)
        top.grid(alpha=0.3)

        self.runway_floor = self.threshold * RUNWAY_FLOOR_SHARE
        self.runway_lines = [
            self.move("capital_runway", bottom.plot([], [], color=self.colours[firm], lw=1.5)[0])
            for firm in self.order
        ]
        bottom.axhspan(0, self.threshold, color=KILL_ZONE_COLOUR, alpha=0.08, zorder=0)
        line = bottom.axhline(
            self.threshold,
            color="black",
            linestyle="--",
            linewidth=1.5,
            label=f"kill-line runway ({self.threshold:g} months)",
        )
        bottom.set_yscale("log", base=2)
        bottom.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        bottom.set_ylim(self.runway_floor, self.runway_cap * 1.25)
        bottom.set_ylabel(
            f"months, log scale\n(under {self.runway_floor:g} drawn at {self.runway_floor:g})"
        )
        bottom.set_title("Runway: months of burn the firm can still pay for")
        bottom.set_xlabel(f"month of the run (0 = {self.start})")
        bottom.grid(alpha=0.3)
        self._month_axis(bottom)
        handles = dict(zip(self.order, self.capital_lines, strict=True))
        tier_legend(figure, self.roster, self.order, handles, extra=[line])
        return figure

    def _update_capital_runway(
        self, x: np.ndarray, capital: np.ndarray, runway: np.ndarray
    ) -> None:
        for line, column in zip(self.capital_lines, capital.T, strict=True):
            line.set_data(x, column)
        clipped = np.clip(runway, self.runway_floor, self.runway_cap)
        for line, column in zip(self.runway_lines, clipped.T, strict=True):
            line.set_data(x, column)
        finite = capital[np.isfinite(capital)]
        if finite.size:
            low, high = self.capital_ax.get_ylim()
            smallest, largest = float(finite.min()), float(finite.max())
            wanted_low = low if smallest >= low else smallest * 1.5
            wanted_high = high if largest <= high else largest * 1.5
            self.set_ylim("capital_runway", self.capital_ax, wanted_low, wanted_high)

    # ---------------------------------------------------------------- migration

    def _migration(self) -> Figure:
        axis = [*self.order, "none"]
        labels = [self.display.get(firm, firm) for firm in self.order] + ["none (no assistant)"]
        size = max(6.0, 0.4 * len(axis) + 2.5)
        figure = new_figure(size + 1.5, size)
        ax = figure.subplots()
        ax.set_title("Users who switched assistant so far (millions)")
        ticks = np.arange(len(axis))
        ax.set_xticks(ticks, labels, rotation=50, ha="right", rotation_mode="anchor", fontsize=8)
        ax.set_yticks(ticks, labels, fontsize=8)
        ax.set_xlabel("to")
        ax.set_ylabel("from")
        self.flow_norm = LogNorm(vmin=1e-3, vmax=1.0, clip=True)
        cmap = colormaps["viridis"].with_extremes(bad="white")
        empty = np.ma.masked_all((len(axis), len(axis)))
        self.flow_image = ax.imshow(empty, cmap=cmap, norm=self.flow_norm, aspect="equal")
        self.move("migration", self.flow_image)
        bar = figure.colorbar(
            self.flow_image, ax=ax, label="users moved (millions, log scale)", shrink=0.8
        )
        bar.ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        kinds = [self.tier_by_firm.get(firm, "") for firm in axis]
        for i in range(1, len(axis)):
            if kinds[i] != kinds[i - 1]:
                ax.axhline(i - 0.5, color="0.5", linewidth=0.8)
                ax.axvline(i - 0.5, color="0.5", linewidth=0.8)
        self.flow_texts = [
            self.move("migration", ax.text(0, 0, "", ha="center", va="center", fontsize=7))
            for _ in range(ANNOTATED)
        ]
        self.flow_note = ax.text(
            0.5, 0.5, "no users moved yet", transform=ax.transAxes, ha="center", color="0.4"
        )
        self.move("migration", self.flow_note)
        return figure

    def _update_migration(self, grid: np.ndarray) -> None:
        positive = grid[grid > 0]
        self.flow_note.set_visible(positive.size == 0)
        for text in self.flow_texts:
            text.set_text("")
        if positive.size == 0:
            self.flow_image.set_data(np.ma.masked_all(grid.shape))
            return
        # the colour scale tops at the next power of ten, so that it changes seldom
        top = 10 ** np.ceil(np.log10(float(positive.max())))
        if top != self.flow_norm.vmax:
            self.flow_norm.vmin, self.flow_norm.vmax = top * FLOW_RANGE, top
            self.stale.add("migration")  # the colour bar's ticks
        self.flow_image.set_data(np.ma.masked_less_equal(grid, 0.0))
        largest = np.argsort(grid, axis=None)[::-1][:ANNOTATED]
        for text, flat in zip(self.flow_texts, largest, strict=True):
            row, col = np.unravel_index(flat, grid.shape)
            value = grid[row, col]
            if value <= 0:
                break
            text.set_position((col, row))
            text.set_text(f"{value:.0f}" if value >= 10 else f"{value:.1f}")
            text.set_color("white" if self.flow_norm(value) < 0.6 else "black")
