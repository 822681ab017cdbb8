"""The report of a claims check: ``report.md`` in the check's folder, with its charts, and
``report.html``, the same report as one self-contained page (sim/html.py).

Written by sim/folder.py's atomic writer (the ``claims`` kind): beside the tables it holds
``claims.toml`` (the pre-registered claims exactly as checked), ``plots/scorecard.png``,
``plots/claim-<id>.png`` (and ``plots/screen-<id>.png`` when screened) and ``report.md``:
the scorecard, then per claim its statement, how it was checked, the probability that it
holds with a 95% Wilson interval, the verdict, the plot behind it and, when screened, what
the verdict turns on. The log of changes made to the model after the first check is read
from the ``## Log`` section of docs/claims.md.

:func:`rebuild` redraws a report from a check's folder alone (its Parquet tables and
manifest), as the notebook does.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from sim.claims.spec import CLAIMS_FILE
from sim.html import markdown_page
from sim.schema import PROJECT_ROOT

LOG_FILE = PROJECT_ROOT / "docs" / "claims.md"
LOG_HEADING = "## Log"
CLAIMS_TABLES = ("scorecard", "replicates", "measures", "parameters", "screen", "flips")


def log_text(path: Path = LOG_FILE) -> str:
    """The ``## Log`` section of docs/claims.md (empty when there is none)."""
    if not path.is_file():
        return ""
    text = path.read_text(encoding="utf-8")
    _, found, rest = text.partition(f"\n{LOG_HEADING}\n")
    if not found:
        return ""
    body, _, _ = rest.partition("\n## ")
    return body.strip()


def _percent(value: float) -> str:
    return "n/a" if value != value else f"{value:.0%}"


def _number(value: float) -> str:
    return "n/a" if value != value else f"{value:.3g}"


def render(
    tables: Mapping[str, pd.DataFrame],
    facts: Mapping[str, Any],
    plots: Mapping[str, Path] | None = None,
    log: str = "",
) -> str:
    """The report's markdown from a check's tables and facts (``plots``: chart paths by
    name, relative to the folder)."""
    card = tables["scorecard"]
    plots = plots or {}
    size = facts.get("size", {})
    lines = [
        "# The article's claims: scorecard",
        "",
        f"Measured on this model, {facts.get('replicates', '?')} paired replicates per claim "
        f"({size.get('run.users', '?'):,} simulated users, {size.get('run.months', '?')} months, "
        f"ensemble seed {size.get('run.seed', '?')}); {facts.get('distinct_runs', '?')} distinct "
        f"runs, {facts.get('runs', '?')} model runs on {facts.get('executor', '?')} "
        f"x{facts.get('workers', '?')} in {facts.get('wall_seconds', float('nan')):.0f} s.",
        "",
        "A claim's probability is the share of replicates in which it holds (replicates that "
        "cannot decide it are left out), with a 95% Wilson interval. Verdict: supported at "
        f"{facts.get('verdicts', {}).get('supported', 0.8):.0%} or more, not supported at "
        f"{facts.get('verdicts', {}).get('not_supported', 0.2):.0%} or less, mixed between "
        "(seeds/claims.toml, written before the first check). A claim that fails is a finding "
        "about the model, not a reason to change it.",
        "",
    ]
    if "scorecard" in plots:
        lines += [f"![scorecard]({plots['scorecard']})", ""]
    lines += [
        "| claim | probability | 95% interval | verdict | decided / replicates | median value |",
        "|---|---|---|---|---|---|",
    ]
    for row in card.itertuples():
        lines.append(
            f"| {row.claim} | {_percent(row.probability)} | {_percent(row.low)} - "
            f"{_percent(row.high)} | {row.verdict} | {row.decided} / {row.replicates} | "
            f"{_number(row.value_median)} ({row.value_label}) |"
        )
    lines.append("")
    screen = tables.get("screen")
    flips = tables.get("flips")
    if screen is not None and "screen" in facts:
        lines += _how_screened(card, screen, flips, facts["screen"])
    for row in card.itertuples():
        lines += [
            f"## {row.claim}: {row.verdict}",
            "",
            f"> {row.statement}",
            "",
            f"- Runs compared (same seeds): {row.runs}.",
            f"- Holds in {row.holds} of {row.decided} decided replicates: probability "
            f"{_percent(row.probability)} (95% {_percent(row.low)} - {_percent(row.high)}).",
            f"- Median key value: {_number(row.value_median)} ({row.value_label}).",
        ]
        lines += _turns_on(row.claim, screen, flips)
        lines.append("")
        for name in (f"claim-{row.claim}", f"screen-{row.claim}"):
            if name in plots:
                lines += [f"![{name}]({plots[name]})", ""]
    lines += [
        *_parameters_section(facts.get("posterior")),
        "## Log of changes to the model after the first check",
        "",
        log or "Nothing has been changed.",
        "",
    ]
    return "\n".join(lines)


