"""The plots of a calibration (sim/inference/): the posterior predictive against every
observed point, the prior and posterior marginals, and the particles pair by pair.

* ``fit_figure``: one row per observed point, simulated over observed on a log scale: the
  posterior predictive's median (dot) with its 90% band (bar), the point values' median
  (open circle); 1 is a perfect fit; fitted points in blue, held-out ones in orange;
* ``marginals_figure``: per fitted parameter, the weighted histogram of the particles on
  the prior's sampling scale against the (uniform) prior;
* ``pairs_figure``: the particles of every pair of fitted parameters, sized by weight.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib.ticker import NullFormatter

from sim.plots.style import grid, new_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from sim.priors import Prior

SPLIT_COLOURS = {"fitted": "#08519c", "held out": "#d95f0e"}
BINS = 12


def fit_figure(fit: pd.DataFrame) -> Figure:
    """Simulated over observed for every point of a calibration's fit table."""
    rows = len(fit)
    figure = new_figure(9.0, 1.2 + 0.24 * rows)
    ax = figure.subplots()
    y = np.arange(rows)[::-1]
    for colour_split, colour in SPLIT_COLOURS.items():
        part = (fit["split"] == colour_split).to_numpy()
        if not part.any():
            continue
        observed = fit["observed"].to_numpy()[part]
        low = fit["low"].to_numpy()[part] / observed
        high = fit["high"].to_numpy()[part] / observed
        ax.hlines(y[part], low, high, color=colour, lw=3, alpha=0.45)
        ax.plot(fit["posterior"].to_numpy()[part] / observed, y[part], "o", color=colour,
                ms=5, label=f"posterior predictive ({colour_split}): median, 90% band")  # fmt: skip
        ax.plot(fit["point_values"].to_numpy()[part] / observed, y[part], "o", mfc="none",
                mec=colour, ms=6, label=f"point values ({colour_split})")  # fmt: skip
    ax.axvline(1.0, color="k", lw=0.8)
    ax.set_xscale("log")
    ax.xaxis.set_minor_formatter(NullFormatter())
    bounds = {"at_most": " (at most)", "at_least": " (at least)"}
    ax.set_yticks(
        y, [f"{i}{bounds.get(b, '')}" for i, b in zip(fit["id"], fit["basis"], strict=True)]
    )
    ax.tick_params(axis="y", labelsize=7)
    ax.set_xlabel("simulated / observed (log scale; a bound is met on its side of 1)")
    ax.set_title("Every observed point: posterior predictive against the point values")
    ax.legend(fontsize=7, loc="lower right", frameon=False)
    return figure


def _scale(values: np.ndarray, prior: Prior) -> np.ndarray:
    return np.asarray(prior.to_scale(values), dtype=float)


def _label(prior: Prior) -> str:
    return f"log {prior.key}" if prior.scale == "log" else prior.key


def marginals_figure(values: np.ndarray, weights: np.ndarray, priors: Sequence[Prior]) -> Figure:
    """The posterior's weighted marginal of each parameter against its uniform prior."""
    rows, columns = grid(len(priors), 4)
    figure = new_figure(3.2 * columns, 2.5 * rows)
    axes = np.atleast_1d(figure.subplots(rows, columns)).ravel()
    for ax, (j, prior) in zip(axes, enumerate(priors), strict=False):
        low, high = prior.bounds
        edges = np.linspace(low, high, BINS + 1)
        ax.hist(_scale(values[:, j], prior), bins=edges, weights=weights, density=True,
                color="#08519c", alpha=0.7, label="posterior")  # fmt: skip
        ax.hlines(1.0 / (high - low), low, high, color="k", lw=1.2, ls="--", label="prior")
        ax.set_xlim(low, high)
        ax.set_title(_label(prior), fontsize=9)
        ax.tick_params(labelsize=7)
    for ax in axes[len(priors) :]:
        ax.set_visible(False)
    axes[0].legend(fontsize=7, frameon=False)
    figure.suptitle("Prior (dashed) and posterior marginals, on each prior's sampling scale")
    return figure


def pairs_figure(values: np.ndarray, weights: np.ndarray, priors: Sequence[Prior]) -> Figure:
    """The particles of every pair of parameters (lower triangle), sized by weight; the
    prior's range on each axis, named on the diagonal (a fixed layout: fast to draw)."""
    count = len(priors)
    figure = new_figure(1.5 * count, 1.5 * count, layout=None)
    figure.subplots_adjust(left=0.06, right=0.98, bottom=0.06, top=0.94, wspace=0.08, hspace=0.08)
    axes = figure.subplots(count, count, squeeze=False)
    size = 4 + 40 * weights / max(float(weights.max()), 1e-12)
    for i, row_prior in enumerate(priors):
        for j, column_prior in enumerate(priors):
            ax = axes[i, j]
            ax.set_xticks([])
            ax.set_yticks([])
            if j > i:
                ax.set_visible(False)
            elif j == i:
                name = _label(row_prior).replace(".", ".\n")
                ax.text(
                    0.5, 0.5, name, ha="center", va="center", fontsize=7, transform=ax.transAxes
                )
            else:
                ax.scatter(
                    _scale(values[:, j], column_prior),
                    _scale(values[:, i], row_prior),
                    s=size,
                    color="#08519c",
                    alpha=0.45,
                    lw=0,
                )
                ax.set_xlim(*column_prior.bounds)
                ax.set_ylim(*row_prior.bounds)
    figure.suptitle("Posterior particles pair by pair (axes: each prior's range; size: weight)")
    return figure
