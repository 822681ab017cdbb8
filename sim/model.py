"""AIMarket: the Mesa model of China's AI-model market, one month per step.

``step()`` is the month of the model description (docs/model.md, DESIGN.md section 4):
events fire, firms set budgets, capabilities move, users move, accounts settle, money is
raised and distressed firms are bought, the kill line is applied, the long tail of startups
lives and dies, and the month is recorded.

Usage::

    from sim.scenario import load_scenario
    model = AIMarket(load_scenario("sprint_race"), rng=1)
    model.run_for(36)
    tables = model.tables()
"""

from __future__ import annotations

import functools
import math
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path

import mesa
import numpy as np

from sim import api_market, funding, kill_line, pricing
from sim.calendar import month_label
from sim.events import EventSchedule
from sim.firms import Firm
from sim.metrics import hhi, top_share
from sim.scenario import Scenario, load_scenario
from sim.schema import SEGMENTS, TIERS
from sim.startups import Pressure, StartupPopulation, startup_pressure
from sim.tables import FIRM_COLUMNS, MARKET_COLUMNS, Recorder
from sim.users import MarketView, UserPopulation
from sim.verticals import VerticalMarkets


def stage(name: str) -> Callable:
    """Mark a method as a stage of the month; its wall time adds to ``stage_seconds``."""

    def wrap(method: Callable) -> Callable:
        @functools.wraps(method)
        def timed(self: AIMarket, *args, **kwargs):
            began = time.perf_counter()
            result = method(self, *args, **kwargs)
            self.stage_seconds[name] += time.perf_counter() - began
            return result

        return timed

    return wrap