def _parameters_section(posterior: Mapping[str, Any] | None) -> list[str]:
    """Where the parameters came from: the scenarios' values, or a posterior's draws."""
    lines = ["## Parameters", ""]
    if not posterior:
        return [
            *lines,
            "Checked at the scenarios' parameter values: the intervals hold the seeds' luck "
            "only. `killline check --posterior FILE` draws each replicate's parameters from "
            "a calibration posterior instead.",
            "",
        ]
    meta = posterior.get("meta", {})
    drawn = [*posterior.get("fitted", []), *posterior.get("carried", [])]
    fixed = posterior.get("fixed", [])
    return [
        *lines,
        f"`--posterior {posterior.get('path')}` (SHA-256 {str(posterior.get('sha256'))[:12]}, "
        f"{posterior.get('particles')} particles, ESS {posterior.get('ess')}; "
        f"{meta.get('library', 'library not recorded')}, {meta.get('date', 'undated')}): "
        "replicate i of every run, and so every role of a claim, takes the posterior's draw "
        f"for replicate i of {', '.join(f'`{k}`' for k in drawn)}; a key a run sets itself "
        "keeps its value. The parameters each run used are in `parameters.parquet`."
        + (f" Left at a run's value somewhere: {', '.join(fixed)}." if fixed else ""),
        "",
    ]


TOP_PARAMETERS = 3


def _top(screen: pd.DataFrame, claim: str, output: str) -> pd.DataFrame:
    """The parameters that move the output, by rank (all of them when none does)."""
    rows = screen[(screen["claim"] == claim) & (screen["output"] == output)]
    moving = rows[rows["mu_star"] > 0]
    return (moving if len(moving) else rows).sort_values("rank")


def _ranked(rows: pd.DataFrame, digits: str) -> str:
    if len(rows) and "note" in rows and rows["note"].iloc[0]:
        return f"no effect ({rows['note'].iloc[0]})"
    top = rows.head(TOP_PARAMETERS)
    text = ", ".join(f"{r.parameter} (mu* {r.mu_star:{digits}})" for r in top.itertuples())
    tied = (
        int((rows["mu_star"].iloc[len(top) :] == top["mu_star"].iloc[-1]).sum()) if len(top) else 0
    )
    return text + (f" and {tied} more tied" if tied else "")


def _box_line(flip: Any) -> str:
    return (
        f"{flip.verdict_inside} inside {flip.box} (probability {_percent(flip.probability_inside)}"
        f"; coverage {flip.coverage:.2f}, density {flip.density:.2f}, support "
        f"{flip.support:.2f}, quasi-p {flip.p_value:.2g}), {flip.verdict_outside} outside "
        f"({_percent(flip.probability_outside)})"
    )


def _turns_on(claim: str, screen: pd.DataFrame | None, flips: pd.DataFrame | None) -> list[str]:
    """A claim's lines of what its verdict turns on: the top parameters and its boxes."""
    lines = []
    if screen is not None and len(screen):
        top = _top(screen, claim, "probability")
        if len(top):
            lines.append(f"- Turns on (Morris mu* on the probability): {_ranked(top, '.2f')}.")
        top = _top(screen, claim, "value")
        if len(top):
            lines.append(f"- The key value turns on: {_ranked(top, '.3g')}.")
    if flips is not None and len(flips):
        for flip in flips[flips["claim"] == claim].itertuples():
            if flip.box:
                lines.append(f"- Verdict flips (PRIM box): {_box_line(flip)}.")
            else:
                lines.append(
                    f"- Verdict flips: no PRIM box; over the whole screen {flip.verdict_inside}"
                    f" ({_percent(flip.probability_inside)})."
                )
    return lines


