"""Parents decide: a group keeps funding its AI unit while the unit is worth its losses and
the group can pay for them.

A parent (``seeds/firms.toml`` ``[parents.*]``: published revenue, profit and cash) keeps an
account. Its cash starts at the published figure and each month moves by

    cash = cash + profit_bn_year / 12 + run_rate - paid

``paid`` is what it pays in the month: its units' programme tranches and top-ups, and the
price of any firm its unit bought. ``run_rate`` is what it paid its units a month at month 0
(their month-0 losses): the published profit is after them, so a parent that keeps paying
at the month-0 rate gains its published profit, and one that pays more draws its cash down.
Every month it weighs each unit:

    strategic_value = stake * revenue_bn_year / 12 * min(1, presence / presence_0)
    bearable        = profit_share * max(0, profit_bn_year / 12 + run_rate) + cash_draw * cash
    loss            = the unit's burn less the tranches of programmes the parent announced
                      (those are decided), averaged over the last ``review_months`` months
    presence        = likewise averaged (the larger of user share and API share)

``stake`` is the share of its revenue the parent will spend to defend its core business
(Tencent's social base, Alibaba's commerce, Baidu's search, 360's security, iFlytek's
education and government contracts) against assistants; the unit defends it only as far as
it keeps its month-0 presence. ``bearable`` is what its profit before the unit and its cash
can carry, so a parent whose cash is drawn down by top-ups, programmes or purchases can
carry less. The parent tops the unit up while ``loss <= min(strategic_value, bearable)``
and it has the cash; after ``review_months`` months in a row in which it does not, it
withdraws for good: the unit lives on its cash and committed programmes and drifts to the
kill line, where the parent cuts it (``pivoted``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sim.firms import Firm
    from sim.model import AIMarket
    from sim.schema import Parent, Parents


@dataclass
class ParentAccount:
    """A parent's cash (bn) and what it pays its units a month (bn)."""

    cash: float
    run_rate: float = 0.0
    paid: float = 0.0


def open_accounts(model: AIMarket) -> dict[str, ParentAccount]:
    """Every parent's account at month 0: its published cash, and its units' month-0
    losses as the run-rate its published profit already pays for."""
    accounts = {pid: ParentAccount(cash=p.cash_bn) for pid, p in model.params.parents.items()}
    for firm in model.firm_list:
        if firm.funding_source == "parent" and firm.parent_id in accounts:
            account = accounts[firm.parent_id]
            account.run_rate += max(0.0, firm.burn)
    return accounts


def close_month(model: AIMarket) -> None:
    """A new month: each parent's cash gains its profit before its units (what it pays
    comes off its cash as it pays, :func:`pay`)."""
    for pid, account in model.parent_accounts.items():
        profit = model.params.parents[pid].profit_bn_year / 12.0
        account.cash += profit + account.run_rate
        account.paid = 0.0


def pay(model: AIMarket, parent_id: str, amount_bn: float) -> float:
    """The parent pays up to `amount_bn` from its cash; returns what it paid (bn)."""
    account = model.parent_accounts[parent_id]
    paid = min(max(0.0, amount_bn), max(0.0, account.cash))
    account.cash -= paid
    account.paid += paid
    return paid


def strategic_value(parent: Parent, presence: float, presence_0: float) -> float:
    """What the unit is worth to its parent a month (bn): the core it defends."""
    kept = min(1.0, presence / presence_0) if presence_0 > 0 else 1.0
    return parent.stake * parent.revenue_bn_year / 12.0 * kept


def bearable_loss(parent: Parent, account: ParentAccount, rules: Parents) -> float:
    """The monthly loss the parent can carry from its profit before its units and its
    cash as it stands (bn)."""
    profit = max(0.0, parent.profit_bn_year / 12.0 + account.run_rate)
    return rules.profit_share * profit + rules.cash_draw * max(0.0, account.cash)


def review(firm: Firm, parent: Parent, rules: Parents) -> bool:
    """The parent's monthly review of its unit; True while it keeps funding it."""
    if not firm.parent_supports:
        return False
    account = firm.model.parent_accounts[firm.parent_id]
    committed = sum(p.tranche(firm.model.month) for p in firm.programmes)
    firm.loss_history.append(firm.burn - committed)
    firm.presence_history.append(max(firm.share, firm.api_share))
    recent = firm.loss_history[-rules.review_months :]
    loss = sum(recent) / len(recent)
    firm.reviewed_loss = loss
    seen = firm.presence_history[-rules.review_months :]
    presence = sum(seen) / len(seen)
    worth = min(
        strategic_value(parent, presence, firm.presence_start),
        bearable_loss(parent, account, rules),
    )
    firm.strategic_value = worth
    firm.months_unjustified = firm.months_unjustified + 1 if loss > worth else 0
    if firm.months_unjustified >= rules.review_months:
        firm.parent_supports = False
        firm.model.log_event(
            "parent_withdraws", firm.firm_id, f"loss {loss:.2f} bn/month, worth {worth:.2f}"
        )
    return firm.parent_supports
