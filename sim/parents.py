"""Parents decide: a group keeps funding its AI unit while the unit is worth its losses.

A parent-funded unit's parent (``seeds/firms.toml`` ``[parents.*]``: published revenue,
profit and cash) weighs, every month,

    strategic_value = stake * revenue_bn_year / 12 * min(1, presence / presence_0)
    bearable        = profit_share * max(0, profit_bn_year) / 12 + cash_draw * cash_bn
    loss            = the unit's burn less the tranches of programmes the parent announced
                      (those are decided), averaged over the last ``review_months`` months
    presence        = likewise averaged (the larger of user share and API share)

``stake`` is the share of its revenue the parent will spend to defend its core business
(Tencent's social base, Alibaba's commerce, Baidu's search, 360's security, iFlytek's
education and government contracts) against assistants; the unit defends it only as far as
it keeps its month-0 presence (the larger of user share and API share). The parent keeps
topping the unit up while ``loss <= min(strategic_value, bearable)``. After
``review_months`` months in a row in which it does not, the parent withdraws for good:
the unit lives on its cash and committed programmes and drifts to the kill line, where the
parent cuts it (``pivoted``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sim.firms import Firm
    from sim.schema import Parent, Parents


def strategic_value(parent: Parent, presence: float, presence_0: float) -> float:
    """What the unit is worth to its parent a month (bn): the core it defends."""
    kept = min(1.0, presence / presence_0) if presence_0 > 0 else 1.0
    return parent.stake * parent.revenue_bn_year / 12.0 * kept


def bearable_loss(parent: Parent, rules: Parents) -> float:
    """The monthly loss the parent can carry from its profit and cash (bn)."""
    return rules.profit_share * max(0.0, parent.profit_bn_year) / 12.0 + rules.cash_draw * (
        parent.cash_bn
    )


def review(firm: Firm, parent: Parent, rules: Parents) -> bool:
    """The parent's monthly review of its unit; True while it keeps funding it."""
    if not firm.parent_supports:
        return False
    committed = sum(p.tranche(firm.model.month) for p in firm.programmes)
    firm.loss_history.append(firm.burn - committed)
    firm.presence_history.append(max(firm.share, firm.api_share))
    recent = firm.loss_history[-rules.review_months :]
    loss = sum(recent) / len(recent)
    firm.reviewed_loss = loss
    seen = firm.presence_history[-rules.review_months :]
    presence = sum(seen) / len(seen)
    worth = min(
        strategic_value(parent, presence, firm.presence_start), bearable_loss(parent, rules)
    )
    firm.strategic_value = worth
    firm.months_unjustified = firm.months_unjustified + 1 if loss > worth else 0
    if firm.months_unjustified >= rules.review_months:
        firm.parent_supports = False
        firm.model.log_event(
            "parent_withdraws", firm.firm_id, f"loss {loss:.2f} bn/month, worth {worth:.2f}"
        )
    return firm.parent_supports
