"""The 2024-25 backtest as one command: the history ensemble at its scenario's size, and
docs/validation.md's fit table, aims and plot regenerated from it.

    python -m sim.experiments.backtest

runs ``scenarios/history_2024.toml`` (``run.replicates`` replicates of ``run.users``
users) into ``results/history_2024/ensemble-*/``, whose folder holds ``validation.csv``,
``validation_aims.csv`` and ``plots/validation.png`` (sim/validation.py), then rewrites
the block between the markers of docs/validation.md and copies the plot beside it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from sim.experiments.ensemble import run_ensemble
from sim.schema import PROJECT_ROOT

DOC = PROJECT_ROOT / "docs" / "validation.md"
BEGIN, END = "<!-- validation:begin -->", "<!-- validation:end -->"
COMMAND = "python -m sim.experiments.backtest"


def _figure(value: float) -> str:
    if not np.isfinite(value):
        return "-"
    return f"{value:.3g}" if abs(value) < 10 else f"{value:,.0f}"


def _simulated(row: pd.Series) -> str:
    if not np.isfinite(row["simulated"]):
        return "not modelled"
    band = f" [{_figure(row['low'])}-{_figure(row['high'])}]" if row["low"] < row["high"] else ""
    return _figure(row["simulated"]) + band


def render(points: pd.DataFrame, aims: pd.DataFrame, facts: dict[str, object]) -> str:
    """The generated part of docs/validation.md: the fit table and the aims, in markdown."""
    lines = [
        f"Ensemble of {facts['replicates']} replicates at {facts['users']:,} simulated users "
        f"(`{COMMAND}`, {facts['date']}; folder `{facts['folder']}`). Simulated: the median "
        "over replicates [90% band]. Users in millions; ratios and bounds as in "
        "`seeds/observed_2024.toml`.",
        "",
        "![simulated against observed users](validation.png)",
        "",
        "| point | firm | basis | months | observed | simulated | sim / obs | verdict |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for _, row in points.iterrows():
        months = row["start"] if row["start"] == row["end"] else f"{row['start']}..{row['end']}"
        verdict = row["verdict"]
        if np.isfinite(row["share_met"]):
            verdict += f" ({row['share_met']:.0%} of replicates)"
        lines.append(
            f"| {row['id']} | {row['firm']} | {row['basis']} | {months} | "
            f"{_figure(row['observed'])} | {_simulated(row)} | "
            f"{_figure(row['sim_over_observed'])} | {verdict} |"
        )
    lines += ["", "| aim | target | simulated | met (median) | replicates meeting it |"]
    lines.append("|---|---|---|---|---|")
    for _, row in aims.iterrows():
        met = "yes" if row["met"] else "no"
        lines.append(
            f"| {row['aim']} | {row['target']} | {_simulated(row)} | {met} | "
            f"{row['share_met']:.0%} |"
        )
    return "\n".join(lines)


def regenerate_doc(folder: Path, doc: Path = DOC) -> None:
    """Rewrite the generated block of `doc` from an ensemble folder's validation tables and
    copy its plot beside the note."""
    points = pd.read_csv(folder / "validation.csv")
    aims = pd.read_csv(folder / "validation_aims.csv")
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    facts = {
        "replicates": manifest.get("replicates", 1),
        "users": manifest["users"],
        "date": manifest["created_utc"][:10],
        "folder": folder.name,
    }
    text = doc.read_text(encoding="utf-8")
    head, rest = text.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    doc.write_text(f"{head}{BEGIN}\n{render(points, aims, facts)}\n{END}{tail}", encoding="utf-8")
    shutil.copyfile(folder / "plots" / "validation.png", doc.parent / "validation.png")


def main() -> None:
    """Run the history ensemble at its scenario's size into results/ and regenerate
    docs/validation.md's tables and plot from it."""
    result = run_ensemble("history_2024", out="results")
    regenerate_doc(result.folder)


if __name__ == "__main__":
    main()