def _how_screened(
    card: pd.DataFrame, screen: pd.DataFrame, flips: pd.DataFrame | None, sf: Mapping[str, Any]
) -> list[str]:
    """The screens' summary table and how they were run."""
    lines = [
        "## What each verdict turns on",
        "",
        "| claim | verdict | over the screen | top parameters (mu* on the probability) "
        "| where the verdict flips |",
        "|---|---|---|---|---|",
    ]
    for row in card.itertuples():
        boxes, overall = "none", float("nan")
        if flips is not None and len(flips):
            mine = flips[(flips["claim"] == row.claim) & (flips["box"] != "")]
            if "probability_screen" in flips:
                found = flips.loc[flips["claim"] == row.claim, "probability_screen"]
                overall = float(found.iloc[0]) if len(found) else overall
            if len(mine):
                boxes = "; ".join(
                    f"{f.verdict_inside} in {f.box} ({_percent(f.probability_inside)})"
                    for f in mine.itertuples()
                )
        top = _ranked(_top(screen, row.claim, "probability"), ".2f")
        lines.append(f"| {row.claim} | {row.verdict} | {_percent(overall)} | {top} | {boxes} |")
    prim = sf.get("prim", {})
    parameters = sf.get("parameters", {})
    counts = sorted(set(parameters.values())) or ["?"]
    span = f"{counts[0]}" if len(counts) == 1 else f"{counts[0]}-{counts[-1]}"
    lines += [
        "",
        "### How the screens were run",
        "",
        "Each claim's Morris screen varies every prior of seeds/priors.toml (fitted and "
        "carried, uniform on its range or its logarithm) and the claim's own levers "
        f"(seeds/claims.toml), {span} parameters: {sf.get('trajectories')} trajectories on "
        f"{sf.get('levels')} levels, "
        f"{sf.get('replicates')} seeds per point, {sf.get('points', '?')} points in all, the "
        f"check's size; {sf.get('runs')} runs in {sf.get('run_seconds', float('nan')):.0f} s. "
        "Over the screen: the share of the screen's (point, seed) runs in which the claim "
        "holds, the parameters drawn across their ranges. "
        "At this size mu* ranks parameters; it does not measure their effects. Where a "
        "verdict flips: PRIM (sim/experiments/prim.py) over the (point, seed) rows, a box "
        "where the claim holds at the supported threshold's density or fails at the not "
        "supported one's, reported when the verdict inside differs from outside "
        f"(peel alpha {prim.get('peel_alpha', '?')}, minimum support "
        f"{prim.get('min_support', '?')}, at most {prim.get('max_dimensions', '?')} "
        f"parameters, quasi-p-values at most {prim.get('max_p_value', '?')}).",
        "",
    ]
    return lines


def write_report(result: Any, folder: Path, plots: bool) -> None:
    """Write a check's ``claims.toml``, charts and ``report.md`` into ``folder``."""
    spec_path = Path(result.facts.get("claims_file", CLAIMS_FILE))
    if spec_path.is_file():
        shutil.copyfile(spec_path, folder / "claims.toml")
    saved: dict[str, Path] = {}
    thresholds = result.facts.get("verdicts", {"supported": 0.8, "not_supported": 0.2})
    if plots:
        from sim.plots.claims import save_claims_plots

        saved = save_claims_plots(result.tables, thresholds, folder / "plots")
    relative = {name: path.relative_to(folder) for name, path in saved.items()}
    text = render(result.tables, result.facts, relative, log_text())
    (folder / "report.md").write_text(text, encoding="utf-8")
    (folder / "report.html").write_text(markdown_page(text, folder), encoding="utf-8")


def read_check(folder: str | Path) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """A check's tables and facts (its manifest), read back from its folder."""
    folder = Path(folder)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    tables = {
        name: pd.read_parquet(folder / f"{name}.parquet")
        for name in CLAIMS_TABLES
        if (folder / f"{name}.parquet").is_file()
    }
    return tables, manifest


def rebuild(folder: str | Path, out: str | Path | None = None) -> str:
    """Redraw a check's scorecard and report from its folder alone; returns the markdown
    (and writes the charts into ``out``/plots when ``out`` is given; else the report links
    the charts the folder holds)."""
    folder = Path(folder)
    tables, facts = read_check(folder)
    plots = {path.stem: path.relative_to(folder) for path in sorted(folder.glob("plots/*.png"))}
    if out is not None:
        from sim.plots.claims import save_claims_plots

        thresholds = facts.get("verdicts", {"supported": 0.8, "not_supported": 0.2})
        saved = save_claims_plots(tables, thresholds, Path(out) / "plots")
        plots = {name: path.relative_to(out) for name, path in saved.items()}
    return render(tables, facts, plots, log_text())
