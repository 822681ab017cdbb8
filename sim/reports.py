"""Reports: every ``summary.md``, and the console outcome table, from tables and facts.

A report is a small :class:`Document` (a title, facts, then sections of text, tables and
images) rendered by :func:`to_markdown` here and by ``sim.html.to_html`` as a
self-contained ``report.html``. The builders return Documents and read tables (and a
mapping of facts, already worded), never result objects:

    run_summary          one run: key outcomes per firm, concentration, the plots
    ensemble_summary     survival by tier, firms, outcomes over the replicates, the plots
    sweep_summary        the mean of each outcome at each point of the grid
    sensitivity_summary  per outcome, the parameters ranked by their indices

``run_facts``, ``ensemble_facts``, ``sweep_facts`` and ``sensitivity_facts`` word the facts
that head each summary. ``cell`` formats one table value for any renderer;
``markdown_table`` is the one markdown-table helper;
``outcome_table`` condenses a run into one row per firm (from sim/fates.py) and
``format_outcomes`` prints it for a terminal.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.fates import fates, order_by_tier
from sim.schema import TIERS

if TYPE_CHECKING:
    import pandas as pd

    from sim.scenario import Scenario

Format = str | Callable[[Any], str]
# The fact giving the simulation's wall time; the writer (sim/html.py) adds the whole
# wall time, with the tables, plots and reports, beside it.
SIMULATION_TIME = "simulation wall time (s)"
WHOLE_TIME = "whole wall time (s)"


# ---------------------------------------------------------------------------- documents


@dataclass
class Section:
    """A heading, an optional paragraph, an optional table and images (paths relative to
    the report's folder, e.g. ``plots/market_share.png``)."""

    title: str
    text: str = ""
    table: pd.DataFrame | None = None
    formats: Mapping[str, Format] = field(default_factory=dict)
    images: Sequence[Path] = ()


@dataclass
class Document:
    """A report: a title, facts (label -> worded value), then sections.

    The fact :data:`SIMULATION_TIME`, when present, is the simulation's wall time; the
    writer (sim/html.py) adds :data:`WHOLE_TIME` beside it.
    """

    title: str
    facts: Mapping[str, object]
    sections: list[Section]

    def __str__(self) -> str:
        return to_markdown(self)


def cell(formats: Mapping[str, Format], column: str, value: Any) -> str:
    """One table value as text, formatted as ``formats`` asks for its column (a format
    string such as ``"{:.1%}"`` or a function); other columns with ``str``."""
    shape = formats.get(column)
    if shape is None:
        return str(value)
    return shape(value) if callable(shape) else shape.format(value)


def markdown_table(table: pd.DataFrame, formats: Mapping[str, Format] | None = None) -> str:
    """A table as GitHub markdown, each column's values formatted as asked.

    Args:
        table: any table; its column names are the header.
        formats: column -> a format string (``"{:.1%}"``) or a function of the value;
            other columns are written with ``str``.
    """
    formats = formats or {}
    columns = [str(column) for column in table.columns]
    header = "| " + " | ".join(columns) + " |"
    rule = "|" + "---|" * len(columns)
    rows = [
        "| " + " | ".join(cell(formats, c, v) for c, v in zip(columns, row, strict=True)) + " |"
        for row in table.itertuples(index=False)
    ]
    return "\n".join([header, rule, *rows])


def to_markdown(document: Document) -> str:
    """The document as markdown: ``# title``, facts as a bullet list, then each section."""
    lines = [f"# {document.title}", ""]
    lines += [f"- **{key}**: {value}" for key, value in document.facts.items()]
    for section in document.sections:
        lines += ["", f"## {section.title}", ""]
        if section.text:
            lines += [section.text, ""]
        if section.table is not None:
            lines += [markdown_table(section.table, section.formats), ""]
        lines += [f"![{Path(path).stem}]({Path(path).as_posix()})" for path in section.images]
        if lines[-1] == "":
            lines.pop()
    return "\n".join(lines) + "\n"


def _plots(plots: Iterable[Path], title: str = "Plots") -> list[Section]:
    """A section of the plots (written in ``plots/``), or none."""
    images = [Path("plots") / Path(path).name for path in plots]
    return [Section(title, images=images)] if images else []


# ---------------------------------------------------------------------------- one run


def outcome_table(firms: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    """One row per firm: start and final share, status, when it crossed the kill line and
    how it left (``crossed_kill_line`` and ``exit`` are ``YYYY-MM`` or empty); tiers in
    order, the largest firm at the start first.

    Args:
        firms: the run's firm table.
        events: the run's event table.
    """
    import pandas as pd

    first = firms[firms["month"] == firms["month"].min()].set_index("firm")
    fate = fates(firms, events).set_index("firm").reindex(first.index)
    table = pd.DataFrame(
        {
            "name": first["name"],
            "tier": first["tier"],
            "mau_start_m": first["mau_m"],
            "share_start": first["share"],
            "share_end": fate["share_end"],
            "capital_end_bn": fate["capital_end_bn"],
            "status": fate["status_end"],
            "crossed_kill_line": fate["crossed_date"],
            "exit": fate["exit_date"],
            "acquirer": fate["acquirer"],
            "min_distance": firms.groupby("firm")["distance_to_kill_line"].min(),
        }
    )
    return order_by_tier(table, "share_start", ascending=False).reset_index()


def format_outcomes(table: pd.DataFrame) -> str:
    """The outcome table as aligned text for a terminal."""
    shown = table[
        ["firm", "tier", "share_start", "share_end", "status", "crossed_kill_line", "exit"]
    ].copy()
    for column in ("share_start", "share_end"):
        shown[column] = (100 * shown[column]).map("{:.1f}%".format)
    shown = shown.rename(columns={"crossed_kill_line": "crossed", "share_start": "share0"})
    return shown.to_string(index=False)


def run_summary(
    title: str,
    tables: Mapping[str, pd.DataFrame],
    facts: Mapping[str, object],
    plots: Iterable[Path] = (),
) -> Document:
    """A run's summary.md: facts, key outcomes, concentration, then the plots inline.

    Args:
        title: the scenario's title.
        tables: the run's ``firms``, ``events`` and ``market`` tables.
        facts: label -> worded value (scenario, seed, users, ...), listed first.
        plots: the PNGs written (their names; they live in ``plots/``).
    """
    import pandas as pd

    market = tables["market"]
    start, end = market.iloc[0], market.iloc[-1]
    percent = "{:.1%}".format
    rows = [
        ("HHI", f"{start['hhi']:.3f}", f"{end['hhi']:.3f}"),
        ("top-3 share", percent(start["top3_share"]), percent(end["top3_share"])),
        *(
            (f"{tier} share", percent(start[f"share_{tier}"]), percent(end[f"share_{tier}"]))
            for tier in TIERS
        ),
        ("users with an assistant (M)", f"{start['adopters_m']:.0f}", f"{end['adopters_m']:.0f}"),
    ]
    two = "{:.2f}".format
    outcomes = Section(
        "Key outcomes",
        table=outcome_table(tables["firms"], tables["events"]),
        formats={"share_start": percent, "share_end": percent}
        | dict.fromkeys(("mau_start_m", "capital_end_bn", "min_distance"), two),
    )
    concentration = Section("Concentration", table=pd.DataFrame(rows, columns=["", "start", "end"]))
    sections = [outcomes, concentration, *_plots(plots)]
    return Document(title, facts, sections)


# ---------------------------------------------------------------------------- ensembles


def ensemble_summary(
    title: str,
    tables: Mapping[str, pd.DataFrame],
    facts: Mapping[str, object],
    plots: Iterable[Path] = (),
) -> Document:
    """An ensemble's summary.md: facts, survival by tier, firms, outcomes, plots.

    Args:
        title: the scenario's title.
        tables: ``tier_survival`` (tier, firms, survival, low, high, crossed),
            ``firm_summary`` (name, tier, p_crossed, p_acquired, p_pivoted, p_closed,
            p_in_market, median_exit_month, median_share_end) and ``outcome_summary``
            (outcome, mean, sd, p5, p50, p95).
        facts: label -> worded value (scenario, claims, replicates, executor, ...).
        plots: the PNGs written.
    """
    tiers = tables["tier_survival"]
    tier_table = tiers[["tier", "firms"]].assign(
        **{
            "in market": tiers["survival"].map("{:.1%}".format),
            "95% interval": [
                f"{low:.1%} - {high:.1%}"
                for low, high in zip(tiers["low"], tiers["high"], strict=True)
            ],
            "crossed the kill line": tiers["crossed"].map("{:.1%}".format),
        }
    )
    firms = tables["firm_summary"]
    chance = "{:.0%}".format
    firm_table = firms[["name", "tier"]].rename(columns={"name": "firm"})
    for label, column in (
        ("crossed", "p_crossed"),
        ("acquired", "p_acquired"),
        ("pivoted", "p_pivoted"),
        ("closed", "p_closed"),
        ("in market at end", "p_in_market"),
    ):
        firm_table[label] = firms[column].map(chance)
    firm_table["median exit month"] = firms["median_exit_month"].map(
        lambda month: "-" if math.isnan(month) else f"{month:.0f}"
    )
    firm_table["median share at end"] = firms["median_share_end"].map("{:.1%}".format)
    sections = [
        Section(
            "Survival by tier at the horizon",
            "Share of the tier's firms still in the market at the last month, pooled over "
            "replicates, with a 95% Wilson interval (firms of one replicate share a market, so "
            "the interval is a lower bound on the uncertainty); and the share that crossed the "
            "kill line at some month.",
            tier_table,
        ),
        Section(
            "Firms",
            "Probability over replicates of crossing the kill line and of each way of leaving "
            "the market; median exit month among the replicates in which the firm left.",
            firm_table,
        ),
        Section(
            "Outcomes",
            "Over the replicates. A first-crossing month is taken over the replicates in "
            "which a firm of the tier crossed; 'never' is the share in which none did.",
            table=outcome_rows(tables),
            formats=dict.fromkeys(("mean", "sd", "p5", "p50", "p95"), number),
        ),
        *_plots(plots),
    ]
    return Document(f"Ensemble: {title}", facts, sections)


def number(value: float) -> str:
    """A statistic to three decimals; ``-`` when there is none (NaN)."""
    return "-" if value is None or math.isnan(value) else f"{value:.3f}"


def is_crossing_month(outcome: str) -> bool:
    """Whether an outcome is a first-crossing month (horizon + 1 meaning "never")."""
    return outcome.endswith("_crossing_month")


def outcome_rows(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """The ensemble's outcome table: mean, sd, p5, p50, p95 and ``never``.

    A first-crossing month counts a replicate in which no firm crossed as horizon + 1;
    averaged in, it would read as a late crossing. Its statistics are taken over the
    replicates that crossed, and ``never`` gives the share that did not (``-`` for other
    outcomes). Without the per-replicate ``outcomes`` table the summary is shown as is.
    """
    import pandas as pd

    summary = tables["outcome_summary"][["outcome", "mean", "sd", "p5", "p50", "p95"]]
    raw = tables.get("outcomes")
    firms = tables.get("firms")
    if raw is None or firms is None:
        return summary.assign(never="-")
    horizon = int(firms["month"].max())
    rows = []
    for row in summary.itertuples(index=False):
        values = row._asdict()
        values["never"] = "-"
        if is_crossing_month(row.outcome) and row.outcome in raw:
            months = raw[row.outcome].astype(float)
            crossed = months[months <= horizon]
            values["never"] = f"{1.0 - len(crossed) / max(len(months), 1):.0%}"
            values |= {
                "mean": crossed.mean(),
                "sd": crossed.std(ddof=1) if len(crossed) > 1 else math.nan,
                "p5": crossed.quantile(0.05),
                "p50": crossed.quantile(0.5),
                "p95": crossed.quantile(0.95),
            }
        rows.append(values)
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------- analyses


def sweep_summary(
    title: str,
    means: pd.DataFrame,
    parameters: Sequence[str],
    facts: Mapping[str, object],
    plots: Iterable[Path] = (),
    outcomes: Sequence[str] | None = None,
) -> Document:
    """A sweep's summary.md: facts, then the mean outcome at each point with its 95%
    confidence interval, one column per outcome (in the order of ``outcomes``).

    Args:
        title: the scenario's title.
        means: per (point, outcome): the parameters, ``mean``, ``ci_low``, ``ci_high``.
        parameters: the swept key paths, in grid order.
        facts: label -> worded value (scenario, grid, seeds, executor).
        plots: the PNGs written.
        outcomes: column order (default: as they first appear in ``means``).
    """
    cells = [
        f"{mean:.3f}" if math.isnan(low) else f"{mean:.3f} ({low:.3f} - {high:.3f})"
        for mean, low, high in zip(means["mean"], means["ci_low"], means["ci_high"], strict=True)
    ]
    wide = means.assign(cell=cells).pivot(
        index=["point", *parameters], columns="outcome", values="cell"
    )
    order = outcomes if outcomes is not None else list(dict.fromkeys(means["outcome"]))
    wide = wide[[name for name in order if name in wide.columns]].reset_index()
    crossing = [name for name in wide.columns if is_crossing_month(str(name))]
    note = (
        f"In {', '.join(crossing)} a run in which no firm of the tier crossed the kill line "
        "counts as horizon + 1: a mean near it says most runs never crossed."
        if crossing
        else ""
    )
    sections = [
        Section("Mean outcome at each point (95% confidence interval)", note, table=wide),
        *_plots(plots),
    ]
    return Document(f"Sweep: {title}", facts, sections)


def sensitivity_summary(
    title: str,
    method: str,
    indices: pd.DataFrame,
    columns: Sequence[str],
    facts: Mapping[str, object],
    plots: Iterable[Path] = (),
) -> Document:
    """A sensitivity analysis's summary.md: facts, then per outcome the parameters ranked.

    Args:
        title: the scenario's title.
        method: ``morris`` or ``sobol``.
        indices: per (outcome, parameter): ``rank``, the index columns and a ``note``.
        columns: the index columns to show (e.g. mu_star, mu_star_conf, sigma).
        facts: label -> worded value (scenario, parameters, sample, executor).
        plots: the charts written.
    """
    sections = []
    for outcome, table in indices.groupby("outcome", sort=False):
        note = table["note"].iloc[0]
        shown = table[["rank", "parameter", *columns]].assign(
            parameter=[f"`{name}`" for name in table["parameter"]]
        )
        sections.append(
            Section(
                f"{outcome}" + (f" ({note})" if note else ""),
                table=shown,
                formats=dict.fromkeys(columns, "{:.4f}"),
            )
        )
    sections += _plots(plots, "Charts")
    return Document(f"Sensitivity ({method}): {title}", facts, sections)


# ---------------------------------------------------------------------------- facts


def run_facts(scenario: Scenario, facts: Mapping[str, Any]) -> dict[str, Any]:
    """The facts heading a run's summary, worded."""
    return {
        "scenario": f"`{scenario.name}`",
        "seed": scenario.run.seed,
        "simulated users": f"{scenario.run.users:,}",
        "months": scenario.run.months,
        "claims": ", ".join(scenario.claims) or "none",
        SIMULATION_TIME: f"{facts.get('wall_seconds', 0.0):.2f}",
    }


def ensemble_facts(scenario: Scenario, facts: Mapping[str, Any]) -> dict[str, Any]:
    """The facts heading an ensemble's summary, worded."""
    rate = facts.get("replicates_per_second")
    return {
        "scenario": f"`{scenario.name}` ({scenario.title})",
        "claims": ", ".join(scenario.claims) or "none",
        "replicates": f"{len(facts['seeds'])} (seeds spawned from {scenario.run.seed})",
        "simulated users": f"{scenario.run.users:,}",
        "months": scenario.run.months,
        "executor": f"{facts.get('executor')} ({facts.get('workers')} workers)",
        "throughput": f"{rate:.2f} replicates/s" if rate else "n/a (all replicates resumed)",
        SIMULATION_TIME: f"{facts.get('wall_seconds', 0.0):.2f}",
    }


def sweep_facts(scenario: Scenario, facts: Mapping[str, Any], *, runs: int) -> dict[str, Any]:
    """The facts heading a sweep's summary, worded."""
    return {
        "scenario": f"`{scenario.name}`",
        "grid": f"{facts['points']} points x {facts['replicates']} replicates = {runs} runs "
        f"({scenario.run.users:,} users, {scenario.run.months} months)",
        "seeds": "common random numbers: replicate i uses the same seed at every point "
        f"(spawned from {scenario.run.seed})",
        "executor": f"{facts.get('executor')} ({facts.get('workers')} workers)",
        SIMULATION_TIME: f"{facts.get('run_seconds', 0.0):.2f}",
    }


def sensitivity_facts(scenario: Scenario, facts: Mapping[str, Any]) -> dict[str, Any]:
    """The facts heading a sensitivity analysis's summary, worded."""
    method, problem = facts["method"], facts["problem"]
    bounds = ", ".join(
        f"`{name}` {lo:g}-{hi:g}"
        for name, (lo, hi) in zip(problem["names"], problem["bounds"], strict=True)
    )
    return {
        "scenario": f"`{scenario.name}` ({scenario.run.users:,} users, "
        f"{scenario.run.months} months)",
        "parameters": bounds,
        "sample": f"{facts['sample_points']} points ({facts['samples']} "
        + ("trajectories" if method == "morris" else "base samples")
        + f") x {facts['replicates']} replicates = {facts['runs']} runs; the same seeds at "
        f"every point (common random numbers, spawned from {scenario.run.seed})",
        "executor": f"{facts.get('executor')} ({facts.get('workers')} workers)",
        SIMULATION_TIME: f"{facts.get('run_seconds', 0.0):.2f}",
    }
