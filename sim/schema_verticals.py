"""The vertical sub-markets' block of the scenario schema (``seeds/verticals.toml``).

A vertical (music, video generation, enterprise deployment, medical, overseas companion
apps) has its own demand (customers, revenue per customer, growth), the cost of serving
it, and its rivals: firms of the roster, or rivals outside it (foreign services, the rest
of a niche) whose attributes stay as given. ``sim/verticals.py`` turns it into shares and
revenue.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from sim.schema_types import Fraction, NonNegative, Positive, Strict

# a customer is a million users (consumer niches) or one contract (enterprise, hospitals)
CUSTOMER_UNITS = {"million users": 1e6, "contracts": 1.0}


class Rival(Strict):
    """A rival in a vertical: a roster firm (its key is the firm id) or an outside one."""

    name: str = ""
    skill: Annotated[float, Field(ge=0.0, le=2.0)]
    reach_m: NonNegative
    # outside rivals only (> 0); a roster firm brings its own and leaves it at 0
    cost_efficiency: NonNegative = 0.0
    sources: dict[str, str] = Field(default_factory=dict)


class VerticalMarket(Strict):
    """One vertical sub-market: its demand at month 0, growth, serving cost and rivals."""

    name: str
    customers: Positive
    customer_unit: Literal[tuple(CUSTOMER_UNITS)]
    revenue_rmb_month: Positive
    growth_month: Annotated[float, Field(ge=-0.5, le=0.5)]
    serve_cost_share: Fraction
    rivals: dict[str, Rival]
    sources: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _rivals(self) -> VerticalMarket:
        if not self.rivals:
            raise ValueError("rivals: a vertical needs at least one rival")
        return self

    @property
    def revenue_bn_month(self) -> float:
        """The niche's revenue at month 0 (bn a month)."""
        return self.customers * CUSTOMER_UNITS[self.customer_unit] * self.revenue_rmb_month / 1e9


class Verticals(Strict):
    """The vertical sub-markets and the weights of their customers' logit over rivals."""

    b_skill: NonNegative
    b_reach: NonNegative
    b_price: NonNegative
    markets: dict[str, VerticalMarket]
