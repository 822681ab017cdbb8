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
    """Quality, breakthroughs, cost efficiency and supply."""

    frontier_growth: Fraction
    rd_productivity: NonNegative
    rd_scale_bn: Positive
    spillover: Fraction
    breakthrough_rate: Fraction
    breakthrough_rd_ref_bn: Positive
    breakthrough_rd_elasticity: NonNegative
    breakthrough_size: NonNegative
    industry_cost_decline: Fraction
    efficiency_gain: NonNegative
    efficiency_scale_bn: Positive
    efficiency_catchup: Fraction
    supply_scale_bn: Positive
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
    legacy_erosion: Fraction
    legacy_margin: Fraction
    austerity_runway_months: NonNegative
    austerity_cut: Fraction


class Funding(Strict):
    """Venture rounds and parents' support."""

    seek_below_runway_months: NonNegative
    round_prob: Fraction
    momentum_weight: NonNegative
    momentum_months: Annotated[int, Field(ge=1)]
    round_runway_months: NonNegative
    sentiment: NonNegative


class Acquisition(Strict):
    """Giants buying distressed firms for their users and talent."""

    acquirers: list[FirmId]
    value_per_user_rmb: NonNegative
    talent_value_bn: NonNegative
    carry_months: NonNegative
    prob: Fraction
    distress_distance: float
    user_transfer: Fraction


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
    patience_bn: NonNegative
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
    | ParameterShift,
    Field(discriminator="kind"),
]
EVENT_KINDS = {
    cls.model_fields["kind"].annotation.__args__[0]: cls for cls in get_args(get_args(Event)[0])
}
SHIFTABLE_SECTIONS = ("market", "choice", "capabilities", "economics", "funding", "kill_line")
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
    acquisition: Acquisition
    kill_line: KillLine
    startups: Startups
    firms: dict[FirmId, RosterEntry]
    apps: dict[str, App]
    events: list[Event]

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
