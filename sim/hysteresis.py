"""The kill line as a tipping point: push a firm with a temporary shock, lift it, and see
whether it comes back.

The shock is a funding freeze: ``funding.sentiment`` falls to zero (no private round can
be priced) for ``months`` months from the first month, then returns to its value; state
funds are shut for the experiment so that only the freeze's length decides. A firm with
little cash runs down during the freeze. :func:`freeze_outcome` reports, for one freeze
length, whether the firm crossed the kill line, where it stands at the horizon and its
lowest distance; :func:`threshold` finds the shortest freeze that makes it cross.
"""

from __future__ import annotations

from dataclasses import dataclass

from sim.calendar import month_label
from sim.model import AIMarket
from sim.scenario import Scenario, load_scenario


@dataclass(frozen=True)
class Outcome:
    """What a freeze did to the firm."""

    months: int
    crossed: bool
    status_end: str
    min_distance: float
    distance_end: float


def freeze_outcome(
    firm_id: str, months: int, scenario: Scenario | None = None, *, seed: int = 1
) -> Outcome:
    """Run `scenario` (default: steady, 20,000 users, 36 months) with a funding freeze of
    `months` months and report the firm's fate."""
    base = scenario or load_scenario(
        "steady", {"run.users": 20_000, "run.startups": 500, "funding.state_fund_close": 0.0}
    )
    start = base.run.start
    sentiment = base.funding.sentiment
    events = []
    if months > 0:
        events = [
            {"kind": "funding_climate", "start": month_label(1, start), "sentiment": 0.0},
            {
                "kind": "funding_climate",
                "start": month_label(1 + months, start),
                "sentiment": sentiment,
            },
        ]
    shocked = base.with_events(events) if events else base
    model = AIMarket(shocked, rng=seed)
    model.run_for(base.run.months)
    firms = model.tables()["firms"]
    rows = firms[(firms["firm"] == firm_id) & (firms["month"] > 0)]
    in_market = rows[rows["status"].isin(("active", "below_kill_line"))]
    events_table = model.tables()["events"]
    crossed = (
        (events_table["kind"] == "crossed_kill_line") & (events_table["firm"] == firm_id)
    ).any()
    firm = model.firm(firm_id)
    return Outcome(
        months=months,
        crossed=bool(crossed),
        status_end=firm.status,
        min_distance=float(in_market["distance_to_kill_line"].min()),
        distance_end=float(rows["distance_to_kill_line"].iloc[-1]),
    )


def threshold(firm_id: str, longest: int = 30, **kwargs) -> int | None:
    """The shortest freeze (months) that makes the firm cross, or None up to `longest`."""
    for months in range(longest + 1):
        if freeze_outcome(firm_id, months, **kwargs).crossed:
            return months
    return None
