"""Key outcomes of a run: who survives, who crossed the kill line and when, who gained.

``outcome_table`` condenses the firm table into one row per firm; ``summary_markdown``
turns it (and the market's concentration) into the run's ``summary.md``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import pandas as pd

from sim.schema import TIERS

EXIT_STATUSES = ("acquired", "pivoted", "closed")


def outcome_table(firms: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    """One row per firm: start and final share, status, when it crossed the kill line and
    how it left.

    Args:
        firms: the run's firm table.
        events: the run's event table.
    """
    first = firms[firms["month"] == firms["month"].min()].set_index("firm")
    last = firms[firms["month"] == firms["month"].max()].set_index("firm")
    crossed = events[events["kind"] == "crossed_kill_line"].groupby("firm")["date"].first()
    exits = events[events["kind"].isin(EXIT_STATUSES)].groupby("firm")["date"].first()
    lowest = firms.groupby("firm")["distance_to_kill_line"].min()
    table = pd.DataFrame(
        {
            "name": first["name"],
            "tier": first["tier"],
            "mau_start_m": first["mau_m"],
            "share_start": first["share"],
            "share_end": last["share"],
            "capital_end_bn": last["capital_bn"],
            "status": last["status"],
            "crossed_kill_line": crossed.reindex(first.index).fillna(""),
            "exit": exits.reindex(first.index).fillna(""),
            "acquirer": last["acquirer"],
            "min_distance": lowest.reindex(first.index),
        }
    )
    order = {tier: i for i, tier in enumerate(TIERS)}
    table = table.assign(_tier=table["tier"].map(order)).sort_values(
        ["_tier", "share_start"], ascending=[True, False]
    )
    return table.drop(columns="_tier").reset_index()


def format_outcomes(table: pd.DataFrame) -> str:
    """The outcome table as aligned text for a terminal."""
    shown = table[
        ["firm", "tier", "share_start", "share_end", "status", "crossed_kill_line", "exit"]
    ].copy()
    shown["share_start"] = (100 * shown["share_start"]).map("{:.1f}%".format)
    shown["share_end"] = (100 * shown["share_end"]).map("{:.1f}%".format)
    shown = shown.rename(
        columns={"crossed_kill_line": "crossed", "share_start": "share0", "share_end": "share_end"}
    )
    return shown.to_string(index=False)


def summary_markdown(
    title: str,
    tables: Mapping[str, pd.DataFrame],
    plots: Iterable[Path],
    facts: Mapping[str, object],
) -> str:
    """The run's summary.md: facts, key outcomes, concentration, then the plots inline."""
    outcomes = outcome_table(tables["firms"], tables["events"])
    market = tables["market"]
    lines = [f"# {title}", ""]
    lines += [f"- **{key}**: {value}" for key, value in facts.items()]
    lines += ["", "## Key outcomes", "", _markdown_table(outcomes), ""]
    start, end = market.iloc[0], market.iloc[-1]
    lines += [
        "## Concentration",
        "",
        "| | start | end |",
        "|---|---|---|",
        f"| HHI | {start['hhi']:.3f} | {end['hhi']:.3f} |",
        f"| top-3 share | {start['top3_share']:.1%} | {end['top3_share']:.1%} |",
        *(
            f"| {tier} share | {start[f'share_{tier}']:.1%} | {end[f'share_{tier}']:.1%} |"
            for tier in TIERS
        ),
        f"| users with an assistant (M) | {start['adopters_m']:.0f} | {end['adopters_m']:.0f} |",
        "",
        "## Plots",
        "",
    ]
    lines += [f"![{path.stem}](plots/{path.name})" for path in plots]
    return "\n".join(lines) + "\n"


def _markdown_table(table: pd.DataFrame) -> str:
    shown = table.copy()
    for column in ("share_start", "share_end"):
        shown[column] = (100 * shown[column]).map("{:.1f}%".format)
    for column in ("mau_start_m", "capital_end_bn", "min_distance"):
        shown[column] = shown[column].map("{:.2f}".format)
    header = "| " + " | ".join(shown.columns) + " |"
    rule = "|" + "---|" * len(shown.columns)
    rows = ["| " + " | ".join(str(v) for v in row) + " |" for row in shown.itertuples(index=False)]
    return "\n".join([header, rule, *rows])
