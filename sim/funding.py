"""Funding and exits: venture rounds, parents' tranches and top-ups, and giants buying
distressed firms.

Parents pay the tranches of the programmes they announced, and top a unit's cash back up to
its reserve until the top-ups reach their patience; after that the unit lives on its own
cash and drifts to the kill line. Venture-funded firms look for a round when their runway
falls under ``funding.seek_below_runway_months``; the odds rise with momentum (growth of
their users over three months) and the funding climate; a round funds
``funding.round_runway_months`` of the current burn. A giant buys a distressed firm when
its users and team are worth more than the cash needed to carry it for
``acquisition.carry_months``; it takes over the firm's cash (or debts) with it.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sim.firms import Firm
    from sim.model import AIMarket


_MAX_EXPONENT = 700.0


def raise_funds(model: AIMarket) -> None:
    """Parents pay tranches and top-ups; venture firms try to raise a round."""
    funding = model.params.funding
    for firm in model.firms_in_market():
        if firm.collapsing:
            continue
        if firm.funding_source == "parent":
            firm.receive(sum(p.tranche(model.month) for p in firm.programmes), "tranche")
            gap = firm.reserve - firm.capital
            allowed = firm.patience - firm.parent_topups
            if gap > 0 and allowed > 0:
                firm.receive(min(gap, allowed), "topup")
            continue
        burn = firm.burn
        if burn <= 0 or firm.cash_runway >= funding.seek_below_runway_months:
            continue
        # past this the odds are certain anyway; a firm grown from a handful of users
        # would overflow the exponential
        momentum = min(
            funding.momentum_weight * firm.user_growth(funding.momentum_months), _MAX_EXPONENT
        )
        odds = funding.round_prob * model.sentiment * math.exp(momentum)
        if model.rng.random() < min(1.0, odds):
            amount = funding.round_runway_months * burn
            firm.receive(amount, "round")
            model.log_event("round", firm.firm_id, f"{amount:.2f} bn")


def acquire_distressed(model: AIMarket) -> None:
    """Giants bid for venture-funded firms near or past the kill line."""
    rules = model.params.acquisition
    buyers = [model.firm(f) for f in rules.acquirers]
    for target in model.firms_in_market():
        if target.funding_source != "venture" or target.tier == "giant":
            continue
        target.measure_kill_line()
        if target.distance_to_kill_line >= rules.distress_distance and not target.collapsing:
            continue
        value = (
            target.mau_m * rules.value_per_user_rmb / 1000.0
            + rules.talent_value_bn * target.quality
        )
        carry = max(0.0, rules.carry_months * target.burn - target.capital)
        if value <= carry:
            continue
        bidders = [b for b in buyers if b.in_market and not b.collapsing and b is not target]
        if bidders and model.rng.random() < rules.prob:
            takeover(model, bidders[int(model.rng.integers(len(bidders)))], target)


def takeover(model: AIMarket, acquirer: Firm, target: Firm) -> None:
    """The acquirer takes the target's team (quality), its cash and debts, and part of its
    users; the rest of the users choose again."""
    rules = model.params.acquisition
    acquirer.quality = max(acquirer.quality, target.quality)
    cash = target.capital
    target.accounts.funding -= cash
    target.capital = 0.0
    acquirer.accounts.funding += cash
    acquirer.capital += cash
    model.users.transfer(target.index, acquirer.index, rules.user_transfer)
    model.remove_from_market(target, "acquired", acquirer.firm_id)
