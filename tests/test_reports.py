"""Tests for sim/reports.py: the markdown helper, the document renderer and the summaries."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sim import reports
from tests.test_plots import make_tables


def test_markdown_table_formats_columns() -> None:
    table = pd.DataFrame({"firm": ["a", "b"], "share": [0.1234, 0.5], "n": [1, 2]})
    text = reports.markdown_table(table, {"share": "{:.1%}", "n": lambda v: f"#{v}"})
    assert text.splitlines() == [
        "| firm | share | n |",
        "|---|---|---|",
        "| a | 12.3% | #1 |",
        "| b | 50.0% | #2 |",
    ]


def test_document_renders_facts_sections_and_images() -> None:
    document = reports.Document(
        "Title",
        {"seed": 7},
        [
            reports.Section("Numbers", "Some text.", pd.DataFrame({"x": [1]})),
            reports.Section("Plots", images=[Path("plots/a.png")]),
        ],
    )
    assert reports.to_markdown(document) == (
        "# Title\n\n- **seed**: 7\n\n## Numbers\n\nSome text.\n\n| x |\n|---|\n| 1 |\n\n"
        "## Plots\n\n![a](plots/a.png)\n"
    )


def test_run_summary_and_outcomes() -> None:
    tables = make_tables(np.random.default_rng(7))
    tables["firms"]["mau_m"] = tables["firms"]["users_m"]
    tables["market"]["adopters_m"] = 500.0
    outcomes = reports.outcome_table(tables["firms"], tables["events"])
    assert outcomes["firm"].tolist()[-2:] == ["indie", "niche"]  # tier order
    indie = outcomes.set_index("firm").loc["indie"]
    assert (indie["crossed_kill_line"], indie["exit"], indie["status"]) == (
        "2026-02",
        "2026-03",
        "closed",
    )
    text = str(reports.run_summary("A run", tables, {"seed": 7}, [Path("/x/plots/kill_line.png")]))
    assert text.startswith("# A run\n\n- **seed**: 7\n\n## Key outcomes\n")
    assert "| HHI |" in text and "| giant share |" in text
    assert text.endswith("## Plots\n\n![kill_line](plots/kill_line.png)\n")
    assert "indie" in reports.format_outcomes(outcomes)


def test_ensemble_sweep_and_sensitivity_summaries() -> None:
    tiers = pd.DataFrame(
        {"tier": ["giant"], "firms": [3], "survival": [0.5], "low": [0.25], "high": [0.75]}
    ).assign(crossed=0.1)
    firms = pd.DataFrame(
        {"name": ["A"], "tier": ["giant"], "median_exit_month": [np.nan], "median_share_end": [0.3]}
    ).assign(p_crossed=0.1, p_acquired=0.0, p_pivoted=0.2, p_closed=0.0, p_in_market=0.8)
    outcomes = pd.DataFrame({"outcome": ["hhi_end"], "mean": [0.2], "sd": [0.01]}).assign(
        p5=0.19, p50=0.2, p95=0.21
    )
    text = str(
        reports.ensemble_summary(
            "T", {"tier_survival": tiers, "firm_summary": firms, "outcome_summary": outcomes}, {}
        )
    )
    assert text.startswith("# Ensemble: T\n")
    assert "| giant | 3 | 50.0% | 25.0% - 75.0% | 10.0% |" in text
    assert "| A | giant | 10% | 0% | 20% | 0% | 80% | - | 30.0% |" in text
    assert "| hhi_end | 0.200 | 0.010 | 0.190 | 0.200 | 0.210 |" in text

    means = pd.DataFrame(
        {"point": [0, 0], "x": [1, 1], "outcome": ["b", "a"], "mean": [1.0, 2.0]}
    ).assign(ci_low=[np.nan, 1.5], ci_high=[np.nan, 2.5])
    text = str(reports.sweep_summary("T", means, ["x"], {}, outcomes=["a", "b"]))
    assert "| point | x | a | b |" in text and "| 0 | 1 | 2.000 (1.500 - 2.500) | 1.000 |" in text

    indices = pd.DataFrame(
        {"outcome": ["o"], "parameter": ["p.q"], "rank": [1], "mu_star": [0.5], "note": [""]}
    )
    text = str(reports.sensitivity_summary("T", "morris", indices, ["mu_star"], {}, ["c.png"]))
    assert "## o\n\n| rank | parameter | mu_star |" in text and "| 1 | `p.q` | 0.5000 |" in text
    assert text.endswith("## Charts\n\n![c](plots/c.png)\n")
