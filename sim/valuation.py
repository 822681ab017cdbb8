"""Venture money follows valuation.

A venture-funded firm's valuation (bn) is

    valuation = sentiment_index * revenue_multiple * 12 * revenue * exp(momentum_weight * momentum)

``revenue`` is the month's revenue from every line, domestic and overseas; ``momentum``
is the growth of the firm's users and of its API revenue over ``momentum_months`` (each
capped at ``momentum_cap``), weighted ``user_momentum_weight`` and the rest, so a firm
whose API or coding business grows can raise while its consumer users fade (Moonshot),
and one whose revenue and users shrink loses its price. ``sentiment_index`` is the funding
climate (``funding.sentiment``, moved by events) times the momentum of the listed peers
(``exp(momentum_weight * mean momentum)`` of listed firms in the market, to the power
``peer_weight``). One multiple prices the three model makers of the start: Moonshot's
Series C, Zhipu's and MiniMax's listings (seeds/parameters.toml), with no separate value
for a team: investors pay for revenue and its growth.

A firm whose own-cash runway is under ``seek_below_runway_months`` seeks a round of
``round_runway_months`` of its burn. Investors take it if the round is at most
``max_dilution`` of the post-money valuation; a round takes time to close (``round_close``
a month, times the funding climate ``funding.sentiment``: in a cold climate fewer investors
are in the market). A round refused by private investors can come from a state fund, which backs
only its picks (sim/funding.py: the strongest few general-model teams that are not
shrinking, ``state_fund_close`` a month). During an IPO window (an event) an unlisted firm
worth at least ``ipo_min_valuation_bn`` lists and sells ``ipo_float`` of its shares.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sim.firms import Firm
    from sim.model import AIMarket


def _growth(history: list[float], months: int, cap: float) -> float:
    if len(history) <= months or history[-months - 1] <= 0:
        return 0.0
    return min(cap, history[-1] / history[-months - 1] - 1.0)


def momentum(firm: Firm, months: int, user_weight: float, cap: float) -> float:
    """Blend of user growth and API-revenue growth over `months`, each capped at `cap`."""
    users = _growth(firm.users_history, months, cap)
    api = _growth(firm.api_revenue_history, months, cap)
    return user_weight * users + (1.0 - user_weight) * api


def sentiment_index(model: AIMarket) -> float:
    """Funding climate times the momentum of listed peers."""
    funding = model.params.funding
    listed = [f for f in model.firms_in_market() if f.listed]
    if not listed:
        return funding.sentiment
    mean = sum(
        momentum(f, funding.momentum_months, funding.user_momentum_weight, funding.momentum_cap)
        for f in listed
    )
    mean /= len(listed)
    return funding.sentiment * math.exp(funding.momentum_weight * mean) ** funding.peer_weight


def valuation(firm: Firm, model: AIMarket, index: float | None = None) -> float:
    """The firm's valuation (bn) this month."""
    funding = model.params.funding
    index = sentiment_index(model) if index is None else index
    fundamentals = funding.revenue_multiple * 12.0 * max(firm.revenue, 0.0)
    growth = momentum(
        firm, funding.momentum_months, funding.user_momentum_weight, funding.momentum_cap
    )
    return index * fundamentals * math.exp(funding.momentum_weight * growth)
