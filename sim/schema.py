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
from typing import Annotated, Any, Literal, get_args

from pydantic import Field, model_validator

from sim.schema_demand import Awareness, Choice, Market, Social
from sim.schema_money import Acquisition, Capabilities, Economics, Funding, Parent, Parents
from sim.schema_types import (
    EXITED,
    IN_MARKET,
    MAX_FIRMS,
    PARAMETERS_FILE,
    PROJECT_ROOT,
    ROSTER_FILE,
    SCENARIOS_DIR,
    SEEDS_DIR,
    SEGMENTS,
    SPEND_LINES,
    TIERS,
    VERTICALS_FILE,
    Bn,
    ClaimId,
    FirmId,
    Fraction,
    MillionPeople,
    MonthCount,
    NonNegative,
    Positive,
    PositiveMonths,
    ScenarioError,
    Strict,
    Text,
    YearMonth,
    check_keys,
    seed_file,
)
from sim.schema_verticals import Verticals

# Re-exported: the rest of the package imports these from here.
__all__ = [
    "EXITED",
    "IN_MARKET",
    "MAX_FIRMS",
    "PARAMETERS_FILE",
    "PROJECT_ROOT",
    "ROSTER_FILE",
    "SCENARIOS_DIR",
    "SEEDS_DIR",
    "SEGMENTS",
    "SPEND_LINES",
    "TIERS",
    "VERTICALS_FILE",
    "Acquisition",
    "Awareness",
    "Capabilities",
    "Choice",
    "Economics",
    "Funding",
    "Market",
    "Parent",
    "Parents",
    "ScenarioError",
    "Social",
    "Strict",
    "Verticals",
]


# --------------------------------------------------------------------------- parameters


class Run(Strict):
    """What to simulate: calendar, size and randomness."""

    start: YearMonth
    months: Annotated[int, Field(ge=1, le=600)]
    seed: Annotated[int, Field(ge=0)]
    users: Annotated[int, Field(ge=100, le=100_000_000)]
    startups: Annotated[int, Field(ge=0, le=10_000_000)]
    replicates: Annotated[int, Field(ge=1, le=100_000)]


class KillLine(Strict):
    """The kill line (斩杀线): thresholds, and the collapse that follows crossing it."""

    runway_months: PositiveMonths
    runway_cap_months: PositiveMonths
    share_floor: dict[str, Fraction]
    confirm_months: MonthCount
    collapse_months: MonthCount
    flight_rate: Fraction
    collapse_spend: Fraction
    pivot_min_api_share: Fraction

    @model_validator(mode="after")
    def _tiers(self) -> KillLine:
        check_keys("share_floor", self.share_floor, TIERS)
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
    token_cost_share: Fraction


# --------------------------------------------------------------------------- roster


class App(Strict):
    """A home app that feeds an assistant traffic (Douyin, WeChat, Taobao ...)."""

    name: str
    owner: str
    mau_m: MillionPeople
    source: str


class RosterEntry(Strict):
    """A firm's state at the start of the simulation; see seeds/firms.toml."""

    name: str
    owner: str
    tier: Literal[TIERS]
    vertical: str
    funding_source: Literal["parent", "venture"]
    mau_m: MillionPeople
    capital_bn: Bn
    spend_bn_month: Bn
    spend_split: dict[str, Fraction]
    quality: Annotated[float, Field(ge=0.0, le=2.0)]
    cost_efficiency: Positive
    supply: Fraction
    social: Fraction
    integration: Fraction
    legacy_revenue_bn_month: Bn
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
        check_keys("spend_split", self.spend_split, SPEND_LINES)
        check_keys("segment_fit", self.segment_fit, SEGMENTS)
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
    months: MonthCount
    total_bn: Bn
    unit_share: Fraction = 1.0
    split: dict[str, Fraction]

    @model_validator(mode="after")
    def _split(self) -> InvestmentProgramme:
        check_keys("split", self.split, SPEND_LINES)
        total = sum(self.split.values())
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"split: fractions must sum to 1, they sum to {total:.4f}")
        return self


class MarketingCampaign(EventBase):
    """Cash promotions (e.g. Spring Festival red packets): marketing spend and churn."""

    kind: Literal["marketing_campaign"]
    firm: FirmId
    start: YearMonth
    months: MonthCount = 1
    total_bn: Bn
    # review rate of the users it brings; 0 keeps the market's awareness.trial_review_rate
    trial_review_rate: Fraction = 0.0


class MarketingCut(EventBase):
    """From a month on, the firm's baseline marketing is multiplied by `factor`."""

    kind: Literal["marketing_cut"]
    firm: FirmId
    start: YearMonth
    factor: Annotated[float, Field(ge=0.0)]


class News(EventBase):
    """A viral moment or a launch that makes news: the firm's buzz rises by `size`."""

    kind: Literal["news"]
    firm: FirmId
    month: YearMonth
    size: NonNegative


