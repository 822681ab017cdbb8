"""report.html: the same report as summary.md, as one self-contained page, beside every
summary; and summaries that do not average "never crossed" into a month."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim import api, html, reports
from sim.plots.style import new_figure, save_figure

IMAGE = re.compile(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"')


def small_png(path: Path) -> Path:
    figure = new_figure(2, 1)
    figure.subplots().plot([0, 1], [1, 0])
    return save_figure(figure, path)


def test_the_page_embeds_its_plots_and_tables(tmp_path: Path) -> None:
    (tmp_path / "plots").mkdir()
    png = small_png(tmp_path / "plots" / "kill_line.png")
    table = pd.DataFrame({"firm": ["kimi <b>"], "share": [0.123]})
    document = reports.Document(
        "A <run>",
        {"scenario": "`sprint_race`"},
        [
            reports.Section("Key outcomes", "some **text**", table, {"share": "{:.1%}"}),
            reports.Section("Plots", images=[Path("plots/kill_line.png")]),
        ],
    )
    page = html.to_html(document, tmp_path)
    assert page.startswith("<!DOCTYPE html>") and "<title>A &lt;run&gt;</title>" in page
    assert "<code>sprint_race</code>" in page and "<strong>text</strong>" in page
    assert "<td>kimi &lt;b&gt;</td><td>12.3%</td>" in page
    embedded = IMAGE.findall(page)
    assert [base64.b64decode(data) for data in embedded] == [png.read_bytes()]
    # self-contained: nothing is fetched from anywhere
    assert not re.search(r'(src|href)="(?!data:)', page)


def test_a_missing_plot_is_named_not_broken(tmp_path: Path) -> None:
    document = reports.Document("T", {}, [reports.Section("Plots", images=[Path("plots/x.png")])])
    page = html.to_html(document, tmp_path)
    assert "missing plot: plots/x.png" in page and "<img" not in page


def test_every_run_folder_has_a_report_beside_its_summary(tmp_path: Path, sprint_race) -> None:
    result = api.run(sprint_race, seed=3, months=3)
    folder = api.save(result, tmp_path)
    page = (folder / "report.html").read_text(encoding="utf-8")
    summary = (folder / "summary.md").read_text(encoding="utf-8")
    plots = sorted((folder / "plots").glob("*.png"))
    assert len(IMAGE.findall(page)) == len(plots) > 0
    assert "Key outcomes" in page and "## Key outcomes" in summary
    # both give the simulation's wall time and the whole wall time, which is no shorter
    times = {}
    for label in (reports.SIMULATION_TIME, reports.WHOLE_TIME):
        found = re.search(rf"\*\*{re.escape(label)}\*\*: ([0-9.]+)", summary)
        assert found, label
        times[label] = float(found.group(1))
        assert html.inline(label) in page
    assert times[reports.WHOLE_TIME] >= times[reports.SIMULATION_TIME]


def test_report_of_a_folder_without_the_writer_hook_has_no_page(tmp_path: Path, sprint_race):
    """Cut the hook (sim.folder writes summary.md alone): no report.html; so the test above
    checks the hook and not a file left behind."""
    from sim import folder as writer

    original = writer._write_summary
    try:
        writer._write_summary = lambda folder, document: (folder / "summary.md").write_text(
            str(document)
        )
        saved = api.save(api.run(sprint_race, seed=3, months=2), tmp_path, plots=False)
    finally:
        writer._write_summary = original
    assert (saved / "summary.md").is_file() and not (saved / "report.html").exists()


def crossing_tables(months: list[float], horizon: int = 12) -> dict[str, pd.DataFrame]:
    outcomes = pd.DataFrame({"replicate": range(len(months)), "x_crossing_month": months})
    values = outcomes["x_crossing_month"]
    summary = pd.DataFrame(
        {
            "outcome": ["x_crossing_month"],
            "mean": [values.mean()],
            "sd": [values.std()],
            "p5": [values.quantile(0.05)],
            "p50": [values.median()],
            "p95": [values.quantile(0.95)],
        }
    )
    firms = pd.DataFrame({"month": [0, horizon]})
    return {"outcome_summary": summary, "outcomes": outcomes, "firms": firms}


def test_first_crossing_month_is_not_averaged_with_never() -> None:
    horizon = 12
    # two replicates crossed (months 3 and 5), two never did (horizon + 1)
    tables = crossing_tables([3, 5, horizon + 1, horizon + 1], horizon)
    row = reports.outcome_rows(tables).iloc[0]
    assert row["mean"] == pytest.approx(4.0) and row["never"] == "50%"
    # the pooled mean would read as a crossing at month 8.5: later than any real one
    assert tables["outcome_summary"]["mean"].iloc[0] == pytest.approx(8.5)
    # without the per-replicate outcomes there is nothing to split: shown as it is
    shown = reports.outcome_rows({"outcome_summary": tables["outcome_summary"]}).iloc[0]
    assert shown["never"] == "-" and shown["mean"] == pytest.approx(8.5)
    # no replicate crossed: no month, 100% never
    row = reports.outcome_rows(crossing_tables([13.0, 13.0], horizon)).iloc[0]
    assert np.isnan(row["mean"]) and row["never"] == "100%"
    assert reports.number(row["mean"]) == "-"
