"""The kill line (斩杀线): the threshold past which a firm's decline is fast and irreversible.

Definition. Each month every firm in the market has a *distance to the kill line*, in
doublings (log2 units):

    distance = min( log2(runway / runway_threshold), log2(presence / share_floor[tier]) )

* ``runway`` is how many months the firm can keep burning: (cash + headroom - cash
  campaigns still to pay) / recurring net burn, where headroom is what a parent still
  tolerates plus committed programme money (zero for venture-funded firms) and the recurring
  burn leaves out the month's campaign tranche (a one-off outlay, set against cash instead);
  a firm that does not burn has the capped runway.
* ``presence`` is the larger of its share of consumer users and its share of the
  enterprise/API token market: a firm with neither has no case for more money.

Distance 0 is the line itself; 1 means twice the threshold on the weaker of the two.

Crossing. A firm past the line (distance < 0) for ``confirm_months`` months in a row has
crossed: its status becomes ``below_kill_line`` and a collapse starts. During the collapse
investors and parents stop paying in, spending falls to ``collapse_spend`` of normal,
researchers leave (quality falls by ``talent_flight`` a month), nobody new joins it and a
``flight_rate`` share of its users leave each month. There is no way back: within
``collapse_months`` (or at once when cash runs out) the firm is acquired (when a giant
bids, see sim/funding.py), pivots out of the general market (a parent cuts the unit, or a
firm with an enterprise/API business or a vertical keeps only that), or closes. Its
remaining users then choose other assistants.

Giants' units never close: their parent may cut one whose losses exceed its patience,
which shows as ``pivoted``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sim.firms import Firm
    from sim.model import AIMarket

_TINY = 1e-9


def runway(cash_bn: float, burn_bn: float, cap_months: float) -> float:
    """Months of burn the firm can still pay for.

    Args:
        cash_bn: cash plus headroom, billions of RMB.
        burn_bn: net monthly burn (costs less revenue), billions of RMB.
        cap_months: runway given to firms that do not burn, months.
    """
    if burn_bn <= 0:
        return cap_months
    return min(cap_months, max(cash_bn, 0.0) / burn_bn)


def distance_to_kill_line(
    runway_months: float, presence: float, runway_threshold: float, share_floor: float
) -> float:
    """Distance to the kill line in doublings; negative is past it."""
    by_runway = math.log2(max(runway_months, _TINY) / runway_threshold)
    by_presence = math.log2(max(presence, _TINY) / max(share_floor, _TINY))
    return min(by_runway, by_presence)


def apply_kill_line(model: AIMarket) -> None:
    """Measure every firm's distance, start collapses, and resolve those that are due."""
    kill = model.params.kill_line
    for firm in model.firms_in_market():
        firm.measure_kill_line()
        if firm.collapsing:
            firm.collapse_months += 1
            if firm.collapse_months >= kill.collapse_months or firm.capital <= 0:
                model.remove_from_market(firm, exit_kind(firm, kill.pivot_min_api_share))
            continue
        firm.months_past_line = firm.months_past_line + 1 if firm.distance_to_kill_line < 0 else 0
        if firm.months_past_line >= kill.confirm_months:
            cross(firm)


def cross(firm: Firm) -> None:
    """The firm has crossed the kill line: the collapse starts."""
    firm.status = "below_kill_line"
    firm.status_month = firm.model.month
    firm.collapse_months = 0
    firm.model.log_event(
        "crossed_kill_line",
        firm.firm_id,
        f"runway {firm.runway_months:.1f} months, distance {firm.distance_to_kill_line:.2f}",
    )


def exit_kind(firm: Firm, pivot_min_api_share: float) -> str:
    """How a collapse ends when no giant has bought the firm."""
    if firm.funding_source == "parent" or firm.tier == "vertical":
        return "pivoted"
    if firm.api_share >= pivot_min_api_share and firm.capital > 0:
        return "pivoted"
    return "closed"
