"""The scenario schema's money and capability blocks: capabilities, economics (prices),
venture funding and valuation, parents' support, acquisitions, and the parents
themselves. :mod:`sim.schema` assembles them with the rest."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from sim.schema_types import (
    Bn,
    FirmId,
    Fraction,
    MonthCount,
    Months,
    NonNegative,
    Positive,
    PositiveBn,
    Signed,
    SignedBn,
    Strict,
)


class Capabilities(Strict):
    """Quality against the world frontier, breakthroughs, cost efficiency and supply
    (sim/capabilities.py)."""

    rd_scale_bn: PositiveBn
    rd_ref_bn: PositiveBn
    quality_adjust: Fraction
    spillover: Fraction
    breakthrough_rate: Fraction
    breakthrough_quality_floor: Annotated[float, Field(ge=0.0, lt=1.0)]
    breakthrough_talent_elasticity: NonNegative
    breakthrough_efficiency_elasticity: NonNegative
    breakthrough_size: NonNegative
    breakthrough_talent_gain: NonNegative
    industry_cost_decline: Fraction
    efficiency_gain: NonNegative
    efficiency_scale_bn: PositiveBn
    efficiency_adjust: Fraction
    supply_scale_bn: PositiveBn
    supply_decay: Fraction
    integration_scale_bn: PositiveBn
    talent_flight: Fraction


class Economics(Strict):
    """Revenue and cost of serving users and selling tokens (money in billions of RMB)."""

    unit_cost_rmb_per_m_tokens: Positive
    tokens_per_user_month_m: NonNegative
    commerce_rmb_per_user: NonNegative
    api_tokens_tn_month: Positive
    api_market_growth: Annotated[float, Field(ge=-0.5, le=0.5)]
    api_price_elasticity: NonNegative
    api_markup: NonNegative
    api_b_quality: NonNegative
    api_b_price: NonNegative
    token_growth: Annotated[float, Field(ge=-0.2, le=0.5)]
    min_markup: Annotated[float, Field(ge=-0.5, le=5.0)]
    price_adjust: Fraction
    capacity_adjust: Fraction
    scarcity_elasticity: NonNegative
    volume_elasticity: NonNegative
    legacy_erosion: Fraction
    legacy_margin: Fraction
    austerity_runway_months: Months
    austerity_cut: Fraction


class Funding(Strict):
    """Venture rounds and IPOs priced by valuation (sim/valuation.py)."""

    seek_below_runway_months: Months
    round_runway_months: Months
    round_close: Fraction
    venture_money_bn_year: NonNegative
    # the private rounds (bn) of the 12 months to month 0, oldest first (months -11..0)
    prior_rounds_bn: Annotated[list[NonNegative], Field(min_length=12, max_length=12)]
    commitment_months: Annotated[int, Field(ge=0, le=24)]  # term sheet to announced close
    max_dilution: Annotated[float, Field(gt=0.0, lt=1.0)]
    revenue_multiple: NonNegative
    team_quality_floor: Annotated[float, Field(ge=0.0, lt=1.0)]
    momentum_weight: NonNegative
    momentum_months: MonthCount
    momentum_cap: NonNegative
    user_momentum_weight: Fraction
    peer_weight: NonNegative
    sentiment: NonNegative
    state_fund_min_quality: NonNegative
    state_fund_picks: Annotated[int, Field(ge=0, le=50)]  # firms a state fund backs at once
    state_fund_close: Fraction
    # a threshold, not money held: up to MAGNITUDE_CAP, where 10^6 bn reads as "never"
    ipo_min_valuation_bn: NonNegative
    ipo_float: Fraction


class Parents(Strict):
    """How parents weigh their AI units' losses (sim/parents.py)."""

    profit_share: Fraction
    cash_draw: Fraction
    review_months: MonthCount
    support_horizon_months: Months


class Acquisition(Strict):
    """Giants buying distressed firms at a price, for their users, team and vertical."""

    acquirers: list[FirmId]
    value_per_user_rmb: NonNegative
    talent_value_bn: Bn
    vertical_value_bn: Bn
    carry_months: Months
    distress_distance: Signed
    user_transfer: Fraction
    review_share: Fraction
    seller_share: Fraction


class Parent(Strict):
    """A group that funds an AI unit: its published accounts and its stake in AI."""

    name: str
    revenue_bn_year: Bn
    profit_bn_year: SignedBn
    cash_bn: Bn
    stake: Fraction
    sources: dict[str, str] = Field(default_factory=dict)