class Launch(EventBase):
    """A firm enters the market: until this month it has no users, spends nothing and
    cannot be chosen; then it opens, making `news`."""

    kind: Literal["launch"]
    firm: FirmId
    month: YearMonth
    news: NonNegative = 0.0


class ProductLaunch(EventBase):
    """A launch that lifts capabilities at once (Yuanbao Pai, Qwen's consumer push)."""

    kind: Literal["product_launch"]
    firm: FirmId
    month: YearMonth
    # jumps: the result is clipped to its range (quality [0, 2], supply and social [0, 1]),
    # so a jump past ten times that range can only be a typo
    quality: Annotated[float, Field(ge=-20.0, le=20.0)] = 0.0
    supply: Annotated[float, Field(ge=-10.0, le=10.0)] = 0.0
    social: Annotated[float, Field(ge=-10.0, le=10.0)] = 0.0
    news: NonNegative = 0.0
    new_home_apps: list[str] = Field(default_factory=list)
    dropped_home_apps: list[str] = Field(default_factory=list)


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
    """A known round or IPO: cash in at a month. A private round uses the year's venture
    money (``funding.venture_money_bn_year``); an IPO's proceeds (`public`) do not."""

    kind: Literal["funding_round"]
    firm: FirmId
    month: YearMonth
    amount_bn: Bn
    public: bool = False


class FundingClimate(EventBase):
    """From a month on, the odds of venture rounds and the year's venture money are
    multiplied by `sentiment`."""

    kind: Literal["funding_climate"]
    start: YearMonth
    sentiment: NonNegative


class EnterVertical(EventBase):
    """A firm enters a vertical sub-market (``seeds/verticals.toml``) as a rival, with its
    skill there (quality relative to the world frontier) and its reach (million people its
    channels put the product in front of)."""

    kind: Literal["enter_vertical"]
    firm: FirmId
    month: YearMonth
    vertical: str
    skill: Annotated[float, Field(ge=0.0, le=2.0)]
    reach_m: NonNegative


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
    months: MonthCount


class IntegrationInvestment(EventBase):
    """A firm invests in fusing its AI with its existing business (paid as fixed cost)."""

    kind: Literal["integration_investment"]
    firm: FirmId
    start: YearMonth
    months: MonthCount
    total_bn: Bn


class ParameterShift(EventBase):
    """From a month on, parameters take new values (e.g. the turn to cost efficiency)."""

    kind: Literal["parameter_shift"]
    month: YearMonth
    set: dict[str, float]


Event = Annotated[
    InvestmentProgramme
    | MarketingCampaign
    | MarketingCut
    | News
    | Launch
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
    "awareness",
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
    "awareness.lapsed_share",
    "awareness.fit_sample",
}


# --------------------------------------------------------------------------- scenario


class ScenarioSchema(Strict):
    """A resolved, validated scenario: everything a run needs.

    The data only; :class:`sim.scenario.Scenario` adds the overrides that derive a copy.
    """

    name: str
    title: Text
    description: str
    claims: list[ClaimId]
    run: Run
    market: Market
    social: Social
    choice: Choice
    awareness: Awareness
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
    verticals: Verticals
    events: list[Event]
    # the observed panel the run is compared with (a file in seeds/; sim/validation.py)
    observed: str = ""

    @model_validator(mode="after")
    def _observed(self) -> ScenarioSchema:
        if self.observed and seed_file(self.observed) is None:
            raise ValueError(f"observed: no such panel in seeds/: {self.observed!r}")
        return self

    @model_validator(mode="after")
    def _parents(self) -> ScenarioSchema:
        for firm_id, firm in self.firms.items():
            if firm.parent and firm.parent not in self.parents:
                known = ", ".join(sorted(self.parents)) or "none"
                raise ValueError(
                    f"firms.{firm_id}.parent: unknown parent {firm.parent!r}; known: {known}"
                )
        return self

    @model_validator(mode="after")
    def _verticals(self) -> ScenarioSchema:
        markets = self.verticals.markets
        for key, market in markets.items():
            for rival_id, rival in market.rivals.items():
                path = f"verticals.markets.{key}.rivals.{rival_id}.cost_efficiency"
                if rival_id in self.firms and rival.cost_efficiency > 0:
                    raise ValueError(f"{path}: a roster firm brings its own; leave it out")
                if rival_id not in self.firms and rival.cost_efficiency <= 0:
                    raise ValueError(f"{path}: must be > 0 for a rival outside the roster")
        for index, event in enumerate(self.events):
            if isinstance(event, EnterVertical) and event.vertical not in markets:
                known = ", ".join(sorted(markets)) or "none"
                raise ValueError(
                    f"events[{index}].vertical: unknown vertical {event.vertical!r}; known: {known}"
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
