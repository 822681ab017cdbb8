"""The Firm agent: one AI-model maker or a giant's AI unit, with its money and capabilities.

A firm's state is what DESIGN.md section 3 lists: capital, traffic (its users, read from
the user population, and the home apps that feed it), supply, cost efficiency, quality,
social graph, integration with an existing business, tier and status. Each month the model
asks every firm in the market to set its budget, improve its capabilities and settle its
accounts; funding, acquisitions and the kill line are decided by the model, which sees all
firms at once.

Money is in billions of RMB (bn) a month unless a name says otherwise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import mesa

from sim import capabilities, fusion, pricing
from sim.schema import IN_MARKET, SPEND_LINES

if TYPE_CHECKING:
    from sim.model import AIMarket
    from sim.schema import RosterEntry

# a firm whose `launch` event is still to come
UNLAUNCHED = "unlaunched"
DISCRETIONARY = ("rd", "marketing", "supply", "efficiency")


@dataclass
class Programme:
    """Money a firm (or its parent) has committed, paid out in equal monthly tranches."""

    first_month: int
    months: int
    total_bn: float
    split: dict[str, float]
    campaign: bool = False
    integration: bool = False

    def tranche(self, month: int) -> float:
        """The programme's spend in `month` (bn)."""
        if self.first_month <= month < self.first_month + self.months:
            return self.total_bn / self.months
        return 0.0

    def remaining(self, month: int) -> float:
        """Committed money not yet paid out after `month` (bn)."""
        left = self.first_month + self.months - 1 - month
        return self.total_bn / self.months * max(0, min(self.months, left))


@dataclass
class Accounts:
    """One month's revenue and costs, by line (bn)."""

    consumer_revenue: float = 0.0
    commerce_revenue: float = 0.0
    api_revenue: float = 0.0
    legacy_revenue: float = 0.0
    vertical_revenue: float = 0.0
    inference_cost: float = 0.0
    api_cost: float = 0.0
    vertical_cost: float = 0.0
    spend: dict[str, float] = field(default_factory=lambda: dict.fromkeys(SPEND_LINES, 0.0))
    funding: float = 0.0

    @property
    def revenue(self) -> float:
        return (
            self.consumer_revenue
            + self.commerce_revenue
            + self.api_revenue
            + self.legacy_revenue
            + self.vertical_revenue
        )

    @property
    def costs(self) -> float:
        return self.inference_cost + self.api_cost + self.vertical_cost + sum(self.spend.values())


