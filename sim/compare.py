"""Comparisons: runs or ensembles side by side, with paired differences over shared seeds.

A comparison is a list of :class:`Side`\\ s, each a finished run or ensemble (a scenario run
now, or a results folder read back) under a readable label (scenario and seed, not the run
id). A run is treated as an ensemble of one replicate, so the tables, plots and summaries
below read both alike:

    outcome_table        every outcome per side (a run's value, an ensemble's mean), with
                         the difference of each side from the first
    paired_differences   two ensembles on the same seeds: the mean of the per-seed
                         differences with its 95% Student-t interval
    final_values         a firm metric at the horizon per side (an ensemble's median)
    save_comparison      a folder with the tables, the side-by-side plots
                         (sim/plots/compare.py), summary.md and report.html

A first-crossing month is never averaged with "never" (horizon + 1): its row is the mean
month among the replicates that crossed, and a row ``<outcome>: never`` gives the share of
replicates in which no firm of the tier crossed.

Sides must all be runs or all be ensembles: a run against an ensemble's mean compares a
draw with an average, and sweeps and sensitivity analyses have no single market to compare.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from sim.results import Result
    from sim.scenario import Scenario

# Numeric columns of the firm table (sim/tables.py) a comparison can put side by side.
METRICS = (
    "share",
    "mau_m",
    "users_m",
    "capital_bn",
    "revenue_bn",
    "costs_bn",
    "burn_bn",
    "funding_bn",
    "runway_months",
    "distance_to_kill_line",
    "quality",
    "supply",
    "cost_efficiency",
    "api_share",
    "valuation_bn",
)
KINDS = ("run", "ensemble")
NEVER = ": never"  # suffix of the row giving the share of replicates that never crossed


class CompareError(ValueError):
    """Sides that cannot be compared (a sweep, a mix of runs and ensembles, one side)."""


@dataclass
class Side:
    """One side of a comparison.

    Attributes:
        label: how tables and plots name it (scenario and seed, or replicates).
        kind: ``run`` or ``ensemble``.
        scenario: the scenario as run.
        tables: ``firms``, ``market``, ``events`` with ``replicate`` and ``seed`` columns,
            and ``outcomes``, one row per replicate (``replicate``, ``seed``, outcomes).
    """

    label: str
    kind: str
    scenario: Scenario
    tables: dict[str, pd.DataFrame]

    @property
    def seeds(self) -> list[int]:
        """The model seed of each replicate, in replicate order."""
        return [int(seed) for seed in self.tables["outcomes"]["seed"]]

    @property
    def horizon(self) -> int:
        """The last month."""
        return int(self.tables["firms"]["month"].max())


def side(result: Result, label: str | None = None) -> Side:
    """A run or ensemble result as a side; a run becomes replicate 0 of its seed.

    Raises:
        CompareError: the result is a sweep or a sensitivity analysis.
    """
    import pandas as pd

    from sim.outcomes import compute

    if result.kind not in KINDS:
        raise CompareError(
            f"a {result.kind} cannot be compared: compare takes scenarios, run folders or "
            "ensemble folders"
        )
    scenario = result.scenario
    if result.kind == "run":
        seed = scenario.run.seed
        tables = {
            name: result.tables[name].assign(replicate=0, seed=seed)
            for name in ("firms", "market", "events")
            if name in result.tables
        }
        tables["outcomes"] = pd.DataFrame(
            [{"replicate": 0, "seed": seed, **compute(result.tables)}]
        )
        label = label or f"{scenario.name} seed {seed}"
    else:
        tables = {
            name: result.tables[name]
            for name in ("firms", "market", "events", "outcomes")
            if name in result.tables
        }
        label = label or f"{scenario.name} ({len(tables['outcomes'])} replicates)"
    return Side(label=label, kind=result.kind, scenario=scenario, tables=tables)


def sides(results: Sequence[Result], labels: Sequence[str] | None = None) -> list[Side]:
    """Results as sides with unique labels, checked to be comparable.

    Raises:
        CompareError: fewer than two, a sweep or analysis, or runs mixed with ensembles.
    """
    if len(results) < 2:
        raise CompareError("compare needs at least two scenarios or folders")
    made = [side(result, labels[i] if labels else None) for i, result in enumerate(results)]
    kinds = {made_side.kind for made_side in made}
    if len(kinds) > 1:
        runs = [s.label for s in made if s.kind == "run"]
        ensembles = [s.label for s in made if s.kind == "ensemble"]
        raise CompareError(
            f"cannot compare single runs ({', '.join(runs)}) with ensembles "
            f"({', '.join(ensembles)}): give only scenarios and run folders, or only "
            "ensemble folders"
        )
    if not labels:
        _shorten(made)
    seen: dict[str, int] = {}
    for made_side in made:
        count = seen.get(made_side.label, 0) + 1
        seen[made_side.label] = count
        if count > 1:
            made_side.label = f"{made_side.label} #{count}"
    return made


def _shorten(made: list[Side]) -> None:
    """Labels that say what differs: the scenario when only the scenarios differ, the seed
    (or the replicates) when only those differ, both otherwise."""
    names = {one.scenario.name for one in made}
    sizes = [one.scenario.run.seed if one.kind == "run" else len(one.seeds) for one in made]
    for one, size in zip(made, sizes, strict=True):
        part = f"seed {size}" if one.kind == "run" else f"{size} replicates"
        if len(names) > 1 and len(set(sizes)) == 1:
            one.label = one.scenario.name
        elif len(names) == 1 and len(set(sizes)) > 1:
            one.label = part
        elif one.kind == "run":
            one.label = f"{one.scenario.name} {part}"
        else:
            one.label = f"{one.scenario.name} ({part})"


# ---------------------------------------------------------------------------- tables


def _is_crossing(outcome: str) -> bool:
    return outcome.endswith("_crossing_month")


def outcome_values(one: Side) -> dict[str, float]:
    """Each outcome's value (a run) or mean over replicates (an ensemble); a first-crossing
    month over the replicates that crossed, with ``<outcome>: never`` the share that did
    not."""
    from sim.outcomes import OUTCOMES

    outcomes = one.tables["outcomes"]
    values: dict[str, float] = {}
    for name in OUTCOMES:
        if name not in outcomes:
            continue
        column = outcomes[name].astype(float)
        if _is_crossing(name):
            crossed = column[column <= one.horizon]
            values[name] = float(crossed.mean()) if len(crossed) else math.nan
            values[name + NEVER] = 1.0 - len(crossed) / max(len(column), 1)
        else:
            values[name] = float(column.mean())
    return values


def outcome_table(compared: Sequence[Side]) -> pd.DataFrame:
    """One row per outcome: its value on each side (named by the side's label) and, for
    every side after the first, ``<label> - <first>``."""
    import pandas as pd

    columns = {one.label: outcome_values(one) for one in compared}
    table = pd.DataFrame(columns)
    first = compared[0].label
    for one in compared[1:]:
        table[f"{one.label} - {first}"] = table[one.label] - table[first]
    return table.rename_axis("outcome").reset_index()


def paired_differences(a: Side, b: Side, confidence: float = 0.95) -> pd.DataFrame:
    """Per outcome, ``b - a`` on each shared seed: mean difference with its Student-t
    interval, the number of pairs, and the two means.

    A first-crossing month gives two rows: ``<outcome>: never`` (the difference in the
    share of seeds with no crossing) and the month itself, over the seeds on which both
    sides crossed.

    Raises:
        CompareError: the two sides do not share their seeds (not paired).
    """
    import pandas as pd
    from scipy import stats

    from sim.outcomes import OUTCOMES

    if sorted(a.seeds) != sorted(b.seeds) or len(a.seeds) < 2:
        raise CompareError(
            f"{a.label} and {b.label} are not paired: paired differences need two ensembles "
            "run on the same seeds (at least two)"
        )
    left = a.tables["outcomes"].set_index("seed")
    right = b.tables["outcomes"].set_index("seed").reindex(left.index)
    rows = []

    def row(name: str, x: pd.Series, y: pd.Series) -> None:
        keep = x.notna() & y.notna()
        x, y = x[keep].astype(float), y[keep].astype(float)
        difference = y - x
        n = len(difference)
        mean = float(difference.mean()) if n else math.nan
        half = math.nan
        if n > 1:
            t = float(stats.t.ppf(0.5 + confidence / 2.0, n - 1))
            half = t * float(difference.std(ddof=1)) / math.sqrt(n)
        rows.append(
            {
                "outcome": name,
                a.label: float(x.mean()) if n else math.nan,
                b.label: float(y.mean()) if n else math.nan,
                "difference": mean,
                "ci_low": mean - half,
                "ci_high": mean + half,
                "pairs": n,
            }
        )

    for name in OUTCOMES:
        if name not in left or name not in right:
            continue
        x, y = left[name], right[name]
        if _is_crossing(name):
            row(name + NEVER, (x > a.horizon).astype(float), (y > b.horizon).astype(float))
            row(name, x.where(x <= a.horizon), y.where(y <= b.horizon))
        else:
            row(name, x, y)
    return pd.DataFrame(rows)


def final_values(compared: Sequence[Side], metric: str = "share") -> pd.DataFrame:
    """A firm metric at the horizon, one row per firm (id and name) and one column per
    side: a run's value, an ensemble's median over replicates.

    Raises:
        CompareError: ``metric`` is not one of :data:`METRICS`.
    """
    import pandas as pd

    if metric not in METRICS:
        raise CompareError(f"unknown metric {metric!r} (choose from: {', '.join(METRICS)})")
    columns = {}
    names: dict[str, str] = {}
    for one in compared:
        firms = one.tables["firms"]
        last = firms[firms["month"] == firms["month"].max()]
        columns[one.label] = last.groupby("firm", sort=False)[metric].median()
        names |= last.drop_duplicates("firm").set_index("firm")["name"].to_dict()
    table = pd.DataFrame(columns)
    table.insert(0, "name", [names.get(firm, firm) for firm in table.index])
    return table.rename_axis("firm").reset_index()


# ---------------------------------------------------------------------------- a folder


def comparison_document(
    compared: Sequence[Side], tables: Mapping[str, pd.DataFrame], plots: Sequence[Path]
) -> Any:
    """The comparison's report (sim/reports.py Document): facts, tables, plots."""
    from sim.reports import Document, Section

    facts = {
        one.label: f"`{one.scenario.name}`, {one.kind}, seeds "
        + ", ".join(str(seed) for seed in one.seeds[:8])
        + (" ..." if len(one.seeds) > 8 else "")
        + f", {one.scenario.run.users:,} users, {one.scenario.run.months} months"
        for one in compared
    }
    number = "{:.3f}".format
    outcome = tables["outcomes"]
    sections = [
        Section(
            "Outcomes",
            "A run's value or an ensemble's mean over replicates; first-crossing months over "
            "the replicates that crossed, and the share that never did on the ': never' row.",
            outcome,
            formats=dict.fromkeys([c for c in outcome.columns if c != "outcome"], number),
        )
    ]
    if "paired" in tables:
        paired = tables["paired"]
        sections.append(
            Section(
                "Paired differences (same seeds, 95% interval)",
                "The mean over shared seeds of the second side minus the first, with a "
                "Student-t interval: an interval that excludes zero is a difference the "
                "seeds cannot explain.",
                paired,
                formats=dict.fromkeys(
                    [c for c in paired.columns if c not in ("outcome", "pairs")], number
                ),
            )
        )
    final = tables["final"]
    sections.append(
        Section(
            "Final values",
            "At the horizon (an ensemble's median over replicates).",
            final,
            formats=dict.fromkeys([c for c in final.columns if c not in ("firm", "name")], number),
        )
    )
    if plots:
        sections.append(Section("Plots", images=[Path("plots") / p.name for p in plots]))
    title = "Comparison: " + " vs ".join(one.label for one in compared)
    return Document(title, facts, sections)


def comparison_tables(compared: Sequence[Side], metric: str = "share") -> dict[str, pd.DataFrame]:
    """The comparison's tables: ``outcomes``, ``final`` and, for two ensembles on the same
    seeds, ``paired``."""
    tables = {"outcomes": outcome_table(compared), "final": final_values(compared, metric)}
    if len(compared) == 2 and compared[0].kind == "ensemble":
        a, b = compared
        if sorted(a.seeds) == sorted(b.seeds) and len(a.seeds) > 1:
            tables["paired"] = paired_differences(a, b)
    return tables


def save_comparison(
    compared: Sequence[Side],
    out: str | Path,
    *,
    metric: str = "share",
    plots: bool = True,
) -> Path:
    """Write ``<out>/compare-<time>/`` atomically: the tables (CSV), the side-by-side
    plots, summary.md and report.html; returns its path."""
    from datetime import UTC, datetime

    from sim.folder import atomic_folder
    from sim.html import write_reports

    tables = comparison_tables(compared, metric)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")

    def fill(folder: Path) -> None:
        for name, table in tables.items():
            table.to_csv(folder / f"{name}.csv", index=False)
        saved: list[Path] = []
        if plots:
            from sim.plots.compare import save_compare_plots

            saved = save_compare_plots(compared, folder / "plots")
        write_reports(folder, comparison_document(compared, tables, saved))

    return atomic_folder(Path(out) / f"compare-{stamp}", fill)
