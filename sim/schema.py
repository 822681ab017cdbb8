"""The scenario schema: every block a scenario holds, as frozen pydantic models.

A resolved scenario is parameters (``run``, ``market``, ``choice`` ...), the roster
(:class:`RosterEntry` per firm, :class:`App` per home app) and the events. The blocks
forbid unknown keys and check ranges; :mod:`sim.scenario` reads the files, merges the
layers, applies overrides and turns validation errors into one-line
:class:`ScenarioError` messages.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SEEDS_DIR = PROJECT_ROOT / "seeds"
SCENARIOS_DIR = PROJECT_ROOT / "scenarios"
PARAMETERS_FILE = SEEDS_DIR / "parameters.toml"
ROSTER_FILE = SEEDS_DIR / "firms.toml"

TIERS = ("giant", "midtier", "independent", "vertical")
SEGMENTS = ("social", "shopping", "entertainment", "knowledge", "creator")
# A firm's status: in the market (competing, possibly past the kill line), or gone.
IN_MARKET = ("active", "below_kill_line")
EXITED = ("acquired", "pivoted", "closed")
SPEND_LINES = ("rd", "marketing", "supply", "efficiency", "fixed")

Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
NonNegative = Annotated[float, Field(ge=0.0)]
Positive = Annotated[float, Field(gt=0.0)]
YearMonth = Annotated[str, Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]
FirmId = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]


class ScenarioError(ValueError):
    """A scenario problem, explained in one line: file, key path, what is allowed."""

    def __init__(self, file: str | Path | None, path: str, message: str) -> None:
        self.file = str(file) if file is not None else "<scenario>"
        self.path = path
        self.message = message
        where = f"{self.file}: {path}: " if path else f"{self.file}: "
        super().__init__(where + message)


class Strict(BaseModel):
    """Base of every schema block: unknown keys are errors, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_keys(field: str, mapping: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
    unknown = sorted(set(mapping) - set(allowed))
    missing = sorted(set(allowed) - set(mapping))
    if unknown:
        raise ValueError(f"{field}: unknown key {unknown[0]!r}; allowed: {', '.join(allowed)}")
    if missing:
        raise ValueError(f"{field}: missing key {missing[0]!r}; required: {', '.join(allowed)}")


# --------------------------------------------------------------------------- parameters


class Run(Strict):
    """What to simulate: calendar, size and randomness."""

    start: YearMonth
    months: Annotated[int, Field(ge=1, le=600)]
    seed: Annotated[int, Field(ge=0)]
    users: Annotated[int, Field(ge=100, le=100_000_000)]
    startups: Annotated[int, Field(ge=0, le=10_000_000)]
    replicates: Annotated[int, Field(ge=1, le=100_000)]


class Market(Strict):
    """The user population and its diffusion (users in millions of real people)."""

    internet_users_m: Positive
    adopters_m: Positive
    bass_p: Fraction
    bass_q: Fraction
    segments: dict[str, Fraction]
    supply_need: dict[str, Fraction]
    reconsider_rate: Fraction
    campaign_reconsider_per_bn: NonNegative
    supply_stickiness: Fraction
    switching_cost_mean: NonNegative

    @model_validator(mode="after")
    def _segments(self) -> Market:
        _check_keys("segments", self.segments, SEGMENTS)
        _check_keys("supply_need", self.supply_need, SEGMENTS)
        total = sum(self.segments.values())
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"segments: shares must sum to 1, they sum to {total:.4f}")
        if self.adopters_m > self.internet_users_m:
            raise ValueError("adopters_m: must not exceed internet_users_m")
        return self


class Social(Strict):
    """The synthetic social graph: fixed out-degree, communities of similar size."""

    degree: Annotated[int, Field(ge=1, le=200)]
    community_size: Annotated[int, Field(ge=2)]
    within_community: Fraction


