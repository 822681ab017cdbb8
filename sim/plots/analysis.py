"""Charts of sweeps and sensitivity analyses, drawn from their tables.

sweep_chart   each outcome against one swept parameter, mean with 95% CI
morris_chart  Morris mu* against sigma, one point per parameter
sobol_chart   Sobol first and total order indices with confidence intervals
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from sim.plots.style import grid, new_figure


def sweep_chart(means: pd.DataFrame, parameter: str, parameters: Sequence[str]) -> Figure:
    """Each outcome against one swept parameter: mean over replicates with its 95%
    confidence interval; one line per combination of the other parameters.

    Args:
        means: the sweep's per-point means (sim.experiments.stats.point_means).
        parameter: the parameter on the x axis (a key path).
        parameters: every swept parameter, in grid order.
    """
    outcomes = list(dict.fromkeys(means["outcome"]))
    others = [p for p in parameters if p != parameter]
    n_rows, n_cols = grid(len(outcomes), 3)
    figure = new_figure(3.6 * n_cols, 2.6 * n_rows + 0.6)
    axes = figure.subplots(n_rows, n_cols, squeeze=False).ravel()
    values = list(dict.fromkeys(means[parameter]))
    numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
    position = {value: (value if numeric else i) for i, value in enumerate(values)}
    groups = list(means.groupby(others, sort=False)) if others else [((), means)]
    for ax, outcome in zip(axes, outcomes, strict=False):
        for key, rows in groups:
            rows = rows[rows["outcome"] == outcome]
            x = np.array([position[v] for v in rows[parameter]], dtype=float)
            order = np.argsort(x)
            label = ", ".join(
                f"{p.rsplit('.', 1)[-1]}={v}"
                for p, v in zip(others, np.atleast_1d(key), strict=False)
            )
            ax.errorbar(
                x[order],
                rows["mean"].to_numpy()[order],
                yerr=[
                    (rows["mean"] - rows["ci_low"]).to_numpy()[order],
                    (rows["ci_high"] - rows["mean"]).to_numpy()[order],
                ],
                marker="o",
                ms=3.5,
                lw=1.2,
                capsize=2.5,
                label=label or None,
            )
        ax.set_title(outcome, fontsize=9, loc="left")
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
        honest_scale(ax, means.loc[means["outcome"] == outcome, ["ci_low", "mean", "ci_high"]])
        if not numeric:
            ax.set_xticks(range(len(values)), [str(v) for v in values])
    for ax in axes[len(outcomes) :]:
        ax.set_visible(False)
    if others and len(groups) > 1:
        handles, labels = axes[0].get_legend_handles_labels()
        figure.legend(
            handles,
            labels,
            loc="outside lower center",
            ncols=min(4, len(labels)),
            fontsize=8,
            frameon=False,
        )
    figure.suptitle(
        f"Outcomes against {parameter} (mean over replicates, 95% CI)",
        fontsize=11,
        x=0.01,
        ha="left",
    )
    return figure


def honest_scale(ax: Axes, values: pd.DataFrame) -> None:
    """A y axis that starts at zero when every value is non-negative (shares, counts,
    months), so that a small difference does not look large; otherwise the zero line is
    drawn, marked, when it is in range."""
    finite = values.to_numpy(dtype=float)
    finite = finite[np.isfinite(finite)]
    if not finite.size:
        return
    low, high = float(finite.min()), float(finite.max())
    if low >= 0.0:
        ax.set_ylim(0.0, high * 1.08 if high > 0 else 1.0)
    elif high > 0.0:
        ax.axhline(0.0, color="0.3", lw=0.8)


def morris_chart(indices: pd.DataFrame, outcome: str) -> Figure:
    """Morris screening for one outcome: mu* (mean absolute elementary effect, with its
    confidence interval) against sigma (spread of the effects: interactions and
    non-linearity). Parameters far to the right matter most.

    Args:
        indices: the sensitivity indices (sim.experiments.sensitivity), method ``morris``.
        outcome: which outcome to draw.
    """
    rows = indices[indices["outcome"] == outcome]
    figure = new_figure(7.0, 5.0)
    ax = figure.subplots()
    ax.errorbar(
        rows["mu_star"],
        rows["sigma"],
        xerr=rows["mu_star_conf"],
        fmt="o",
        color="#08519c",
        ecolor="#9ecae1",
        capsize=3,
    )
    for row in rows.itertuples():
        ax.annotate(
            row.parameter,
            (row.mu_star, row.sigma),
            xytext=(4, 4),
            textcoords="offset points",
            fontsize=8,
        )
    top = float(max(rows["mu_star"].max(), rows["sigma"].max(), 0.0)) if len(rows) else 0.0
    if top > 0:
        ax.plot([0, top], [0, top], color="0.6", lw=0.8, ls="--", label="sigma = mu*")
        ax.legend(fontsize=8, frameon=False, loc="upper left")
    ax.set_xlim(left=0.0)
    ax.set_ylim(bottom=0.0)
    ax.set_xlabel("mu* (mean |elementary effect|)")
    ax.set_ylabel("sigma (spread of the effects)")
    ax.set_title(f"Morris screening: {outcome}", fontsize=10, loc="left")
    ax.grid(alpha=0.3)
    return figure


def sobol_chart(indices: pd.DataFrame, outcome: str) -> Figure:
    """Sobol indices for one outcome: first order (the parameter alone) and total order
    (with all its interactions), with confidence intervals.

    Args:
        indices: the sensitivity indices (sim.experiments.sensitivity), method ``sobol``.
        outcome: which outcome to draw.
    """
    rows = indices[indices["outcome"] == outcome].reset_index(drop=True)
    figure = new_figure(7.5, 1.4 + 0.45 * max(1, len(rows)))
    ax = figure.subplots()
    y = np.arange(len(rows))
    ax.barh(
        y - 0.2,
        rows["S1"],
        height=0.38,
        xerr=rows["S1_conf"],
        color="#6baed6",
        label="first order S1",
        capsize=2,
    )
    ax.barh(
        y + 0.2,
        rows["ST"],
        height=0.38,
        xerr=rows["ST_conf"],
        color="#08519c",
        label="total order ST",
        capsize=2,
    )
    ax.set_yticks(y, rows["parameter"])
    ax.invert_yaxis()
    ax.set_xlim(left=min(0.0, ax.get_xlim()[0]))
    ax.axvline(0.0, color="0.4", lw=0.8)
    ax.set_xlabel("share of the outcome's variance")
    ax.set_title(f"Sobol indices: {outcome}", fontsize=10, loc="left")
    ax.legend(fontsize=8, frameon=False, loc="lower right")
    ax.grid(alpha=0.3, axis="x")
    return figure
