"""The run's tidy tables: what is recorded each month, and how it becomes DataFrames.

Firm and market rows are gathered by a Mesa DataCollector whose reporters name the
properties the model and its firms already expose. Migration, startups and events are
appended as rows. Units are in the column names: ``_m`` millions of people, ``_bn``
billions of RMB, ``_months`` months; shares are fractions (0-1).

Tables:
    firms: one row per (month, firm).
    market: one row per month.
    migration: one row per (month, from, to) with people moving (``none`` = no assistant).
    startups: one row per month, real counts of the long tail.
    events: one row per event, scheduled by the scenario or arising in the model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import pandas as pd

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
}
ACCOUNT_LINES = (
    "consumer_revenue",
    "commerce_revenue",
    "api_revenue",
    "legacy_revenue",
    "inference_cost",
    "api_cost",
)
SPEND_COLUMNS = ("rd", "marketing", "supply", "efficiency", "fixed")

# column -> AIMarket attribute
MARKET_COLUMNS = {
    "adopters_m": "adopters_m",
    "users_in_market_m": "total_users_m",
    "hhi": "hhi",
    "top3_share": "top3_share",
    "api_market_bn": "api_market_bn",
    "best_quality": "best_quality",
    "sentiment": "sentiment",
}


class Recorder:
    """Collects the monthly records of one run."""

    def __init__(self) -> None:
        firm_reporters = {"month": "model_month", **FIRM_COLUMNS}
        self.collector = mesa.DataCollector(
            model_reporters={"month": "month", **MARKET_COLUMNS},
            agent_reporters=firm_reporters,
        )
        self.lines: list[dict] = []
        self.tier_rows: list[dict] = []
        self.migration: list[dict] = []
        self.startups: list[dict] = []
        self.events: list[dict] = []

    def record(self, model: AIMarket) -> None:
        """Record the state at the end of the model's current month."""
        self.collector.collect(model)
        for firm in model.firm_list:
            acc = firm.accounts
            row = {"month": model.month, "firm": firm.firm_id}
            row.update({f"{line}_bn": getattr(acc, line) for line in ACCOUNT_LINES})
            row.update({f"spend_{line}_bn": acc.spend[line] for line in SPEND_COLUMNS})
            self.lines.append(row)
        self.tier_rows.append(
            {
                "month": model.month,
                **{f"share_{t}": model.tier_share(t) for t in ("giant", "midtier", "independent", "vertical")},
                "firms_in_market": len(model.firms_in_market()),
            }
        )
        names = [*model.params.firm_ids, "none"]
        matrix = model.users.take_migration()
        weight = model.users.weight_m
        for i, j in zip(*matrix.nonzero(), strict=True):
            self.migration.append(
                {
                    "month": model.month,
                    "date": model.date,
                    "from": names[i],
                    "to": names[j],
                    "users_m": matrix[i, j] * weight,
                }
            )
        if model.month > 0:
            self.startups.append({"month": model.month, "date": model.date, **model.startups.census()})

    def event(self, model: AIMarket, kind: str, firm: str, detail: str, origin: str) -> None:
        """Append an event row."""
        self.events.append(
            {
                "month": model.month,
                "date": model.date,
                "kind": kind,
                "firm": firm,
                "detail": detail,
                "origin": origin,
            }
        )

    def tables(self, model: AIMarket) -> dict[str, pd.DataFrame]:
        """The tidy tables of the run so far."""
        start = model.params.run.start
        from sim.calendar import month_label

        firms = self.collector.get_agent_vars_dataframe().reset_index(drop=True)
        firms = firms.merge(pd.DataFrame(self.lines), on=["month", "firm"])
        firms.insert(1, "date", firms["month"].map(lambda m: month_label(m, start)))
        market = self.collector.get_model_vars_dataframe().reset_index(drop=True)
        market = market.merge(pd.DataFrame(self.tier_rows), on="month")
        market.insert(1, "date", market["month"].map(lambda m: month_label(m, start)))
        migration = pd.DataFrame(
            self.migration, columns=["month", "date", "from", "to", "users_m"]
        )
        events = pd.DataFrame(
            self.events, columns=["month", "date", "kind", "firm", "detail", "origin"]
        )
        return {
            "firms": firms,
            "market": market,
            "migration": migration,
            "startups": pd.DataFrame(self.startups),
            "events": events,
        }
