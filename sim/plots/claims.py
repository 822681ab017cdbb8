"""The claims check's charts: the scorecard of all claims, and the plot behind each verdict.

Both read a check's tables only (``scorecard``, ``replicates``; sim/claims/check.py):

* :func:`scorecard_chart`: per claim, the probability that it holds with its 95% Wilson
  interval, coloured by verdict, with the verdict thresholds drawn;
* :func:`claim_chart`: per claim, the distribution over replicates of the claim's key
  value (each replicate a dot, filled where the claim held), the evidence behind the
  verdict;
* :func:`screen_chart`: per screened claim (table ``screen``), mu* of every parameter on
  the probability, most influential first, the top ones named (what the verdict turns on).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from sim.plots.style import new_figure, save_figures

VERDICT_COLOURS = {
    "supported": "#238b45",
    "mixed": "#e6ab02",
    "not supported": "#a50f15",
    "undecided": "#a0a0a0",
}


def scorecard_chart(scorecard: pd.DataFrame, thresholds: Mapping[str, float]) -> Figure:
    """Every claim's probability of holding, its 95% interval and its verdict.

    Args:
        scorecard: the check's scorecard (one row per claim).
        thresholds: ``supported`` and ``not_supported`` probabilities.
    """
    rows = scorecard.iloc[::-1]
    figure = new_figure(7.5, 0.45 * len(rows) + 1.6)
    ax = figure.subplots()
    y = np.arange(len(rows))
    probability = rows["probability"].to_numpy(dtype=float)
    low = probability - rows["low"].to_numpy(dtype=float)
    high = rows["high"].to_numpy(dtype=float) - probability
    colours = [VERDICT_COLOURS.get(v, "#a0a0a0") for v in rows["verdict"]]
    ax.errorbar(
        probability, y, xerr=np.vstack([low, high]), fmt="none", ecolor="0.5", capsize=3, lw=1
    )
    ax.scatter(probability, y, c=colours, s=60, zorder=3)
    for value, label in (
        (thresholds["supported"], "supported"),
        (thresholds["not_supported"], "not supported"),
    ):
        ax.axvline(value, color=VERDICT_COLOURS[label], lw=0.8, ls="--")
    ax.set_yticks(y, [f"{c}  {v}" for c, v in zip(rows["claim"], rows["verdict"], strict=True)])
    ax.set_xlim(-0.02, 1.02)
    ax.set_xlabel("probability the claim holds (share of replicates, 95% Wilson interval)")
    ax.set_title("The article's claims: scorecard", fontsize=10, loc="left")
    ax.grid(axis="x", alpha=0.3)
    return figure


def claim_chart(replicates: pd.DataFrame, claim: str, label: str, statement: str) -> Figure:
    """One claim's key value in every replicate; filled dots where the claim held.

    Args:
        replicates: the check's per-replicate table.
        claim: the claim's id.
        label: what the key value is.
        statement: the claim, for the title.
    """
    rows = replicates[replicates["claim"] == claim]
    figure = new_figure(7.0, 2.6)
    ax = figure.subplots()
    values = rows["value"].to_numpy(dtype=float)
    held = rows["holds"].map(lambda h: h is True or h == 1).to_numpy(dtype=bool)
    jitter = np.random.default_rng(0).uniform(-0.25, 0.25, len(values))
    ax.scatter(values[held], jitter[held], color="#238b45", s=24, label="holds")
    ax.scatter(
        values[~held],
        jitter[~held],
        facecolors="none",
        edgecolors="#a50f15",
        s=24,
        label="does not hold",
    )
    if len(values) and np.isfinite(values).any():
        ax.axvline(float(np.nanmedian(values)), color="0.4", lw=0.8, ls=":", label="median")
    ax.set_yticks([])
    ax.set_ylim(-0.6, 0.6)
    ax.set_xlabel(label)
    short = statement if len(statement) <= 95 else statement[:92] + "..."
    ax.set_title(f"{claim}: {short}", fontsize=9, loc="left")
    ax.legend(fontsize=7, frameon=False, loc="upper right", ncol=3)
    ax.grid(axis="x", alpha=0.3)
    return figure


SOURCE_COLOURS = {"fitted": "#08519c", "carried": "#6baed6", "lever": "#e6550d"}


def screen_chart(screen: pd.DataFrame, claim: str, top: int = 3) -> Figure:
    """A claim's Morris screen of its probability: mu* bars with their confidence
    intervals, coloured by where the parameter comes from, the ``top`` ones in bold.

    Args:
        screen: the check's screen table (one row per (claim, output, parameter)).
        claim: the claim's id.
        top: how many parameters to name as what the verdict turns on.
    """
    rows = screen[(screen["claim"] == claim) & (screen["output"] == "probability")]
    rows = rows.sort_values("rank", ascending=False)
    figure = new_figure(7.0, 0.28 * len(rows) + 1.4)
    ax = figure.subplots()
    y = np.arange(len(rows))
    sources = rows["source"] if "source" in rows else pd.Series("lever", index=rows.index)
    ax.barh(
        y,
        rows["mu_star"].to_numpy(dtype=float),
        xerr=rows["mu_star_conf"].to_numpy(dtype=float),
        color=[SOURCE_COLOURS.get(s, "#a0a0a0") for s in sources],
        ecolor="0.5",
        capsize=2,
    )
    ax.set_yticks(y, list(rows["parameter"]), fontsize=7)
    for label, rank in zip(ax.get_yticklabels(), rows["rank"], strict=True):
        label.set_fontweight("bold" if rank <= top else "normal")
    names = {"fitted": "prior, fitted", "carried": "prior, carried", "lever": "the claim's lever"}
    handles = [Patch(color=SOURCE_COLOURS[s], label=names[s]) for s in SOURCE_COLOURS]
    ax.legend(handles=handles, fontsize=7, frameon=False, loc="lower right")
    ax.set_xlim(left=0.0)
    ax.set_xlabel("mu* on the probability the claim holds (mean |elementary effect|)")
    ax.set_title(f"{claim}: what the verdict turns on (Morris)", fontsize=10, loc="left")
    ax.grid(axis="x", alpha=0.3)
    return figure


def save_claims_plots(
    tables: Mapping[str, pd.DataFrame], thresholds: Mapping[str, float], folder: Path
) -> dict[str, Path]:
    """The scorecard and every claim's chart as PNGs; returns the paths by name
    (``scorecard``, then the claim ids)."""
    scorecard = tables["scorecard"]
    makers = {"scorecard": lambda: scorecard_chart(scorecard, thresholds)}
    for row in scorecard.itertuples():
        makers[f"claim-{row.claim}"] = lambda row=row: claim_chart(
            tables["replicates"], row.claim, row.value_label, row.statement
        )
    if "screen" in tables and len(tables["screen"]):
        screen = tables["screen"]
        for claim in dict.fromkeys(screen["claim"]):
            makers[f"screen-{claim}"] = lambda claim=claim: screen_chart(screen, claim)
    paths = save_figures(makers, folder)
    return dict(zip(makers, paths, strict=True))
