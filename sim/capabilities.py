"""Capabilities: quality against a moving world frontier, breakthroughs, cost efficiency
and supply, written so that month 0 is a fixed point.

Quality is measured against the world frontier (the best foreign model), which is 1.0 in
every month: the frontier moves, and a firm's quality is where it stands relative to it.
Each firm's research sustains a level

    base   = talent * h(E),   h(E) = ln(1 + E / rd_scale_bn) / ln(1 + rd_ref_bn / rd_scale_bn)
    target = min(1, base + spillover * max(0, open_best - base))

where ``E`` is effective R&D (R&D spend times cost efficiency, bn a month), ``talent`` the
quality per unit of ``h`` the firm's researchers reach, and ``open_best`` the best
open-weight model in the market (followers are lifted towards it). Quality closes a share
``quality_adjust`` of the gap to the target each month, from below (catching up) and from
above (a lead fades as others catch up). The target never exceeds the frontier: only a
breakthrough lifts a firm past 1.0. ``talent`` is fixed at month 0 so that the month-0
quality is the target at the month-0 spend: with nothing changing, quality does not move.

A breakthrough arrives with monthly probability

    breakthrough_rate * grade * talent ** talent_elasticity
                      * cost_efficiency ** efficiency_elasticity * h(E)

with ``grade = min(1, max(0, quality - breakthrough_quality_floor) / (1 - floor))``: a lab
below the floor fine-tunes others' open weights rather than pushing the frontier. A lean
team with strong researchers can break through (DeepSeek R1, Kimi K2, MiniMax M2 were
independents'), not only the biggest spender.

Cost efficiency moves the same way towards ``efficiency_talent * (1 + efficiency_gain *
ln(1 + spend_efficiency / efficiency_scale_bn))`` by ``efficiency_adjust`` a month, with
``efficiency_talent`` fixed at month 0. Supply is a stock: its month-0 spend is upkeep;
spend above it builds supply, spend below it lets supply decay.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sim.schema import Capabilities


def research_output(effective_rd_bn: float, caps: Capabilities) -> float:
    """``h(E)``: research output of effective R&D, 1 at ``rd_ref_bn`` (diminishing)."""
    reference = math.log1p(caps.rd_ref_bn / caps.rd_scale_bn)
    return math.log1p(max(effective_rd_bn, 0.0) / caps.rd_scale_bn) / reference


def target_quality(
    talent: float, effective_rd_bn: float, open_best: float, caps: Capabilities
) -> float:
    """The quality a firm's research sustains, relative to the world frontier (<= 1)."""
    base = talent * research_output(effective_rd_bn, caps)
    return min(1.0, base + caps.spillover * max(0.0, open_best - base))


def calibrate_talent(
    quality: float, effective_rd_bn: float, open_best: float, caps: Capabilities
) -> float:
    """Research talent that makes `quality` the target at month 0 (inverse of
    :func:`target_quality`; a firm at or above the frontier is held at 1.0)."""
    level = min(quality, 1.0)
    if open_best > level and caps.spillover < 1.0:
        base = (level - caps.spillover * open_best) / (1.0 - caps.spillover)
    else:
        base = level
    output = research_output(effective_rd_bn, caps)
    return max(base, 0.0) / output if output > 0 else 0.0


def step_quality(quality: float, target: float, caps: Capabilities) -> float:
    """One month of quality: close ``quality_adjust`` of the gap to the target."""
    return quality + caps.quality_adjust * (target - quality)


def breakthrough_odds(
    quality: float,
    talent: float,
    cost_efficiency: float,
    effective_rd_bn: float,
    caps: Capabilities,
) -> float:
    """Monthly probability of a breakthrough."""
    floor = caps.breakthrough_quality_floor
    grade = min(1.0, max(0.0, quality - floor) / (1.0 - floor))
    factors = (caps.breakthrough_rate, grade, talent, cost_efficiency)
    output = research_output(effective_rd_bn, caps)
    if min(*factors, output) <= 0.0:
        return 0.0
    # in logarithms: the talent of a firm with a vanishing R&D budget (quality over a
    # vanishing research output) would overflow its power; the odds are capped at 1
    log_odds = (
        math.log(caps.breakthrough_rate)
        + math.log(grade)
        + math.log(output)
        + caps.breakthrough_talent_elasticity * math.log(talent)
        + caps.breakthrough_efficiency_elasticity * math.log(cost_efficiency)
    )
    return math.exp(min(0.0, log_odds))


def efficiency_level(spend_efficiency_bn: float, caps: Capabilities) -> float:
    """Relative cost efficiency that efficiency work sustains, per unit of efficiency talent."""
    return 1.0 + caps.efficiency_gain * math.log1p(
        max(spend_efficiency_bn, 0.0) / caps.efficiency_scale_bn
    )


def step_efficiency(
    cost_efficiency: float, talent: float, spend_efficiency_bn: float, caps: Capabilities
) -> float:
    """One month of cost efficiency towards its sustained level."""
    target = talent * efficiency_level(spend_efficiency_bn, caps)
    return cost_efficiency + caps.efficiency_adjust * (target - cost_efficiency)


def step_supply(supply: float, spend_bn: float, upkeep_bn: float, caps: Capabilities) -> float:
    """One month of supply: spend above upkeep builds it, spend below lets it decay."""
    build = max(0.0, spend_bn - upkeep_bn)
    supply += (1.0 - supply) * -math.expm1(-build / caps.supply_scale_bn)
    if upkeep_bn > 0 and spend_bn < upkeep_bn:
        supply *= 1.0 - caps.supply_decay * (1.0 - spend_bn / upkeep_bn)
    return min(1.0, max(0.0, supply))