class Choice(Strict):
    """Weights of the logit over assistants (utility units)."""

    b_quality: NonNegative
    b_supply: NonNegative
    b_reach: NonNegative
    b_social: NonNegative
    b_marketing: NonNegative
    b_match: NonNegative
    b_switch: NonNegative
    calibration_sample: Annotated[int, Field(ge=100)]


class Capabilities(Strict):
    """Quality against the world frontier, breakthroughs, cost efficiency and supply
    (sim/capabilities.py)."""

    rd_scale_bn: Positive
    rd_ref_bn: Positive
    quality_adjust: Fraction
    spillover: Fraction
    breakthrough_rate: Fraction
    breakthrough_quality_floor: Annotated[float, Field(ge=0.0, lt=1.0)]
    breakthrough_talent_elasticity: NonNegative
    breakthrough_efficiency_elasticity: NonNegative
    breakthrough_size: NonNegative
    industry_cost_decline: Fraction
    efficiency_gain: NonNegative
    efficiency_scale_bn: Positive
    efficiency_adjust: Fraction
    supply_scale_bn: Positive
    supply_decay: Fraction
    integration_scale_bn: Positive
    talent_flight: Fraction


class Economics(Strict):
    """Revenue and cost of serving users and selling tokens (money in billions of RMB)."""

    unit_cost_rmb_per_m_tokens: Positive
    tokens_per_user_month_m: NonNegative
    commerce_rmb_per_user: NonNegative
    api_market_bn_month: NonNegative
    api_market_growth: Annotated[float, Field(ge=-0.5, le=0.5)]
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
    austerity_runway_months: NonNegative
    austerity_cut: Fraction


class Funding(Strict):
    """Venture rounds and IPOs priced by valuation (sim/valuation.py)."""

    seek_below_runway_months: NonNegative
    round_runway_months: NonNegative
    round_close: Fraction
    max_dilution: Annotated[float, Field(gt=0.0, lt=1.0)]
    revenue_multiple: NonNegative
    team_value_bn: NonNegative
    team_quality_floor: Annotated[float, Field(ge=0.0, lt=1.0)]
    momentum_weight: NonNegative
    momentum_months: Annotated[int, Field(ge=1)]
    momentum_cap: NonNegative
    user_momentum_weight: Fraction
    peer_weight: NonNegative
    sentiment: NonNegative
    state_fund_min_quality: NonNegative
    state_fund_close: Fraction
    ipo_min_valuation_bn: NonNegative
    ipo_float: Fraction


class Parents(Strict):
    """How parents weigh their AI units' losses (sim/parents.py)."""

    profit_share: Fraction
    cash_draw: Fraction
    review_months: Annotated[int, Field(ge=1)]
    support_horizon_months: NonNegative


class Acquisition(Strict):
    """Giants buying distressed firms at a price, for their users, team and vertical."""

    acquirers: list[FirmId]
    value_per_user_rmb: NonNegative
    talent_value_bn: NonNegative
    vertical_value_bn: NonNegative
    carry_months: NonNegative
    distress_distance: float
    user_transfer: Fraction
    review_share: Fraction


class KillLine(Strict):
    """The kill line (斩杀线): thresholds, and the collapse that follows crossing it."""

    runway_months: Positive
    runway_cap_months: Positive
    share_floor: dict[str, Fraction]
    confirm_months: Annotated[int, Field(ge=1)]
    collapse_months: Annotated[int, Field(ge=1)]
    flight_rate: Fraction
    collapse_spend: Fraction
    pivot_min_api_share: Fraction

    @model_validator(mode="after")
    def _tiers(self) -> KillLine:
        _check_keys("share_floor", self.share_floor, TIERS)
        return self


class Startups(Strict):
    """The long tail of young AI companies (real counts, not simulated ones)."""

    warmup_start: YearMonth
    births_per_month: dict[str, NonNegative]
    base_hazard: Fraction
    price_war_hazard: NonNegative
    price_war_step: Positive
    encroachment_hazard: NonNegative
    climate_hazard: NonNegative
    climate_step: Positive
    token_spend_rmb_month: NonNegative


# --------------------------------------------------------------------------- roster