class Firm(mesa.Agent):
    """An AI-model maker in the market.

    Args:
        model: the AIMarket it belongs to.
        firm_id: its id in the roster (``doubao``, ``zhipu`` ...).
        entry: its starting state from ``seeds/firms.toml`` (with scenario overrides).
        index: its column in the user population's arrays.
    """

    def __init__(self, model: AIMarket, firm_id: str, entry: RosterEntry, index: int) -> None:
        super().__init__(model)
        self.firm_id = firm_id
        self.index = index
        self.name = entry.name
        self.owner = entry.owner
        self.tier = entry.tier
        self.vertical = entry.vertical
        self.funding_source = entry.funding_source
        self.capital = entry.capital_bn
        self.reserve = entry.capital_bn
        self.base_spend = entry.spend_bn_month
        self.base_split = dict(entry.spend_split)
        self.parent_id = entry.parent
        self.open_weights = entry.open_weights
        self.listed = entry.listed
        self.quality = entry.quality
        self.cost_efficiency = entry.cost_efficiency
        self.supply = entry.supply
        self.social = entry.social
        self.integration = entry.integration
        self.legacy_base = entry.legacy_revenue_bn_month
        self.legacy_undefended = entry.legacy_revenue_bn_month
        self.arpu = entry.arpu_rmb
        self.api_share = entry.api_share
        self.api_share_start = entry.api_share
        self.markup = model.params.economics.api_markup
        self.capacity_tn = 0.0
        self.tokens_history: list[float] = []
        self.api_tokens_tn = 0.0
        self.consumer_tokens_tn = 0.0
        self.home_apps = list(entry.home_apps)
        self.segment_fit = dict(entry.segment_fit)
        self.entered_verticals: list[str] = []

        self.status = "active"
        self.status_month = 0
        # attention: the marketing stock (log units) and news (buzz); see update_attention
        self.attention = 0.0
        self.buzz = 0.0
        self.marketing_factor = 1.0
        self.trial_review_rate = model.params.awareness.trial_review_rate
        self.entry_forgetting = 0.0
        self.acquirer = ""
        self.programmes: list[Programme] = []
        self.cost_efficiency_start = entry.cost_efficiency
        self.parent_topups = 0.0
        self.parent_supports = entry.funding_source == "parent"
        self.months_unjustified = 0
        self.loss_history: list[float] = []
        self.presence_history: list[float] = []
        self.strategic_value = 0.0
        self.reviewed_loss = 0.0
        self.presence_start = 0.0
        self.talent = 0.0
        self.efficiency_talent = 1.0
        self.supply_upkeep = self.base_spend * self.base_split["supply"]
        self.rivals_users_start = 0.0
        self.valuation_bn = math.nan
        self.api_revenue_history: list[float] = []
        self.breakthroughs = 0
        self.months_past_line = 0
        self.collapse_months = 0
        self.users_m = 0.0
        self.mau_m = entry.mau_m
        self.users_history: list[float] = []
        self.in_austerity = False
        self.accounts = Accounts()
        self.last_accounts = self.accounts
        self.runway_months = 0.0
        self.distance_to_kill_line = 0.0

    # ------------------------------------------------------------------ derived

    @property
    def in_market(self) -> bool:
        """Still competing (active, or past the kill line but not yet gone)."""
        return self.status in IN_MARKET

    @property
    def collapsing(self) -> bool:
        return self.status == "below_kill_line"

    @property
    def revenue(self) -> float:
        return self.accounts.revenue

    @property
    def costs(self) -> float:
        return self.accounts.costs

    @property
    def funding(self) -> float:
        return self.accounts.funding

    @property
    def burn(self) -> float:
        """Net monthly cash burn (costs less revenue), bn."""
        return self.accounts.costs - self.accounts.revenue

    @property
    def marketing_bn(self) -> float:
        """This month's marketing spend, campaigns included (bn)."""
        return self.accounts.spend["marketing"]

    @property
    def spend_total(self) -> float:
        """This month's spend on all budget lines (bn)."""
        return sum(self.accounts.spend.values())

    @property
    def campaign_spend(self) -> float:
        """Cash campaigns paid out this month (bn)."""
        return sum(p.tranche(self.model.month) for p in self.programmes if p.campaign)

    @property
    def recurring_burn(self) -> float:
        """Net monthly burn without this month's cash-campaign tranches (bn): a campaign is
        a one-off outlay, so runways are judged on the burn that recurs."""
        return self.burn - self.campaign_spend

    @property
    def campaign_commitments(self) -> float:
        """Cash-campaign money still to be paid out after this month (bn)."""
        month = self.model.month
        return sum(p.remaining(month) for p in self.programmes if p.campaign)

    def runway_on(self, cash_bn: float, burn_bn: float) -> float:
        """Months of recurring burn `cash_bn` pays for once the campaigns still to be paid
        out are set aside."""
        from sim.kill_line import runway

        cap = self.model.params.kill_line.runway_cap_months
        return runway(cash_bn - self.campaign_commitments, burn_bn, cap)

    @property
    def cash_runway(self) -> float:
        """Months of burn the firm's own cash pays for (no parent, no programmes)."""
        return self.runway_on(self.capital, self.recurring_burn)

    @property
    def share(self) -> float:
        """Share of the assistants' MAU."""
        return self.model.user_share(self)

    def user_growth(self, months: int) -> float:
        """Relative change of the firm's users over the last `months` months."""
        history = self.users_history
        if len(history) <= months or history[-months - 1] <= 0:
            return 0.0
        return history[-1] / history[-months - 1] - 1.0

    @property
    def headroom(self) -> float:
        """Money the firm can still count on beyond its cash (bn): committed programmes,
        and while its parent supports it, ``support_horizon_months`` of its burn."""
        if self.funding_source != "parent":
            return 0.0
        month = self.model.month
        committed = sum(p.remaining(month) for p in self.programmes)
        if self.parent_supports:
            horizon = self.model.params.parent_support.support_horizon_months
            committed += horizon * max(0.0, self.reviewed_loss)
        return committed

    @property
    def tokens_tn(self) -> float:
        """Tokens served this month, API and own assistant (trillions)."""
        return self.api_tokens_tn + self.consumer_tokens_tn

    @property
    def api_price(self) -> float:
        """API price this month (RMB per million tokens)."""
        return self.model.api_price(self)

    @property
    def effective_rd(self) -> float:
        """R&D spend times cost efficiency this month (bn)."""
        return self.accounts.spend["rd"] * self.cost_efficiency

    # ------------------------------------------------------------------ stages

    def set_budget(self) -> None:
        """Decide this month's spend by line: baseline run-rate plus programmes and
        campaigns, cut under austerity and slashed during a collapse."""
        month = self.model.month
        econ = self.model.params.economics
        spend = {line: self.base_spend * share for line, share in self.base_split.items()}
        spend["marketing"] *= self.marketing_factor
        for programme in self.programmes:
            tranche = programme.tranche(month)
            for line, share in programme.split.items():
                spend[line] += tranche * share
        if self.collapsing:
            cut = self.model.params.kill_line.collapse_spend
            spend = {line: value * cut for line, value in spend.items()}
        else:
            self.in_austerity = self._austerity_due(sum(spend.values()))
            if self.in_austerity:
                for line in DISCRETIONARY:
                    spend[line] *= 1.0 - econ.austerity_cut
        self.accounts.spend = spend

    def _austerity_due(self, planned_spend: float) -> bool:
        """Austerity when the runway at normal spending would be under
        ``austerity_runway_months``. Judging by the normal rather than the cut budget keeps
        a firm near break-even from switching austerity on and off every other month."""
        if self.model.month == 0:
            return False  # the starting state: no month of accounts to judge by yet
        last = self.last_accounts
        recurring = planned_spend - self.campaign_spend
        burn = recurring + last.inference_cost + last.api_cost - last.revenue
        months = self.runway_on(self.capital + self.headroom, burn)
        return months < self.model.params.economics.austerity_runway_months

    def calibrate_capabilities(self, open_best: float) -> None:
        """Fix research and efficiency talent so that month 0 is a fixed point of
        :meth:`update_capabilities` (sim/capabilities.py)."""
        caps = self.model.params.capabilities
        self.talent = capabilities.calibrate_talent(
            self.quality, self.effective_rd, open_best, caps
        )
        level = capabilities.efficiency_level(self.accounts.spend["efficiency"], caps)
        self.efficiency_talent = self.cost_efficiency / level

    def update_capabilities(self, open_best: float) -> None:
        """Quality moves towards the level its research sustains (relative to the moving
        world frontier, lifted by the best open-weight model), and jumps with a
        breakthrough; cost efficiency moves towards the level its efficiency work
        sustains; supply is built above upkeep and decays below it.

        Args:
            open_best: the best open-weight model's quality at the start of the stage.
        """
        caps = self.model.params.capabilities
        spend = self.accounts.spend
        effective_rd = self.effective_rd
        target = capabilities.target_quality(self.talent, effective_rd, open_best, caps)
        self.quality = capabilities.step_quality(self.quality, target, caps)
        if self.collapsing:
            self.quality *= 1.0 - caps.talent_flight
        odds = capabilities.breakthrough_odds(
            self.quality, self.talent, self.cost_efficiency, effective_rd, caps
        )
        if not self.collapsing and self.model.rng.random() < odds:
            self.break_through(caps.breakthrough_size, forced=False)
        self.cost_efficiency = capabilities.step_efficiency(
            self.cost_efficiency, self.efficiency_talent, spend["efficiency"], caps
        )
        self.supply = capabilities.step_supply(
            self.supply, spend["supply"], self.supply_upkeep, caps
        )
        month = self.model.month
        tranche = sum(p.tranche(month) for p in self.programmes if p.integration)
        fusion.integrate(self, tranche, caps.integration_scale_bn)

    def update_attention(self, *, steady: bool = False) -> None:
        """The marketing stock follows this month's marketing (campaigns included):
        ``attention = m*attention + (1-m)*ln(1 + marketing/scale)``. At month 0 (`steady`)
        the stock is at its steady state. (News fades once a month, as the month opens.)"""
        aw = self.model.params.awareness
        target = math.log1p(self.marketing_bn / aw.marketing_scale_bn) if self.in_market else 0.0
        memory = 0.0 if steady else aw.marketing_memory
        self.attention = memory * self.attention + (1.0 - memory) * target

    def make_news(self, size: float) -> None:
        """News about the firm: its buzz rises by `size` (it fades by news_memory as
        each month opens, AIMarket.open_month)."""
        self.buzz += size

    def break_through(self, size: float, *, forced: bool) -> None:
        """A DeepSeek-style jump: the firm leaps `size` past the world frontier (1.0), keeps
        part of it as research talent (``breakthrough_talent_gain``), and the leap makes
        news."""
        self.quality = max(self.quality, 1.0) + size
        # part of the leap is know-how the lab keeps: its research talent rises for good
        self.talent *= 1.0 + self.model.params.capabilities.breakthrough_talent_gain * size
        self.breakthroughs += 1
        self.make_news(self.model.params.awareness.breakthrough_news * size)
        self.model.log_event("breakthrough", self.firm_id, f"size {size:.2f}", forced=forced)

    def settle_accounts(
        self, users_m: float, mau_m: float, supply_need: float, api_revenue: float
    ) -> None:
        """Work out the month's revenue and costs by line: consumer ads/subscriptions,
        commerce from supply, API sales, the defended legacy business; inference and API
        serving costs. (Capital moves in :meth:`book`.)

        Args:
            users_m: real users (millions) whose main assistant this is.
            mau_m: real users (millions) who used it this month.
            supply_need: its main users' mean need for supply (0-1).
            api_revenue: the firm's sales of API tokens this month (bn).
        """
        econ = self.model.params.economics
        self.users_m = users_m
        self.mau_m = mau_m
        acc = self.accounts
        acc.consumer_revenue = self.mau_m * self.arpu / 1000.0
        acc.commerce_revenue = (
            self.mau_m * econ.commerce_rmb_per_user * self.supply * supply_need / 1000.0
        )
        acc.api_revenue = api_revenue
        acc.api_cost = api_revenue / (1.0 + self.markup)
        acc.legacy_revenue = fusion.defended_profit(self, econ.legacy_margin)
        tokens_per_user = self.model.tokens_per_user_m
        acc.inference_cost = self.mau_m * tokens_per_user * self.model.unit_cost(self) / 1000.0
        self.api_tokens_tn = pricing.api_tokens_tn(api_revenue, self.api_price)
        self.consumer_tokens_tn = pricing.consumer_tokens_tn(self.mau_m, tokens_per_user)
        self.api_revenue_history.append(api_revenue)

    def book(self) -> None:
        """Capital moves by revenue - costs; rivals' assistants erode the legacy business
        as far as the fused AI does not defend it (sim/fusion.py)."""
        self.capital += self.accounts.revenue - self.accounts.costs
        fusion.erode(self, self.model)

    def open_books(self) -> None:
        """A fresh month: no revenue, costs or funding yet."""
        self.last_accounts = self.accounts
        self.accounts = Accounts()

    def receive(self, amount_bn: float, why: str) -> None:
        """Cash in: a round, an IPO, or a parent's tranche or top-up."""
        if amount_bn <= 0:
            return
        self.accounts.funding += amount_bn
        self.capital += amount_bn
        if why == "topup":
            self.parent_topups += amount_bn

    def measure_kill_line(self) -> None:
        """Runway and distance to the kill line (see sim/kill_line.py for the definition)."""
        from sim.kill_line import distance_to_kill_line

        kill = self.model.params.kill_line
        self.runway_months = self.runway_on(self.capital + self.headroom, self.recurring_burn)
        presence = max(self.model.user_share(self), self.api_share)
        self.distance_to_kill_line = distance_to_kill_line(
            self.runway_months, presence, kill.runway_months, kill.share_floor[self.tier]
        )

    def leave_market(
        self, status: str, acquirer: str = "", *, price: float = math.nan, deal: str = ""
    ) -> None:
        """Exit for good: acquired (at `price`, bn; `deal` says whether the product lives
        on), pivoted out of the general market, or closed."""
        self.status = status
        self.status_month = self.model.month
        self.acquirer = acquirer
        self.api_share = 0.0
        detail = f"{deal} by {acquirer}".strip() if acquirer else ""
        self.model.log_event(status, self.firm_id, detail, price)
