"""Funding and exits: parents' support, venture rounds and IPOs priced by valuation, and
giants buying distressed firms at a price.

Parents pay, from their own cash, the tranches of the programmes they announced and top a
unit's cash back up to its reserve while the unit is worth its losses to them
(sim/parents.py). Venture-funded firms raise rounds and list when investors value them
enough (sim/valuation.py); state funds back only their few picks. A giant buys a
distressed firm when what the firm brings it (users, team, a vertical it competes in, its
cash, less the cost of carrying its burn) is worth more than the target's stand-alone
value (its cash and its valuation discounted by its odds of going on); the price splits
the surplus; merger review can block a deal; a buyer that wants only the team makes an
acqui-hire (the product winds down).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from sim import parents, valuation

if TYPE_CHECKING:
    from sim.firms import Firm
    from sim.model import AIMarket


def raise_funds(model: AIMarket) -> None:
    """Parents review and fund their units from their cash; venture firms are valued and
    may list in an IPO window or raise a round: a listed firm from its exchange, an unlisted
    one from private investors, who put at most their year's money into the sector and back
    the best terms first; a round they refuse can come from a state fund if the firm is
    among its picks."""
    rules = model.params.funding
    parents.close_month(model)
    index = valuation.sentiment_index(model)
    window = model.ipo_window_open
    seekers: list[tuple[Firm, float]] = []
    for firm in model.firms_in_market():
        if firm.funding_source == "parent":
            if firm.collapsing:
                continue
            due = sum(p.tranche(model.month) for p in firm.programmes)
            firm.receive(parents.pay(model, firm.parent_id, due), "tranche")
            parent = model.params.parents[firm.parent_id]
            if parents.review(firm, parent, model.params.parent_support):
                gap = firm.reserve - firm.capital
                if gap > 0:
                    firm.receive(parents.pay(model, firm.parent_id, gap), "topup")
            continue
        firm.valuation_bn = valuation.valuation(firm, model, index)
        if firm.collapsing:
            continue
        if window and not firm.listed and firm.valuation_bn >= rules.ipo_min_valuation_bn:
            amount = rules.ipo_float * firm.valuation_bn
            firm.listed = True
            firm.receive(amount, "round")
            model.log_event("ipo", firm.firm_id, f"valued {firm.valuation_bn:.1f} bn", amount)
            continue
        burn = firm.burn
        if burn > 0 and firm.cash_runway < rules.seek_below_runway_months:
            seekers.append((firm, rules.round_runway_months * burn))
    # investors take the best terms first: the most valuation per RMB asked
    seekers.sort(key=lambda fa: fa[0].valuation_bn / fa[1], reverse=True)
    picks = state_fund_picks(model)
    for firm, amount in seekers:
        fits = amount <= rules.max_dilution * (firm.valuation_bn + amount)
        # a listed firm sells new shares on its exchange, not to the sector's venture funds
        if fits and (firm.listed or amount <= venture_money_left(model)):
            # the climate sets how many investors are in the market, and so how fast
            if model.rng.random() < min(1.0, rules.round_close * model.sentiment):
                firm.receive(amount, "round")
                if not firm.listed:
                    record_round(model, amount)
                model.log_event("round", firm.firm_id, f"valued {firm.valuation_bn:.1f} bn", amount)
        elif firm in picks and model.rng.random() < rules.state_fund_close:
            firm.receive(amount, "round")
            model.log_event("state_round", firm.firm_id, "state fund", amount)


def venture_money_left(model: AIMarket) -> float:
    """What private investors will still put into the sector's model makers now (bn): a
    year's money (``venture_money_bn_year`` times the funding climate) less the private
    rounds closed in the last 12 months (the model's, the scenario's and, in the first
    year, those of the year to month 0) and less the scenario's rounds that close within
    ``commitment_months``: their investors signed the term sheets before the close."""
    rules = model.params.funding
    raised = sum(amount for month, amount in model.venture_rounds if month > model.month - 12)
    committed = model.schedule_of_events.private_rounds_due(
        model.month, model.month + rules.commitment_months
    )
    return rules.venture_money_bn_year * model.sentiment - raised - committed


def record_round(model: AIMarket, amount_bn: float) -> None:
    """Book a private round against the year's venture money."""
    model.venture_rounds.append((model.month, amount_bn))


def state_fund_picks(model: AIMarket) -> list[Firm]:
    """The teams state funds back when private money refuses: the ``state_fund_picks``
    strongest venture-funded general-model makers in the market, if at least
    ``state_fund_min_quality`` and not shrinking (momentum at least 0)."""
    rules = model.params.funding
    candidates = [
        f
        for f in model.firms_in_market()
        if f.funding_source == "venture" and f.tier == "independent" and not f.collapsing
    ]
    candidates.sort(key=lambda f: f.quality, reverse=True)
    return [
        f
        for f in candidates[: rules.state_fund_picks]
        if f.quality >= rules.state_fund_min_quality
        and valuation.momentum(
            f, rules.momentum_months, rules.user_momentum_weight, rules.momentum_cap
        )
        >= 0.0
    ]


