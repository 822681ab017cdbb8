"""Funding and exits: parents' support, venture rounds and IPOs priced by valuation, and
giants buying distressed firms at a price.

Parents pay the tranches of the programmes they announced and top a unit's cash back up to
its reserve while the unit is worth its losses to them (sim/parents.py). Venture-funded
firms raise rounds and list when investors value them enough (sim/valuation.py). A giant
buys a distressed firm when what the firm brings it (users, team, a vertical it competes
in, its cash, less the cost of carrying its burn) is worth at least the target's
stand-alone value, which is the price it pays; merger review can block a deal; a buyer that
wants only the team makes an acqui-hire (the product winds down).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from sim import parents, valuation

if TYPE_CHECKING:
    from sim.firms import Firm
    from sim.model import AIMarket


def raise_funds(model: AIMarket) -> None:
    """Parents review and fund their units; venture firms are valued and may raise."""
    rules = model.params.funding
    index = valuation.sentiment_index(model)
    window = model.ipo_window_open
    for firm in model.firms_in_market():
        if firm.funding_source == "parent":
            if firm.collapsing:
                continue
            firm.receive(sum(p.tranche(model.month) for p in firm.programmes), "tranche")
            parent = model.params.parents[firm.parent_id]
            if parents.review(firm, parent, model.params.parent_support):
                gap = firm.reserve - firm.capital
                if gap > 0:
                    firm.receive(gap, "topup")
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
        if burn <= 0 or firm.cash_runway >= rules.seek_below_runway_months:
            continue
        amount = rules.round_runway_months * burn
        if amount <= rules.max_dilution * (firm.valuation_bn + amount):
            if model.rng.random() < rules.round_close:
                firm.receive(amount, "round")
                model.log_event("round", firm.firm_id, f"valued {firm.valuation_bn:.1f} bn", amount)
        elif (
            firm.quality >= rules.state_fund_min_quality
            and model.rng.random() < rules.state_fund_close
        ):
            firm.receive(amount, "round")
            model.log_event("state_round", firm.firm_id, "state fund", amount)


def standalone_value(target: Firm) -> float:
    """What the target's owners can get without a buyer (bn): its cash plus, while it is
    not collapsing, its valuation as a going concern."""
    value = max(0.0, target.capital)
    if not target.collapsing and not math.isnan(target.valuation_bn):
        value += target.valuation_bn
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


def acquire_distressed(model: AIMarket) -> None:
    """Giants bid for venture-funded firms near or past the kill line, at a price."""
    rules = model.params.acquisition
    buyers = [model.firm(f) for f in rules.acquirers]
    for target in model.firms_in_market():
        if target.funding_source != "venture" or target.tier == "giant":
            continue
        target.measure_kill_line()
        if target.distance_to_kill_line >= rules.distress_distance and not target.collapsing:
            continue
        price = standalone_value(target)
        best: tuple[float, Firm, bool] | None = None
        for buyer in buyers:
            if not buyer.in_market or buyer.collapsing or buyer is target:
                continue
            product, acquihire = synergy(model, buyer, target)
            for gain, team_only in ((product, False), (acquihire, True)):
                surplus = gain - price
                if surplus >= 0 and (best is None or surplus > best[0]):
                    best = (surplus, buyer, team_only)
        if best is None:
            continue
        _, buyer, team_only = best
        if model.user_share(buyer) + model.user_share(target) >= rules.review_share:
            model.log_event(
                "deal_blocked", target.firm_id, f"merger review: {buyer.firm_id}", price
            )
            continue
        takeover(model, buyer, target, price=price, acquihire=team_only)


def takeover(
    model: AIMarket, acquirer: Firm, target: Firm, *, price: float = 0.0, acquihire: bool = False
) -> None:
    """The acquirer's parent pays `price` to the target's owners; the acquirer takes the
    team (quality), the cash (or debts) and, unless it is an acqui-hire, part of the users;
    the rest of the users choose again."""
    rules = model.params.acquisition
    acquirer.quality = max(acquirer.quality, target.quality)
    cash = target.capital
    target.accounts.funding -= cash
    target.capital = 0.0
    acquirer.accounts.funding += cash
    acquirer.capital += cash
    if not acquihire:
        model.users.transfer(target.index, acquirer.index, rules.user_transfer)
    deal = "acqui-hire (product wound down)" if acquihire else "acquisition"
    model.remove_from_market(target, "acquired", acquirer.firm_id, price=price, deal=deal)


def value_firms(model: AIMarket) -> None:
    """Value every venture-funded firm in the market (the firms table's ``valuation_bn``)."""
    index = valuation.sentiment_index(model)
    for firm in model.firms_in_market():
        if firm.funding_source == "venture":
            firm.valuation_bn = valuation.valuation(firm, model, index)