class App(Strict):
    """A home app that feeds an assistant traffic (Douyin, WeChat, Taobao ...)."""

    name: str
    owner: str
    mau_m: NonNegative
    source: str


class Parent(Strict):
    """A group that funds an AI unit: its published accounts and its stake in AI."""

    name: str
    revenue_bn_year: NonNegative
    profit_bn_year: float
    cash_bn: NonNegative
    stake: Fraction
    sources: dict[str, str] = Field(default_factory=dict)


class RosterEntry(Strict):
    """A firm's state at the start of the simulation; see seeds/firms.toml."""

    name: str
    owner: str
    tier: Literal[TIERS]
    vertical: str
    funding_source: Literal["parent", "venture"]
    mau_m: NonNegative
    capital_bn: NonNegative
    spend_bn_month: NonNegative
    spend_split: dict[str, Fraction]
    quality: Annotated[float, Field(ge=0.0, le=2.0)]
    cost_efficiency: Positive
    supply: Fraction
    social: Fraction
    integration: Fraction
    legacy_revenue_bn_month: NonNegative
    arpu_rmb: NonNegative
    api_share: Fraction
    home_apps: list[str]
    segment_fit: dict[str, Fraction]
    parent: str = ""
    open_weights: bool = False
    listed: bool = False
    sources: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> RosterEntry:
        _check_keys("spend_split", self.spend_split, SPEND_LINES)
        _check_keys("segment_fit", self.segment_fit, SEGMENTS)
        total = sum(self.spend_split.values())
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"spend_split: fractions must sum to 1, they sum to {total:.4f}")
        if (self.tier == "vertical") != bool(self.vertical):
            raise ValueError("vertical: must be set for tier 'vertical' and empty otherwise")
        if (self.funding_source == "parent") != bool(self.parent):
            raise ValueError("parent: must name a [parents] entry for parent-funded firms only")
        return self


# --------------------------------------------------------------------------- events


class EventBase(Strict):
    """Fields shared by every event; `id` lets a scenario replace or remove an inherited one."""

    id: str = ""
    note: str = ""
    source: str = ""


class InvestmentProgramme(EventBase):
    """A firm (or its parent) commits money over months, split across spending lines."""

    kind: Literal["investment_programme"]
    firm: FirmId
    start: YearMonth
    months: Annotated[int, Field(ge=1)]
    total_bn: NonNegative
    unit_share: Fraction = 1.0
    split: dict[str, Fraction]

    @model_validator(mode="after")
    def _split(self) -> InvestmentProgramme:
        _check_keys("split", self.split, SPEND_LINES)
        total = sum(self.split.values())
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"split: fractions must sum to 1, they sum to {total:.4f}")
        return self


class MarketingCampaign(EventBase):
    """Cash promotions (e.g. Spring Festival red packets): marketing spend and churn."""

    kind: Literal["marketing_campaign"]
    firm: FirmId
    start: YearMonth
    months: Annotated[int, Field(ge=1)] = 1
    total_bn: NonNegative


class ProductLaunch(EventBase):
    """A launch that lifts capabilities at once (Yuanbao Pai, Qwen's consumer push)."""

    kind: Literal["product_launch"]
    firm: FirmId
    month: YearMonth
    quality: float = 0.0
    supply: float = 0.0
    social: float = 0.0
    new_home_apps: list[str] = Field(default_factory=list)


class Breakthrough(EventBase):
    """A DeepSeek-style jump in quality, forced at a month."""

    kind: Literal["breakthrough"]
    firm: FirmId
    month: YearMonth
    size: NonNegative


class PriceCut(EventBase):
    """A price cut on API tokens: the firm's markup is multiplied by `factor`."""

    kind: Literal["price_cut"]
    firm: FirmId
    month: YearMonth
    factor: Annotated[float, Field(ge=0.0, le=1.0)]


class FundingRound(EventBase):
    """A known round or IPO: cash in at a month."""

    kind: Literal["funding_round"]
    firm: FirmId
    month: YearMonth
    amount_bn: NonNegative


