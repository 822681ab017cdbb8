"""The run's tidy tables: what is recorded each month, and how it becomes DataFrames.

Firm and market rows are read from the properties the model and its firms already expose,
named by ``FIRM_COLUMNS`` and ``MARKET_COLUMNS`` (column -> attribute), and kept as
columns of plain lists: a Mesa DataCollector would do the same with several times the
overhead per value, which matters when an ensemble runs thousands of replicates. Migration,
startups and events are appended as rows; migration and startups can be left out
(``Recorder(record=...)``) when only the firm, market and event tables are wanted.
Units are in the column names: ``_m`` millions of people, ``_bn`` billions of RMB,
``_months`` months; shares are fractions (0-1).

Tables:
    firms: one row per (month, firm).
    market: one row per month.
    migration: one row per (month, from, to) with people moving (``none`` = no assistant).
    startups: one row per month, real counts of the long tail.
    events: one row per event, scheduled by the scenario or arising in the model.
    verticals: one row per (month, vertical, rival in it): its share of the niche and
        its revenue there (sim/verticals.py); outside rivals have no firm of the roster.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import pandas as pd

from sim.calendar import month_label
from sim.schema import TIERS

if TYPE_CHECKING:
    from sim.model import AIMarket

# column -> Firm attribute
FIRM_COLUMNS = {
    "firm": "firm_id",
    "name": "name",
    "tier": "tier",
    "vertical": "vertical",
    "status": "status",
    "users_m": "users_m",
    "mau_m": "mau_m",
    "share": "share",
    "api_share": "api_share",
    "capital_bn": "capital",
    "revenue_bn": "revenue",
    "costs_bn": "costs",
    "funding_bn": "funding",
    "burn_bn": "burn",
    "marketing_bn": "marketing_bn",
    "quality": "quality",
    "supply": "supply",
    "cost_efficiency": "cost_efficiency",
    "social": "social",
    "integration": "integration",
    "runway_months": "runway_months",
    "distance_to_kill_line": "distance_to_kill_line",
    "status_month": "status_month",
    "acquirer": "acquirer",
    "api_price": "api_price",
    "api_tokens_tn": "api_tokens_tn",
    "consumer_tokens_tn": "consumer_tokens_tn",
    "valuation_bn": "valuation_bn",
    "strategic_value_bn": "strategic_value",
    "parent_supports": "parent_supports",
}
ACCOUNT_LINES = (
    "consumer_revenue",
    "commerce_revenue",
    "api_revenue",
    "legacy_revenue",
    "vertical_revenue",
    "inference_cost",
    "api_cost",
    "vertical_cost",
)
SPEND_COLUMNS = ("rd", "marketing", "supply", "efficiency", "fixed")
LINE_COLUMNS = (
    *(f"{line}_bn" for line in ACCOUNT_LINES),
    *(f"spend_{line}_bn" for line in SPEND_COLUMNS),
)

# tables a run can record; the first four always are
TABLES = ("firms", "market", "events", "verticals", "migration", "startups")
OPTIONAL_TABLES = ("migration", "startups")

# column -> AIMarket attribute
MARKET_COLUMNS = {
    "adopters_m": "adopters_m",
    "active_users_m": "active_users_m",
    "users_in_market_m": "total_users_m",
    "mau_in_market_m": "total_mau_m",
    "mau_per_active": "mau_per_active",
    "hhi": "hhi",
    "top3_share": "top3_share",
    "api_market_bn": "api_market_bn",
    "best_quality": "best_quality",
    "sentiment": "sentiment",
}
TIER_COLUMNS = (*(f"share_{tier}" for tier in TIERS), "firms_in_market")


class Recorder:
    """Collects the monthly records of one run.

    Args:
        record: the optional tables to record (``migration``, ``startups``); default both.
    """

    def __init__(self, record: Iterable[str] | None = None) -> None:
        wanted = OPTIONAL_TABLES if record is None else tuple(record)
        unknown = sorted(set(wanted) - set(TABLES))
        if unknown:
            raise ValueError(f"unknown table {unknown[0]!r}; choose from {', '.join(TABLES)}")
        self.record_migration = "migration" in wanted
        self.record_startups = "startups" in wanted
        self.firm_attributes = list(FIRM_COLUMNS.values())
        self.firm_values: dict[str, list] = {
            column: [] for column in ("month", *FIRM_COLUMNS, *LINE_COLUMNS)
        }
        self.market_values: dict[str, list] = {
            column: [] for column in ("month", *MARKET_COLUMNS, *TIER_COLUMNS)
        }
        self.migration: list[dict] = []
        self.startups: list[dict] = []
        self.events: list[dict] = []
        self.verticals: list[dict] = []

    def record(self, model: AIMarket) -> None:
        """Record the state at the end of the model's current month."""
        month = model.month
        firm_columns = [self.firm_values[column] for column in FIRM_COLUMNS]
        for firm in model.firm_list:
            self.firm_values["month"].append(month)
            for values, attribute in zip(firm_columns, self.firm_attributes, strict=True):
                values.append(getattr(firm, attribute))
            acc = firm.accounts
            for line in ACCOUNT_LINES:
                self.firm_values[f"{line}_bn"].append(getattr(acc, line))
            for line in SPEND_COLUMNS:
                self.firm_values[f"spend_{line}_bn"].append(acc.spend[line])
        market = self.market_values
        market["month"].append(month)
        for column, attribute in MARKET_COLUMNS.items():
            market[column].append(getattr(model, attribute))
        for tier in TIERS:
            market[f"share_{tier}"].append(model.tier_share(tier))
        market["firms_in_market"].append(len(model.firms_in_market()))
        self.verticals.extend(model.verticals.rows(month))
        if self.record_migration:
            self._record_migration(model)
        if self.record_startups and month > 0:
            self.startups.append({"month": month, "date": model.date, **model.startups.census()})

    def _record_migration(self, model: AIMarket) -> None:
        names = [*model.params.firm_ids, "none"]
        matrix = model.users.take_migration()
        weight = model.users.weight_m
        month, date = model.month, model.date
        for i, j in zip(*matrix.nonzero(), strict=True):
            self.migration.append(
                {
                    "month": month,
                    "date": date,
                    "from": names[i],
                    "to": names[j],
                    "users_m": matrix[i, j] * weight,
                }
            )

    def event(
        self,
        model: AIMarket,
        kind: str,
        firm: str,
        detail: str,
        origin: str,
        amount_bn: float = float("nan"),
    ) -> None:
        """Append an event row (``amount_bn``: the money it moves, NaN if none)."""
        self.events.append(
            {
                "month": model.month,
                "date": model.date,
                "kind": kind,
                "firm": firm,
                "detail": detail,
                "origin": origin,
                "amount_bn": amount_bn,
            }
        )

    def tables(self, model: AIMarket) -> dict[str, pd.DataFrame]:
        """The tidy tables of the run so far (only the recorded ones)."""
        start = model.params.run.start
        firms = pd.DataFrame(self.firm_values)
        market = pd.DataFrame(self.market_values)
        labels = {month: month_label(month, start) for month in market["month"]}
        firms.insert(1, "date", firms["month"].map(labels))
        market.insert(1, "date", market["month"].map(labels))
        events = pd.DataFrame(
            self.events,
            columns=["month", "date", "kind", "firm", "detail", "origin", "amount_bn"],
        )
        verticals = pd.DataFrame(
            self.verticals, columns=["month", "vertical", "firm", "share", "revenue_bn"]
        )
        verticals.insert(1, "date", verticals["month"].map(labels))
        tables = {"firms": firms, "market": market, "verticals": verticals}
        if self.record_migration:
            tables["migration"] = pd.DataFrame(
                self.migration, columns=["month", "date", "from", "to", "users_m"]
            )
        if self.record_startups:
            tables["startups"] = pd.DataFrame(self.startups)
        tables["events"] = events
        return tables
