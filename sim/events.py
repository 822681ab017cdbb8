"""Events: the timed shocks a scenario declares, fired at the start of their month.

Programmes and campaigns are known in advance, so they are attached to their firm when the
model is built and pay out in monthly tranches; every other event acts once, in its month.
Each firing is written to the model's event log (the ``events`` table), beside what happens
inside the model (breakthroughs, rounds, crossings of the kill line, exits).
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

import numpy as np

from sim import funding
from sim.calendar import month_index
from sim.firms import UNLAUNCHED, Programme
from sim.schema import (
    AcquisitionOffer,
    Breakthrough,
    EnterVertical,
    FundingClimate,
    FundingRound,
    IntegrationInvestment,
    InvestmentProgramme,
    IpoWindow,
    Launch,
    MarketingCampaign,
    MarketingCut,
    News,
    ParameterShift,
    PriceCut,
    ProductLaunch,
)

if TYPE_CHECKING:
    from sim.model import AIMarket
    from sim.schema import Event


class EventSchedule:
    """The scenario's events, indexed by the month they fire in.

    Args:
        model: the market the events act on.
    """

    def __init__(self, model: AIMarket) -> None:
        self.model = model
        self.due: dict[int, list[Event]] = defaultdict(list)
        start = model.params.run.start
        for event in model.params.events:
            when = getattr(event, "start", None) or event.month
            self.due[month_index(when, start)].append(event)
            if isinstance(event, InvestmentProgramme | MarketingCampaign | IntegrationInvestment):
                self._attach(event, month_index(when, start))
            if isinstance(event, Launch):
                firm = model.firm(event.firm)
                firm.status = UNLAUNCHED

    def _attach(
        self,
        event: InvestmentProgramme | MarketingCampaign | IntegrationInvestment,
        first_month: int,
    ) -> None:
        firm = self.model.firm(event.firm)
        if isinstance(event, InvestmentProgramme):
            total, split = event.total_bn * event.unit_share, dict(event.split)
        elif isinstance(event, IntegrationInvestment):
            total, split = event.total_bn, {"fixed": 1.0}
        else:
            total, split = event.total_bn, {"marketing": 1.0}
        firm.programmes.append(
            Programme(
                first_month=first_month,
                months=event.months,
                total_bn=total,
                split=split,
                campaign=isinstance(event, MarketingCampaign),
                integration=isinstance(event, IntegrationInvestment),
            )
        )

    def private_rounds_due(self, after: int, through: int) -> float:
        """The scheduled private rounds (bn) due after month `after`, up to `through`."""
        return sum(
            event.amount_bn
            for month in range(after + 1, through + 1)
            for event in self.due.get(month, [])
            if isinstance(event, FundingRound) and not event.public
        )

    def fire(self, month: int) -> None:
        """Apply every event due in `month`."""
        for event in self.due.get(month, []):
            self._apply(event)

    def _apply(self, event: Event) -> None:
        model = self.model
        match event:
            case InvestmentProgramme():
                detail = f"{event.total_bn * event.unit_share:.1f} bn over {event.months} months"
                model.log_event(event.kind, event.firm, detail, forced=True)
            case IntegrationInvestment():
                detail = f"{event.total_bn:.2f} bn over {event.months} months"
                model.log_event(event.kind, event.firm, detail, event.total_bn, forced=True)
            case MarketingCampaign():
                if event.trial_review_rate > 0:
                    model.firm(event.firm).trial_review_rate = event.trial_review_rate
                detail = f"{event.total_bn:.2f} bn over {event.months} month(s)"
                model.log_event(event.kind, event.firm, detail, forced=True)
            case MarketingCut():
                model.firm(event.firm).marketing_factor *= event.factor
                model.log_event(
                    event.kind, event.firm, f"marketing x{event.factor:.2f}", forced=True
                )
            case News():
                model.firm(event.firm).make_news(event.size)
                model.log_event(event.kind, event.firm, f"buzz +{event.size:.2f}", forced=True)
            case Launch():
                firm = model.firm(event.firm)
                if firm.status == UNLAUNCHED:
                    firm.status = "active"
                    firm.status_month = model.month
                    # as memorable as the median assistant fitted at month 0, times the factor
                    fit = model.month0_fit
                    fitted = fit.forgetting[fit.awareness.sum(axis=1) > 0]
                    firm.entry_forgetting = model.params.awareness.entry_forgetting * float(
                        np.median(fitted)
                    )
                    firm.make_news(event.news)
                    model.log_event(event.kind, event.firm, event.note, forced=True)
            case ProductLaunch():
                firm = model.firm(event.firm)
                firm.quality = max(0.0, firm.quality + event.quality)
                firm.supply = min(1.0, max(0.0, firm.supply + event.supply))
                firm.social = min(1.0, max(0.0, firm.social + event.social))
                firm.home_apps += [a for a in event.new_home_apps if a not in firm.home_apps]
                firm.home_apps = [a for a in firm.home_apps if a not in event.dropped_home_apps]
                firm.make_news(event.news)
                model.log_event(event.kind, event.firm, event.note, forced=True)
            case Breakthrough():
                model.firm(event.firm).break_through(event.size, forced=True)
            case PriceCut():
                model.firm(event.firm).markup *= event.factor
                model.log_event(event.kind, event.firm, f"markup x{event.factor:.2f}", forced=True)
            case FundingRound():
                firm = model.firm(event.firm)
                if firm.in_market and not firm.collapsing:
                    firm.receive(event.amount_bn, "round")
                    if not event.public:
                        funding.record_round(model, event.amount_bn)
                    model.log_event(
                        event.kind,
                        event.firm,
                        f"{event.amount_bn:.2f} bn",
                        event.amount_bn,
                        forced=True,
                    )
            case FundingClimate():
                model.shift_parameters({"funding.sentiment": event.sentiment})
                model.log_event(event.kind, "", f"sentiment {event.sentiment:.2f}", forced=True)
            case EnterVertical():
                firm = model.firm(event.firm)
                if firm.in_market:
                    model.verticals.enter(event.vertical, firm, event.skill, event.reach_m)
                    detail = f"{event.vertical}: skill {event.skill:.2f}, reach {event.reach_m:g}M"
                    model.log_event(event.kind, event.firm, detail, forced=True)
            case AcquisitionOffer():
                acquirer, target = model.firm(event.acquirer), model.firm(event.target)
                if acquirer.in_market and target.in_market:
                    price = funding.standalone_value(
                        target, model.params.acquisition.distress_distance
                    )
                    funding.takeover(model, acquirer, target, price=price)
            case IpoWindow():
                model.ipo_window_until = model.month + event.months
                model.log_event(event.kind, "", f"{event.months} months", forced=True)
            case ParameterShift():
                model.shift_parameters(event.set)
                detail = ", ".join(f"{k}={v:g}" for k, v in event.set.items())
                model.log_event(event.kind, "", detail, forced=True)
