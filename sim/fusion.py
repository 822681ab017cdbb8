"""Fusion is production: a mid-tier firm's AI defends its legacy business.

Rivals' assistants take searches and questions from a legacy business (Baidu's search,
360's browser, iFlytek's learning devices) as they grow; the firm's own AI, fused into the
business and good enough, holds them. Each month

    pull    = max(0, rivals_users / rivals_users_0 - 1)        # rivals' growth since month 0
    defence = integration * min(1, quality / best_quality)
    legacy_base        = legacy_base * (1 - legacy_erosion * pull * (1 - defence))
    legacy_undefended  = legacy_undefended * (1 - legacy_erosion * pull)   # the same without AI

and the AI unit is credited ``legacy_margin * (legacy_base - legacy_undefended)``: the
profit on the business its defence kept, and no more. Where rivals do not grow, nothing
erodes, the AI defends nothing and is credited nothing. Integration is an
investment a firm makes or not: an ``integration_investment`` event pays its tranches as
fixed cost, and each month's tranche closes ``1 - exp(-tranche / integration_scale_bn)`` of
the gap to full integration. The legacy apps feed the assistant through ``home_apps`` (the
users' reach channel).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sim.firms import Firm
    from sim.model import AIMarket


def defence(firm: Firm, best_quality: float) -> float:
    """How much of the rivals' pull the firm's fused AI holds off (0-1)."""
    return firm.integration * min(1.0, firm.quality / best_quality) if best_quality > 0 else 0.0


def rivals_pull(firm: Firm, model: AIMarket) -> float:
    """Growth of the other assistants' users since month 0 (0 if they have not grown)."""
    rivals = model.total_users_m - firm.users_m
    start = firm.rivals_users_start
    return max(0.0, rivals / start - 1.0) if start > 0 else 0.0


def erode(firm: Firm, model: AIMarket) -> None:
    """One month of erosion of the firm's legacy business, and of the same business
    without its AI's defence (the counterfactual the AI is credited against)."""
    econ = model.params.economics
    pull = econ.legacy_erosion * rivals_pull(firm, model)
    firm.legacy_base *= 1.0 - min(1.0, pull * (1.0 - defence(firm, model.best_quality)))
    firm.legacy_undefended *= 1.0 - min(1.0, pull)


def defended_profit(firm: Firm, margin: float) -> float:
    """The legacy profit the AI's defence kept this month (bn): the erosion avoided."""
    return margin * max(0.0, firm.legacy_base - firm.legacy_undefended)


def integrate(firm: Firm, tranche_bn: float, scale_bn: float) -> None:
    """A month of integration investment fuses more of the legacy business with the AI."""
    if tranche_bn > 0:
        firm.integration += (1.0 - firm.integration) * -math.expm1(-tranche_bn / scale_bn)
