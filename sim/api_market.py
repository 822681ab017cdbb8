"""The API (token) market: demand in tokens that answers to price, shared among vendors
by a logit on quality and price.

Every vendor's unit cost is the industry's cost of serving a million tokens, falling at
``industry_cost_decline`` a month, over its cost efficiency; its price is that cost times
one plus its markup (its decision, sim/pricing.py). Buyers spread their tokens over the
vendors by a logit,

    a_j     = api_b_quality * quality_j - api_b_price * ln(price_j)
    share_j = c_j * exp(a_j) / sum_k c_k * exp(a_k)

with channel weights ``c_j`` fitted at month 0 so that the shares are the roster's (P12).
The market's demand for tokens (trillions a month) answers to the share-weighted price
``P``:

    demand = D_other * (1 + api_market_growth) ** t * (P / P_0) ** -api_price_elasticity
             + 1000 * startups_spend_bn / P

``D_other`` is ``api_tokens_tn_month`` (the month-0 market) less the startups' month-0
tokens; the startups spend a fixed sum of money on tokens, so cheaper tokens buy them more.
A vendor sells ``share_j * demand`` tokens at its own price, and pays its unit cost on each:
a firm whose cost is above the market's price either holds its price and loses volume, or
follows the market and loses money on every token.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sim.firms import Firm
    from sim.model import AIMarket


def industry_cost(model: AIMarket) -> float:
    """The industry's cost of serving a million tokens this month (RMB)."""
    econ, caps = model.params.economics, model.params.capabilities
    return econ.unit_cost_rmb_per_m_tokens * (1.0 - caps.industry_cost_decline) ** model.month


def unit_cost(model: AIMarket, firm: Firm) -> float:
    """The firm's cost of serving a million tokens this month (RMB)."""
    return industry_cost(model) / firm.cost_efficiency


def api_price(model: AIMarket, firm: Firm) -> float:
    """The firm's API price per million tokens (RMB): unit cost times one plus its markup."""
    return unit_cost(model, firm) * (1.0 + firm.markup)


class ApiMarket:
    """The token market's month-0 fit (channel weights, demand, price level) and its
    demand and shares in any later month."""

    def __init__(self, model: AIMarket) -> None:
        econ = model.params.economics
        self.channel = np.ones(len(model.firm_list))
        appeal = self._appeal(model)
        seeds = np.array([f.api_share for f in model.firm_list])
        self.channel = seeds * np.exp(-(appeal - appeal.max()))
        self.price_0 = self.price_index(model, self.shares(model))
        startup_tokens = 1e3 * model.startups.token_spend_bn / self.price_0
        self.other_tokens_0 = max(0.0, econ.api_tokens_tn_month - startup_tokens)

    def _appeal(self, model: AIMarket) -> np.ndarray:
        econ = model.params.economics
        appeal = np.zeros(len(model.firm_list))
        for firm in model.firms_in_market():
            price = api_price(model, firm)
            appeal[firm.index] = econ.api_b_quality * firm.quality - econ.api_b_price * math.log(
                price
            )
        return appeal

    def shares(self, model: AIMarket) -> np.ndarray:
        """Token shares of the vendors in the market (a logit on quality and price)."""
        appeal = self._appeal(model)
        in_market = np.array([f.in_market for f in model.firm_list])
        weight = np.where(in_market, self.channel * np.exp(appeal - appeal.max()), 0.0)
        total = weight.sum()
        return weight / total if total > 0 else weight

    def price_index(self, model: AIMarket, shares: np.ndarray) -> float:
        """The market's share-weighted price per million tokens (RMB)."""
        prices = np.array([api_price(model, f) for f in model.firm_list])
        total = shares.sum()
        return float(shares @ prices / total) if total > 0 else float(prices.mean())

    def demand_tn(self, model: AIMarket, price: float) -> float:
        """Tokens the market buys this month (trillions) at the price index `price`."""
        econ = model.params.economics
        trend = (1.0 + econ.api_market_growth) ** model.month
        response = (price / self.price_0) ** -econ.api_price_elasticity
        return self.other_tokens_0 * trend * response + 1e3 * model.startups.token_spend_bn / price