class FundingClimate(EventBase):
    """From a month on, the odds of venture rounds are multiplied by `sentiment`."""

    kind: Literal["funding_climate"]
    start: YearMonth
    sentiment: NonNegative


class EnterVertical(EventBase):
    """A giant enters a vertical: its fit with the segment that vertical serves rises."""

    kind: Literal["enter_vertical"]
    firm: FirmId
    month: YearMonth
    vertical: str
    segment: Literal[SEGMENTS]
    fit: Fraction


class AcquisitionOffer(EventBase):
    """A named acquirer buys a named target at a month (if both are still in the market)."""

    kind: Literal["acquisition_offer"]
    acquirer: FirmId
    target: FirmId
    month: YearMonth


class IpoWindow(EventBase):
    """From a month on, for `months` months, firms worth enough can list (sim/valuation.py)."""

    kind: Literal["ipo_window"]
    start: YearMonth
    months: Annotated[int, Field(ge=1)]


class IntegrationInvestment(EventBase):
    """A firm invests in fusing its AI with its existing business (paid as fixed cost)."""

    kind: Literal["integration_investment"]
    firm: FirmId
    start: YearMonth
    months: Annotated[int, Field(ge=1)]
    total_bn: NonNegative


class ParameterShift(EventBase):
    """From a month on, parameters take new values (e.g. the turn to cost efficiency)."""

    kind: Literal["parameter_shift"]
    month: YearMonth
    set: dict[str, float]


Event = Annotated[
    InvestmentProgramme
    | MarketingCampaign
    | ProductLaunch
    | Breakthrough
    | PriceCut
    | FundingRound
    | FundingClimate
    | EnterVertical
    | AcquisitionOffer
    | IpoWindow
    | IntegrationInvestment
    | ParameterShift,
    Field(discriminator="kind"),
]
EVENT_KINDS = {
    cls.model_fields["kind"].annotation.__args__[0]: cls for cls in get_args(get_args(Event)[0])
}
SHIFTABLE_SECTIONS = (
    "market",
    "choice",
    "capabilities",
    "economics",
    "funding",
    "parent_support",
    "kill_line",
)
# Parameters read only while the model is built: shifting them mid-run would do nothing.
SET_UP_ONLY = {
    "market.internet_users_m",
    "market.adopters_m",
    "market.switching_cost_mean",
    "choice.b_switch",
    "choice.calibration_sample",
}


# --------------------------------------------------------------------------- scenario


class ScenarioSchema(Strict):
    """A resolved, validated scenario: everything a run needs.

    The data only; :class:`sim.scenario.Scenario` adds the overrides that derive a copy.
    """

    name: str
    title: str
    description: str
    claims: list[str]
    run: Run
    market: Market
    social: Social
    choice: Choice
    capabilities: Capabilities
    economics: Economics
    funding: Funding
    parent_support: Parents
    acquisition: Acquisition
    kill_line: KillLine
    startups: Startups
    firms: dict[FirmId, RosterEntry]
    apps: dict[str, App]
    parents: dict[str, Parent] = Field(default_factory=dict)
    events: list[Event]

    @model_validator(mode="after")
    def _parents(self) -> ScenarioSchema:
        for firm_id, firm in self.firms.items():
            if firm.parent and firm.parent not in self.parents:
                known = ", ".join(sorted(self.parents)) or "none"
                raise ValueError(
                    f"firms.{firm_id}.parent: unknown parent {firm.parent!r}; known: {known}"
                )
        return self

    @property
    def firm_ids(self) -> list[str]:
        """Firm ids in roster order."""
        return list(self.firms)

    def to_dict(self) -> dict[str, Any]:
        """The resolved scenario as plain data (what `resolved.toml` holds)."""
        return self.model_dump(mode="json", exclude_defaults=False)

    def digest(self) -> str:
        """A stable hash of the resolved scenario, for manifests and run ids."""
        text = json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(text.encode()).hexdigest()