class AIMarket(mesa.Model):
    """China's AI-model market: firms (Mesa agents), users and startups (numpy arrays).

    Args:
        scenario: a resolved Scenario, or a path / scenario name to load.
        rng: integer seed; defaults to the scenario's ``run.seed``.
        record: the optional tables to record, of ``migration`` and ``startups``
            (default: both); firms, market and events are always recorded. Leaving them
            out changes no result, it only saves time (ensembles).
    """

    def __init__(
        self,
        scenario: Scenario | str | Path,
        *,
        rng: int | None = None,
        record: Iterable[str] | None = None,
    ) -> None:
        began = time.perf_counter()
        params = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
        seed = params.run.seed if rng is None else int(rng)
        super().__init__(rng=seed)
        self.params = params
        self.seed = seed
        self.month = 0
        self.recorder = Recorder(record)
        self.stage_seconds: dict[str, float] = defaultdict(float)
        self.firm_list = [
            Firm(self, firm_id, entry, index)
            for index, (firm_id, entry) in enumerate(params.firms.items())
        ]
        self._by_id = {firm.firm_id: firm for firm in self.firm_list}
        self.verticals = VerticalMarkets(params.verticals, self)
        self.users = UserPopulation(params, params.run.users, self.rng)
        self.startups = StartupPopulation(
            params.startups,
            params.run.startups,
            params.run.start,
            params.run.months,
            self.rng,
        )
        self.schedule_of_events = EventSchedule(self)
        self.giants_base_spend = sum(f.base_spend for f in self.firm_list if f.tier == "giant")
        self.ipo_window_until = 0

        self.set_budgets()
        open_best = self.open_best
        for firm in self.firm_list:
            firm.calibrate_capabilities(open_best)
            firm.update_attention(steady=True)
        market = params.market
        self.month0_fit = self.users.fit_month0(
            self.market_view(), market.reconsider_rate, market.bass_p, market.bass_q
        )
        self.api = api_market.ApiMarket(self)
        self.verticals.sell()
        self.settle_accounts(book=False)
        for firm in self.firm_list:
            firm.capacity_tn = firm.tokens_tn
            firm.tokens_history.append(firm.tokens_tn)
            firm.reviewed_loss = firm.burn
            firm.measure_kill_line()
        self.count_users()
        for firm in self.firm_list:
            firm.presence_start = max(firm.share, firm.api_share)
            firm.rivals_users_start = self.total_users_m - firm.users_m
        funding.start(self)
        self.collect()
        # All of the above builds month 0: it counts as set-up, and the stages count months.
        self.stage_seconds = defaultdict(float, {"set-up": time.perf_counter() - began})

    # ------------------------------------------------------------------ the month

    def step(self) -> None:
        """One month of the market, stage by stage."""
        self.open_month()
        self.fire_events()
        self.set_budgets()
        self.update_capabilities()
        self.update_attention()
        self.move_users()
        self.sell_in_verticals()
        self.settle_accounts()
        self.set_prices()
        self.raise_funds()
        self.acquire_distressed()
        self.apply_kill_line()
        self.grow_startups()
        self.count_users()
        self.collect()

    @stage("events")
    def open_month(self) -> None:
        """Turn the calendar and open a fresh set of books for every firm."""
        self.month += 1
        memory = self.params.awareness.news_memory
        for firm in self.firm_list:
            firm.open_books()
            firm.buzz *= memory  # last month's news fades before this month's is made

    @stage("events")
    def fire_events(self) -> None:
        """Events due this month act (section 5 of the design)."""
        self.schedule_of_events.fire(self.month)

    @stage("budgets")
    def set_budgets(self) -> None:
        """Every firm in the market decides this month's spend by line."""
        for firm in self.firms_in_market():
            firm.set_budget()

    @stage("capabilities")
    def update_capabilities(self) -> None:
        """Quality, breakthroughs, cost efficiency and supply move with the spend."""
        open_best = self.open_best
        for firm in self.firms_in_market():
            firm.update_capabilities(open_best)

    @stage("capabilities")
    def update_attention(self) -> None:
        """Every firm's marketing stock follows this month's marketing."""
        for firm in self.firms_in_market():
            firm.update_attention()

    @stage("users")
    def move_users(self) -> None:
        """Users meet assistants, review, adopt, lapse and return (sim/users.py)."""
        market, aw = self.params.market, self.params.awareness
        campaigns = sum(f.campaign_spend for f in self.firms_in_market())
        buzz = sum(f.buzz for f in self.firms_in_market())
        rate = (
            market.reconsider_rate * (1.0 + aw.news_reconsider * buzz)
            + market.campaign_reconsider_per_bn * campaigns
        )
        self.users.choice = self.params.choice
        self.users.awareness = aw
        self.users.move(self.market_view(), min(1.0, rate), market.bass_p, market.bass_q)

    @stage("accounts")
    def sell_in_verticals(self) -> None:
        """Each vertical's customers choose among its rivals (sim/verticals.py)."""
        self.verticals.sell()

    @stage("accounts")
    def settle_accounts(self, *, book: bool = True) -> None:
        """Revenue and costs of the month; capital moves by revenue - costs."""
        users_m = self.users.users_m()
        mau_m = self.users.mau_m()
        need = self.users.supply_need()
        self.total_mau_m = float(mau_m.sum())
        api_shares = self.api_shares()
        self.api_price_index = self.api.price_index(self, api_shares)
        self.api_tokens_tn = self.api.demand_tn(self, self.api_price_index)
        self.api_market_bn = 0.0
        for firm in self.firms_in_market():
            firm.api_share = float(api_shares[firm.index])
            revenue = self.api_tokens_tn * firm.api_share * self.api_price(firm) / 1e3
            self.api_market_bn += revenue
            firm.settle_accounts(
                float(users_m[firm.index]),
                float(mau_m[firm.index]),
                float(need[firm.index]),
                revenue,
            )
            if book:
                firm.book()

    @stage("accounts")
    def set_prices(self) -> None:
        """Every firm decides next month's API markup; serving capacity follows demand."""
        econ = self.params.economics
        for firm in self.firms_in_market():
            pricing.set_price(firm, econ, self.params.funding.momentum_months)

    @stage("funding")
    def raise_funds(self) -> None:
        """Parents pay tranches and top-ups; venture-funded firms raise rounds."""
        funding.raise_funds(self)

    @stage("funding")
    def acquire_distressed(self) -> None:
        """Giants buy distressed firms whose users and team are worth carrying."""
        funding.acquire_distressed(self)

    @stage("kill_line")
    def apply_kill_line(self) -> None:
        """Distances to the kill line; crossings start collapses; due collapses end."""
        kill_line.apply_kill_line(self)

    @stage("startups")
    def grow_startups(self) -> None:
        """The long tail of startups is born and dies under this month's pressures."""
        self.startups.step(self.pressure())

    @stage("users")
    def count_users(self) -> None:
        """Count each firm's users and MAU at the month's end (after exits moved theirs),
        the figures shares, the kill line's presence and funding's momentum read."""
        users_m, mau_m = self.users.users_m(), self.users.mau_m()
        self.total_users_m = float(users_m.sum())
        self.total_mau_m = float(mau_m.sum())
        for firm in self.firm_list:
            firm.users_m = float(users_m[firm.index])
            firm.mau_m = float(mau_m[firm.index])
            firm.users_history.append(firm.mau_m)

    @stage("collection")
    def collect(self) -> None:
        """Record the month: firm rows, market row, migration and startups."""
        self.recorder.record(self)

    # ------------------------------------------------------------------ running

    def run(self, months: int | None = None) -> AIMarket:
        """Run `months` months (default: the scenario's horizon); returns the model."""
        self.run_for(self.params.run.months if months is None else months)
        return self

    def tables(self) -> dict:
        """The run's tidy tables as pandas DataFrames (see sim/tables.py)."""
        return self.recorder.tables(self)

    # ------------------------------------------------------------------ firms

    def firm(self, firm_id: str) -> Firm:
        """The firm with this roster id."""
        return self._by_id[firm_id]

    def firms_in_market(self) -> list[Firm]:
        """Firms still competing (active or collapsing), in roster order."""
        return [firm for firm in self.firm_list if firm.in_market]

    def remove_from_market(
        self,
        firm: Firm,
        status: str,
        acquirer: str = "",
        *,
        price: float = math.nan,
        deal: str = "",
    ) -> None:
        """A firm leaves the market for good; its remaining users choose again now. A sale
        records its `price` (bn) and kind of `deal`."""
        firm.leave_market(status, acquirer, price=price, deal=deal)
        self.users.evacuate(firm.index, self.market_view())

    def shift_parameters(self, updates: dict[str, float]) -> None:
        """Parameters take new values from this month on (a `parameter_shift` event); the
        loader validated them, so they are set as they are."""
        params = self.params
        for key, value in updates.items():
            section, name = key.split(".", 1)
            block = getattr(params, section)
            # shifts arrive as floats; an integer parameter keeps its type
            typed = type(getattr(block, name))(value)
            block = block.model_copy(update={name: typed})
            params = params.model_copy(update={section: block})
        self.params = params

    def log_event(
        self,
        kind: str,
        firm: str,
        detail: str = "",
        amount_bn: float = math.nan,
        *,
        forced: bool = False,
    ) -> None:
        """Write an event (scheduled or arising in the model) to the events table;
        `amount_bn` is the money it moves (a round's size, a deal's price)."""
        origin = "scenario" if forced else "model"
        self.recorder.event(self, kind, firm, detail, origin, amount_bn)

    # ------------------------------------------------------------------ derived

    @property
    def date(self) -> str:
        """Calendar month of the current state ("YYYY-MM")."""
        return month_label(self.month, self.params.run.start)

    @property
    def open_best(self) -> float:
        """The best open-weight model in the market (quality; 0 if none)."""
        return max((f.quality for f in self.firms_in_market() if f.open_weights), default=0.0)

    @property
    def ipo_window_open(self) -> bool:
        """Whether an `ipo_window` event has opened a window that lasts this month."""
        return self.month < self.ipo_window_until

    @property
    def best_quality(self) -> float:
        """The best model in the market (quality; the world frontier is 1.0)."""
        return max((f.quality for f in self.firms_in_market()), default=1.0)

    def user_share(self, firm: Firm) -> float:
        """The firm's share of the assistants' MAU."""
        return firm.mau_m / self.total_mau_m if self.total_mau_m > 0 else 0.0

    @property
    def shares(self) -> dict[str, float]:
        """Consumer user share of every firm."""
        return {f.firm_id: self.user_share(f) for f in self.firm_list}

    @property
    def hhi(self) -> float:
        """Concentration of consumer users (Herfindahl-Hirschman, 0-1)."""
        return hhi(self.shares.values())

    @property
    def top3_share(self) -> float:
        """Combined consumer share of the three largest assistants."""
        return top_share(self.shares.values(), 3)

    def tier_share(self, tier: str) -> float:
        """Consumer share held by one tier of firm."""
        return sum(self.user_share(f) for f in self.firm_list if f.tier == tier)

    @property
    def adopters_m(self) -> float:
        """Real people (millions) who have adopted generative AI (CNNIC's basis)."""
        return self.users.n_adopters * self.users.weight_m

    @property
    def active_users_m(self) -> float:
        """Real people (millions) who used at least one assistant app this month."""
        return self.users.active_m

    @property
    def mau_per_active(self) -> float:
        """Assistants used per active user this month (the multi-homing ratio)."""
        active = self.users.active_m
        return self.total_mau_m / active if active > 0 else 0.0

    @property
    def sentiment(self) -> float:
        """The funding climate (1 = 2025's); `funding_climate` events shift it."""
        return self.params.funding.sentiment

    @property
    def tokens_per_user_m(self) -> float:
        """Million tokens a month a consumer assistant's monthly user takes this month
        (grows at ``economics.token_growth``: reasoning, agents, coding)."""
        econ = self.params.economics
        return econ.tokens_per_user_month_m * (1.0 + econ.token_growth) ** self.month

    def unit_cost(self, firm: Firm) -> float:
        """The firm's cost of serving a million tokens this month (RMB)."""
        return api_market.unit_cost(self, firm)

    def api_price(self, firm: Firm) -> float:
        """The firm's API price per million tokens (RMB): unit cost plus its markup (its
        decision, sim/pricing.py)."""
        return api_market.api_price(self, firm)

    def api_shares(self) -> np.ndarray:
        """Token shares of the API market: a logit on quality and price (sim/api_market.py)."""
        return self.api.shares(self)

    def pressure(self) -> Pressure:
        """Pressures on startups: token prices, giants' encroachment, funding climate."""
        return startup_pressure(self)

    def market_view(self) -> MarketView:
        """The firms as users see them this month."""
        firms = self.firm_list
        kill = self.params.kill_line
        stick = self.params.market.supply_stickiness
        return MarketView(
            quality=np.array([f.quality for f in firms]),
            supply=np.array([f.supply for f in firms]),
            social=np.array([f.social for f in firms]),
            attention=np.array([f.attention if f.in_market else 0.0 for f in firms]),
            buzz=np.array([f.buzz if f.in_market else 0.0 for f in firms]),
            cash_bn=np.array([f.campaign_spend if f.in_market else 0.0 for f in firms]),
            fit=np.array([[f.segment_fit[s] for s in SEGMENTS] for f in firms]),
            home_mask=np.array([self.users.home_mask(f.home_apps) for f in firms], dtype=np.uint64),
            choosable=np.array([f.status == "active" for f in firms]),
            stickiness=np.array([1.0 - stick * f.supply for f in firms]),
            flight=np.array([kill.flight_rate if f.collapsing else 0.0 for f in firms]),
            trial_review_rate=np.array([f.trial_review_rate for f in firms]),
            forgetting=np.array([f.entry_forgetting for f in firms]),
        )


__all__ = ["FIRM_COLUMNS", "MARKET_COLUMNS", "TIERS", "AIMarket"]
