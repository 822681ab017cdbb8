"""What every finished piece of work returns: a :class:`Result` holding its tidy tables.

A run, an ensemble, a sweep and a sensitivity analysis are all Results: a ``kind``, the
``scenario`` as run, named ``tables`` (pandas DataFrames, see sim/tables.py) and ``facts``
(what the manifest records: seeds, sizes, timings). Plots (sim/plots/) and reports
(sim/reports.py) read the tables and the facts, never the model; sim/folder.py writes a
Result's folder atomically.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import pandas as pd

if TYPE_CHECKING:
    from sim.scenario import Scenario


@dataclass(kw_only=True)
class Result:
    """A finished run, ensemble, sweep or sensitivity analysis.

    Subclasses set ``kind`` and may add fields (the base's fields are keyword-only, so a
    dataclass subclass can add fields with or without defaults).

    Attributes:
        kind: "run", "ensemble", "sweep" or "sensitivity" (a class attribute); it picks
            the plots and the report sim/folder.py writes.
        scenario: the scenario as run, every default filled in.
        tables: the tidy tables by name; each is written as ``<name>.parquet``.
        facts: what the manifest records beside the scenario (seeds, sizes, timings).

    The run tables are named properties too (``result.firms`` is ``result.tables["firms"]``).
    """

    kind: ClassVar[str] = ""
    scenario: Scenario
    tables: dict[str, pd.DataFrame]
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def firms(self) -> pd.DataFrame:
        """One row per (month, firm), and per replicate in ensembles."""
        return self.tables["firms"]

    @property
    def market(self) -> pd.DataFrame:
        """One row per month, and per replicate in ensembles."""
        return self.tables["market"]

    @property
    def events(self) -> pd.DataFrame:
        """One row per event."""
        return self.tables["events"]

    @property
    def migration(self) -> pd.DataFrame:
        """One row per (month, from, to) with people moving."""
        return self.tables["migration"]

    @property
    def startups(self) -> pd.DataFrame:
        """One row per month: the long tail of startups."""
        return self.tables["startups"]
