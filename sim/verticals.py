"""Vertical sub-markets: music, video generation, enterprise deployment, medical, overseas
companion apps, each with its own demand, rivals and revenue.

Each month, in every vertical ``v`` (``seeds/verticals.toml``):

    revenue_v(t) = customers_v * revenue_per_customer_v * (1 + growth_v) ** t      (bn)
    appeal_i     = b_skill * skill_i + b_reach * ln(1 + reach_i) + b_price * ln(ce_i)
    share_i      = exp(appeal_i) / sum_j exp(appeal_j)        over the rivals in the niche
    revenue_i    = share_i * revenue_v(t)
    serving_i    = revenue_i * serve_cost_share_v / ce_i

A roster firm's skill in the niche moves with its general quality
(``skill_i = skill_i0 * quality_i / quality_i0``), and ``ce_i`` is its cost efficiency: a
rival's price is its unit cost plus the niche's markup, so ``ln(price)`` is ``-ln(ce)``
up to a constant every rival shares. Outside rivals (foreign services, the rest of a
niche) keep their seeded attributes: quality is relative to the moving world frontier.
A firm that has left the market leaves its niches; an ``enter_vertical`` event makes a
firm a rival (:meth:`VerticalMarkets.enter`). The revenue and the serving cost enter the
firm's accounts (``vertical_revenue``, ``vertical_cost``), so that funding, valuation and
the kill line see them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sim.model import AIMarket
    from sim.schema_verticals import Verticals


@dataclass
class Rival:
    """A rival in one vertical: a roster firm (``firm`` set) or an outside one."""

    rival_id: str
    skill: float
    reach_m: float
    cost_efficiency: float = 1.0
    firm: object = None  # the Firm agent, for roster rivals
    quality_start: float = 1.0
    share: float = 0.0
    revenue_bn: float = 0.0

    @property
    def present(self) -> bool:
        return self.firm is None or self.firm.in_market

    def attributes(self) -> tuple[float, float, float]:
        """Skill, reach (million people) and cost efficiency this month."""
        if self.firm is None:
            return self.skill, self.reach_m, self.cost_efficiency
        firm = self.firm
        skill = self.skill * firm.quality / self.quality_start if self.quality_start > 0 else 0.0
        return skill, self.reach_m, firm.cost_efficiency


class VerticalMarkets:
    """The vertical sub-markets of a run and their rivals.

    Args:
        verticals: the scenario's ``verticals`` block.
        model: the market whose firms compete in the niches.
    """

    def __init__(self, verticals: Verticals, model: AIMarket) -> None:
        self.params = verticals
        self.model = model
        self.rivals: dict[str, list[Rival]] = {}
        for key, market in verticals.markets.items():
            self.rivals[key] = []
            for rival_id, rival in market.rivals.items():
                if rival_id in model.params.firms:
                    self._add(key, model.firm(rival_id), rival.skill, rival.reach_m)
                else:
                    self.rivals[key].append(
                        Rival(rival_id, rival.skill, rival.reach_m, rival.cost_efficiency)
                    )

    def _add(self, key: str, firm, skill: float, reach_m: float) -> None:
        self.rivals[key].append(
            Rival(firm.firm_id, skill, reach_m, firm=firm, quality_start=firm.quality)
        )
        if key not in firm.entered_verticals:
            firm.entered_verticals.append(key)

    def enter(self, key: str, firm, skill: float, reach_m: float) -> None:
        """The firm enters vertical `key` as a rival (an incumbent keeps the better of its
        own and the announced skill and reach)."""
        for rival in self.rivals[key]:
            if rival.firm is firm:
                rival.skill = max(rival.skill, skill * rival.quality_start / firm.quality)
                rival.reach_m = max(rival.reach_m, reach_m)
                return
        self._add(key, firm, skill, reach_m)

    def revenue_bn(self, key: str) -> float:
        """The vertical's revenue this month (bn)."""
        market = self.params.markets[key]
        return market.revenue_bn_month * (1.0 + market.growth_month) ** self.model.month

    def shares(self, key: str) -> np.ndarray:
        """Rivals' shares of vertical `key` this month (a logit over their attributes; 0 for
        a firm that has left the market)."""
        p = self.params
        rivals = self.rivals[key]
        appeal = np.full(len(rivals), -np.inf)
        for i, rival in enumerate(rivals):
            if rival.present:
                skill, reach, efficiency = rival.attributes()
                appeal[i] = p.b_skill * skill + p.b_reach * math.log1p(reach)
                appeal[i] += p.b_price * math.log(efficiency)
        if not np.isfinite(appeal).any():
            return np.zeros(len(rivals))
        weight = np.exp(appeal - appeal[np.isfinite(appeal)].max())
        return weight / weight.sum()

    def sell(self) -> None:
        """Every niche's customers choose among its rivals; firms book the revenue and the
        cost of serving it (their accounts' vertical lines)."""
        for key, market in self.params.markets.items():
            total = self.revenue_bn(key)
            for rival, share in zip(self.rivals[key], self.shares(key), strict=True):
                rival.share = float(share)
                rival.revenue_bn = rival.share * total
                if rival.firm is None or not rival.present:
                    continue
                accounts = rival.firm.accounts
                accounts.vertical_revenue += rival.revenue_bn
                accounts.vertical_cost += (
                    rival.revenue_bn * market.serve_cost_share / rival.firm.cost_efficiency
                )

    def rows(self, month: int) -> list[dict]:
        """This month's rows of the ``verticals`` table (the rivals still in the niche)."""
        return [
            {
                "month": month,
                "vertical": key,
                "firm": rival.rival_id,
                "share": rival.share,
                "revenue_bn": rival.revenue_bn,
            }
            for key, rivals in self.rivals.items()
            for rival in rivals
            if rival.present
        ]