def standalone_value(target: Firm, distress_distance: float) -> float:
    """What the target's owners can get without a buyer (bn): its cash plus its valuation
    as a going concern, discounted by the odds that it can fund itself: in full while its
    runway is `distress_distance` (log2 units) above the kill line's or more, nothing at
    the line or past it. (A firm short of users but not of cash keeps its valuation.)"""
    value = max(0.0, target.capital)
    if not target.collapsing and not math.isnan(target.valuation_bn):
        kill = target.model.params.kill_line
        runway = max(target.runway_months, 1e-9) / kill.runway_months
        going_on = min(1.0, max(0.0, math.log2(runway) / distress_distance))
        value += target.valuation_bn * going_on
    return value


def synergy(model: AIMarket, buyer: Firm, target: Firm) -> tuple[float, float]:
    """What the target is worth to `buyer` (bn): as a going product (its users, team,
    vertical and cash less a year of carrying its burn) and as an acqui-hire (the team and
    the cash; the product winds down)."""
    rules = model.params.acquisition
    segments = target.segment_fit
    gap = sum(abs(buyer.segment_fit[s] - fit) for s, fit in segments.items()) / len(segments)
    users = rules.user_transfer * target.mau_m * rules.value_per_user_rmb / 1000.0 * (1.0 - gap)
    floor = model.params.funding.team_quality_floor
    grade = max(0.0, target.quality - floor) / (1.0 - floor)
    team = rules.talent_value_bn * grade * (1.0 + max(0.0, target.talent - buyer.talent))
    entered = target.vertical and target.vertical in buyer.entered_verticals
    vertical = rules.vertical_value_bn if entered else 0.0
    cash = max(0.0, target.capital)
    carry = rules.carry_months * max(0.0, target.burn)
    return users + team + vertical + cash - carry, team + cash


def deal_price(standalone: float, gain: float, seller_share: float) -> float:
    """The price of a deal worth `gain` to the buyer for a target worth `standalone` on
    its own: the stand-alone value plus the seller's share of the surplus (Nash
    bargaining)."""
    return standalone + seller_share * max(0.0, gain - standalone)


def acquire_distressed(model: AIMarket) -> None:
    """Giants bid for venture-funded firms near or past the kill line; the best deal is
    struck at a price above the target's stand-alone value, paid from the buyer's parent's
    cash."""
    rules = model.params.acquisition
    buyers = [model.firm(f) for f in rules.acquirers]
    for target in model.firms_in_market():
        if target.funding_source != "venture" or target.tier == "giant":
            continue
        target.measure_kill_line()
        if target.distance_to_kill_line >= rules.distress_distance and not target.collapsing:
            continue
        standalone = standalone_value(target, rules.distress_distance)
        best: tuple[float, Firm, bool, float] | None = None
        for buyer in buyers:
            if not buyer.in_market or buyer.collapsing or buyer is target:
                continue
            product, acquihire = synergy(model, buyer, target)
            for gain, team_only in ((product, False), (acquihire, True)):
                price = deal_price(standalone, gain, rules.seller_share)
                surplus = gain - price
                affordable = price <= model.parent_accounts[buyer.parent_id].cash
                if gain > standalone and affordable and (best is None or surplus > best[0]):
                    best = (surplus, buyer, team_only, price)
        if best is None:
            continue
        _, buyer, team_only, price = best
        if model.user_share(buyer) + model.user_share(target) >= rules.review_share:
            model.log_event(
                "deal_blocked", target.firm_id, f"merger review: {buyer.firm_id}", price
            )
            continue
        takeover(model, buyer, target, price=price, acquihire=team_only)


def takeover(
    model: AIMarket, acquirer: Firm, target: Firm, *, price: float = 0.0, acquihire: bool = False
) -> None:
    """The acquirer's parent pays `price` to the target's owners from its cash; the
    acquirer takes the team (its quality and its research talent), the cash (or debts) and,
    unless it is an acqui-hire, part of the users; the rest of the users choose again."""
    rules = model.params.acquisition
    if acquirer.parent_id in model.parent_accounts:
        parents.pay(model, acquirer.parent_id, price)
    acquirer.quality = max(acquirer.quality, target.quality)
    acquirer.talent = max(acquirer.talent, target.talent)
    cash = target.capital
    target.accounts.funding -= cash
    target.capital = 0.0
    acquirer.accounts.funding += cash
    acquirer.capital += cash
    if not acquihire:
        model.users.transfer(target.index, acquirer.index, rules.user_transfer)
    deal = "acqui-hire (product wound down)" if acquihire else "acquisition"
    model.remove_from_market(target, "acquired", acquirer.firm_id, price=price, deal=deal)


def start(model: AIMarket) -> None:
    """Month 0 of the money: parents open their accounts, venture firms are valued, and
    the private rounds of the year to month 0 (``prior_rounds_bn``, months -11..0) are on
    the venture window, so that month 0 is not a year whose money nobody has touched."""
    model.parent_accounts = parents.open_accounts(model)
    prior = model.params.funding.prior_rounds_bn
    model.venture_rounds = [(m - 11, bn) for m, bn in enumerate(prior) if bn > 0]
    value_firms(model)


def value_firms(model: AIMarket) -> None:
    """Value every venture-funded firm in the market (the firms table's ``valuation_bn``)."""
    index = valuation.sentiment_index(model)
    for firm in model.firms_in_market():
        if firm.funding_source == "venture":
            firm.valuation_bn = valuation.valuation(firm, model, index)
