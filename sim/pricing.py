"""Prices and costs: each firm sets its API price per million tokens.

A firm's price is its unit cost (the industry's falling cost over its cost efficiency)
times one plus its markup. The markup is the firm's decision; each month it moves a share
``price_adjust`` of the way to

    target = api_markup * utilisation ** scarcity_elasticity
                        * min(1, api_share / api_share_0) ** volume_elasticity

and never below ``min_markup``. ``utilisation`` is the tokens the firm serves (API and its
own assistant's users) over its serving capacity. Capacity is planned a month ahead for
the firm's demand trend (its mean growth over ``funding.momentum_months``), and closes
``capacity_adjust`` of any gap a surprise left: when demand outruns capacity the firm holds or
raises its price (2026's price rises on some plans); when it loses API share and has room
to spare it undercuts to win volume back (the May-2024 war), down to ``min_markup`` below
its cost. A share it has gained is not priced up for itself: it shows as scarcity when
demand outruns capacity. The floor makes the cost-efficiency edge decisive in a war: at
``min_markup`` the efficient firm's price is lower, and a firm whose cost is above the
market's price either loses volume or sells at a loss.

Token demand per user grows at ``token_growth`` a month (reasoning, agents, coding), so
inference cost weighs more over time for a firm with poor cost efficiency. At month 0
utilisation is 1 and shares are the roster's, so the markup stays at ``api_markup``.
Token volumes are in trillions of tokens a month.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sim.firms import Firm
    from sim.schema import Economics


def api_tokens_tn(api_revenue_bn: float, price_rmb: float) -> float:
    """API tokens sold in a month (trillions) from revenue (bn) and price (RMB per M)."""
    return api_revenue_bn * 1e3 / price_rmb if price_rmb > 0 else 0.0


def consumer_tokens_tn(mau_m: float, tokens_per_user_m: float) -> float:
    """Tokens the firm's own assistant serves in a month (trillions)."""
    return mau_m * tokens_per_user_m


def markup_target(firm: Firm, econ: Economics) -> float:
    """The markup the firm aims at this month."""
    utilisation = firm.tokens_tn / firm.capacity_tn if firm.capacity_tn > 0 else 1.0
    volume = firm.api_share / firm.api_share_start if firm.api_share_start > 0 else 1.0
    lost = min(1.0, max(volume, 1e-6))  # only lost volume is fought for; gains show as scarcity
    return econ.api_markup * utilisation**econ.scarcity_elasticity * lost**econ.volume_elasticity


def demand_growth(history: list[float], months: int) -> float:
    """Mean monthly growth factor of token demand over the last `months` months (or as
    many as there are)."""
    months = min(months, len(history) - 1)
    if months < 1 or history[-months - 1] <= 0 or history[-1] <= 0:
        return 1.0
    return (history[-1] / history[-months - 1]) ** (1.0 / months)


def set_price(firm: Firm, econ: Economics, months: int) -> None:
    """The firm's pricing decision for next month: the markup moves towards its target;
    capacity is planned for the demand trend of the last `months` months and closes
    ``capacity_adjust`` of any gap left."""
    target = markup_target(firm, econ)
    firm.markup = max(econ.min_markup, firm.markup + econ.price_adjust * (target - firm.markup))
    firm.tokens_history.append(firm.tokens_tn)
    growth = demand_growth(firm.tokens_history, months)
    gap = firm.capacity_tn - firm.tokens_tn
    firm.capacity_tn = (firm.tokens_tn + (1.0 - econ.capacity_adjust) * gap) * growth
