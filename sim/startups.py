"""The long tail: hundreds of thousands of young AI companies, as numpy arrays.

Each simulated startup stands for ``weight`` real firms. Per startup: birth month, whether
it is alive, the month it closed, and its monthly spend on model tokens (which feeds the
model makers' API revenue). Startups are born at the registration rates in
``startups.births_per_month`` from ``warmup_start`` on, and close with a monthly hazard:

    hazard = base_hazard * (1 + price_war_hazard * price_war
                              + encroachment_hazard * encroachment
                              + climate_hazard * climate
                              - token_cost_share * token_saving)

``price_war`` is the fall of vendors' markups below their normal margin (``api_markup``),
share-weighted, in steps of ``price_war_step``: giants selling model services below their
usual margin compete with the startups that sell AI services (a squeeze on their margins,
not on their costs), so it raises the hazard. ``token_saving`` is how much cheaper tokens
are than at month 0 (``1 - P / P_0`` of the API market's price index): cheaper tokens lower
the startups' costs, so it lowers the hazard, in proportion to the share of a startup's
costs that tokens are (``token_cost_share``). A fall of costs along the industry's trend is
thus a saving and not a war; only margins cut below normal are. ``encroachment`` is the
giants' spending over their 2025 run-rate (1 = doubled) and ``climate`` the funding
climate's shortfall from neutral in steps of ``climate_step``. Before the simulation starts
the pressures are zero, so ``base_hazard`` alone is calibrated to the article's count (F1,
F2): about 869,000 firms aged 1-3 years alive and 168,000 closed on 2026-01-29.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sim.calendar import month_label, ordinal
from sim.schema import Startups as StartupParams

if TYPE_CHECKING:
    from sim.model import AIMarket


@dataclass(frozen=True)
class Pressure:
    """What raises the closure hazard this month (each 0 in a calm market)."""

    price_war: float = 0.0
    encroachment: float = 0.0
    climate: float = 0.0
    token_saving: float = 0.0


def births_in(params: StartupParams, year_month: str) -> float:
    """Real AI-company registrations in a calendar month (the latest listed year's rate
    holds for later years)."""
    years = sorted(params.births_per_month)
    year = year_month[:4]
    known = [y for y in years if y <= year]
    return params.births_per_month[known[-1] if known else years[0]]


def hazard(params: StartupParams, pressure: Pressure) -> float:
    """Monthly closure probability of a startup under `pressure`."""
    rise = (
        params.price_war_hazard * pressure.price_war
        + params.encroachment_hazard * pressure.encroachment
        + params.climate_hazard * pressure.climate
        - params.token_cost_share * pressure.token_saving
    )
    return min(1.0, max(0.0, params.base_hazard * (1.0 + rise)))


def startup_pressure(model: AIMarket) -> Pressure:
    """This month's pressures on the long tail from the firms and the funding climate."""
    econ, rules = model.params.economics, model.params.startups
    firms = model.firms_in_market()
    shares = np.array([f.api_share for f in firms])
    # the share-weighted cut of markups below normal, as a fraction of the normal price
    cuts = np.array([econ.api_markup - f.markup for f in firms])
    total = float(shares.sum())
    cut = float(shares @ cuts) / (total * (1.0 + econ.api_markup)) if total > 0 else 0.0
    giants = sum(f.spend_total for f in firms if f.tier == "giant")
    return Pressure(
        price_war=max(0.0, cut / rules.price_war_step),
        encroachment=max(0.0, giants / max(model.giants_base_spend, 1e-12) - 1.0),
        climate=max(0.0, (1.0 - model.sentiment) / rules.climate_step),
        token_saving=1.0 - model.api_price_index / model.api.price_0,
    )


class StartupPopulation:
    """Young AI companies from ``warmup_start`` to the end of the run.

    Args:
        params: the scenario's ``startups`` block.
        n_sim: simulated startups (capacity over the whole period).
        start: the run's first month ("YYYY-MM").
        months: the run's horizon.
        rng: the model's random generator.
    """

    def __init__(
        self, params: StartupParams, n_sim: int, start: str, months: int, rng: np.random.Generator
    ) -> None:
        self.params = params
        self.rng = rng
        self.start = start
        first = ordinal(params.warmup_start)
        last = ordinal(start) + months - 1
        self.calendar = [month_label(m - ordinal(start) + 1, start) for m in range(first, last + 1)]
        real_births = np.array([births_in(params, ym) for ym in self.calendar])
        self.weight = float(real_births.sum() / max(n_sim, 1)) if n_sim else 0.0
        capacity = n_sim + len(self.calendar) + 1
        self.birth = np.full(capacity, -1, dtype=np.int32)
        self.closed_at = np.full(capacity, -1, dtype=np.int32)
        self.token_spend = np.zeros(capacity, dtype=np.float32)
        self.n = 0
        self._real_births = real_births
        self._carry = 0.0
        self.warmup_months = ordinal(start) - first
        self.step_index = 0
        self.last_hazard = 0.0
        self.born_this_month = 0
        self.closed_this_month = 0
        self._token_spend_bn: float | None = None
        for _ in range(self.warmup_months):
            self.step(Pressure())

    def step(self, pressure: Pressure) -> None:
        """One month: this month's cohort is born, then alive startups close by the hazard."""
        self._token_spend_bn = None
        if self.weight == 0.0:
            self.step_index += 1
            return
        expected = self._real_births[self.step_index] / self.weight + self._carry
        born = int(expected)
        self._carry = expected - born
        born = min(born, len(self.birth) - self.n)
        new = slice(self.n, self.n + born)
        self.birth[new] = self.step_index
        mean_spend = self.params.token_spend_rmb_month
        self.token_spend[new] = self.rng.exponential(mean_spend, born)
        self.n += born
        self.born_this_month = born

        alive = np.flatnonzero(
            self._alive_mask()[: self.n] & (self.birth[: self.n] < self.step_index)
        )
        self.last_hazard = hazard(self.params, pressure)
        closing = alive[self.rng.random(len(alive)) < self.last_hazard]
        self.closed_at[closing] = self.step_index
        self.closed_this_month = len(closing)
        self.step_index += 1

    def _alive_mask(self) -> np.ndarray:
        return (self.birth >= 0) & (self.closed_at < 0)

    @property
    def token_spend_bn(self) -> float:
        """Real startups' monthly spend on model tokens, billions of RMB."""
        # read several times a month and changed only by `step`: computed once per month
        if self._token_spend_bn is None:
            alive = self.token_spend[self._alive_mask()]
            self._token_spend_bn = float(alive.sum() * self.weight / 1e9)
        return self._token_spend_bn

    def census(self) -> dict[str, float]:
        """Real counts at the end of the latest month: alive and closed, in all and among
        firms aged 1-3 years (born 12 to 35 months before this month)."""
        now = self.step_index - 1
        born = self.birth[: self.n]
        closed = self.closed_at[: self.n] >= 0
        age = now - born
        aged = (age >= 12) & (age < 36)
        w = self.weight
        return {
            "born": self.born_this_month * w,
            "closed_this_month": self.closed_this_month * w,
            "alive": float((~closed).sum() * w),
            "closed": float(closed.sum() * w),
            "alive_aged_1_3": float((~closed & aged).sum() * w),
            "closed_aged_1_3": float((closed & aged).sum() * w),
            "hazard": self.last_hazard,
            "token_spend_bn": self.token_spend_bn,
        }
