"""How one replicate decides a claim: measures read from a run's tables, and the rule.

A :class:`Rule` has two halves. ``measure(tables, claim, role)`` runs where the replicate
ran (a worker) and reduces that role's tables to a few named numbers, read from table
columns only (sim/tables.py: ``firms``, ``market``, ``events``, and ``migration`` or
``startups`` when the rule records them), at or before the claim's horizon.
``decide(values, claim)`` takes those numbers for every role of one replicate (the roles
ran on the same seed) and returns whether the claim holds in it (None when the replicate
cannot say) and the claim's key value (what its plot shows).

Rules are registered by name in :data:`RULES`; ``seeds/claims.toml`` names them. Two are
generic, for claims of one's own: ``outcome_above`` (an outcome of sim/outcomes.py above
``params.above``) and ``outcome_paired`` (the outcome of role ``test`` minus that of
``base`` on the same seed above ``params.above``).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sim.fates import fates
from sim.schema import EXITED, TIERS

if TYPE_CHECKING:
    from sim.claims.spec import Claim

Tables = Mapping[str, pd.DataFrame]
Values = dict[str, float]
Decision = tuple[bool | None, float]


@dataclass(frozen=True)
class Rule:
    """A claim's measures and its decision (see the module docstring)."""

    name: str
    roles: tuple[str, ...]
    measure: Callable[[Tables, Claim, str], Values]
    decide: Callable[[Mapping[str, Values], Claim], Decision]
    record: tuple[str, ...] = ()
    value_label: str = ""


# ---------------------------------------------------------------------------- reading tables


def upto(tables: Tables, horizon: int) -> dict[str, pd.DataFrame]:
    """The tables cut at the horizon month (rows of later months dropped)."""
    return {
        name: table[table["month"] <= horizon] if "month" in table else table
        for name, table in tables.items()
    }


def at_month(table: pd.DataFrame, month: int) -> pd.DataFrame:
    """The rows of ``month``, or of the last month before it when the run is shorter."""
    last = int(min(month, table["month"].max()))
    return table[table["month"] == last]


def firm_value(tables: Tables, firm: str, column: str, month: int) -> float:
    """One firm's column at a month (NaN when the firm is not in the table)."""
    rows = at_month(tables["firms"], month)
    rows = rows[rows["firm"] == firm]
    return float(rows[column].iloc[0]) if len(rows) else math.nan


def never_crossed(tables: Tables, horizon: int) -> pd.DataFrame:
    """Per firm (firm, tier, vertical, cost_efficiency_0): whether it never crossed the
    kill line and never left the market by the horizon (``standing``)."""
    cut = upto(tables, horizon)
    fate = fates(cut["firms"], cut["events"])
    first = at_month(cut["firms"], 0).set_index("firm")
    fate["standing"] = ~fate["crossed"] & ~fate["status_end"].isin(EXITED)
    fate["vertical"] = fate["firm"].map(first["vertical"]).fillna("")
    fate["cost_efficiency_0"] = fate["firm"].map(first["cost_efficiency"])
    fate["crossing_month"] = fate["end_month"].astype("Float64").fillna(horizon + 1)
    return fate


# ---------------------------------------------------------------------------- C1


def _tier_order_measure(tables: Tables, claim: Claim, role: str) -> Values:
    standing = never_crossed(tables, claim.horizon)
    share = standing.groupby("tier")["standing"].mean()
    return {f"standing_{tier}": float(share.get(tier, math.nan)) for tier in TIERS}


def _tier_order_decide(values: Mapping[str, Values], claim: Claim) -> Decision:
    run = values["run"]
    order = [run[f"standing_{tier}"] for tier in TIERS if not math.isnan(run[f"standing_{tier}"])]
    ordered = all(a >= b for a, b in itertools.pairwise(order))
    spread = order[0] - order[-1] if order else math.nan
    return bool(ordered and spread > 0), spread


# ---------------------------------------------------------------------------- C2


def _market_measure(tables: Tables, claim: Claim, role: str) -> Values:
    end = at_month(tables["market"], claim.horizon).iloc[0]
    return {
        "top3": float(end["top3_share"]),
        "hhi": float(end["hhi"]),
        "rest": float(end["share_midtier"] + end["share_independent"]),
        "giants": float(end["share_giant"]),
    }


def _concentration_decide(values: Mapping[str, Values], claim: Claim) -> Decision:
    base, test = values["base"], values["test"]
    holds = (
        test["top3"] > base["top3"] and test["hhi"] > base["hhi"] and test["rest"] < base["rest"]
    )
    return bool(holds), test["top3"] - base["top3"]


# ---------------------------------------------------------------------------- C3


def _rundown_measure(tables: Tables, claim: Claim, role: str) -> Values:
    window = int(claim.params["window"])
    baseline = int(claim.params.get("baseline", 0))
    events = tables["events"]
    broke = set(events[(events["kind"] == "breakthrough") & (events["month"] <= window)]["firm"])
    standing = never_crossed(tables, claim.horizon).set_index("firm")
    independents = [f for f, tier in standing["tier"].items() if tier == "independent"]
    quiet = [f for f in independents if f not in broke]
    down = 0
    for firm in quiet:
        start = firm_value(tables, firm, "distance_to_kill_line", baseline)
        end = firm_value(tables, firm, "distance_to_kill_line", claim.horizon)
        fell = not (end >= start)  # NaN (left the market) counts as run down
        down += bool(not standing.loc[firm, "standing"] or fell)
    return {"quiet": float(len(quiet)), "run_down": float(down)}


def _rundown_decide(values: Mapping[str, Values], claim: Claim) -> Decision:
    run = values["run"]
    if run["quiet"] == 0:
        return None, math.nan
    share = run["run_down"] / run["quiet"]
    return bool(share >= float(claim.params["min_share"])), share


# ---------------------------------------------------------------------------- C4


def _breakthrough_measure(tables: Tables, claim: Claim, role: str) -> Values:
    firm = claim.params["firm"]
    end = at_month(tables["market"], claim.horizon).iloc[0]
    return {
        "share": firm_value(tables, firm, "share", claim.horizon),
        "giants": float(end["share_giant"]),
    }


def _breakthrough_decide(values: Mapping[str, Values], claim: Claim) -> Decision:
    base, test = values["base"], values["test"]
    gain = test["share"] - base["share"]
    holds = gain >= float(claim.params["min_gain"]) and test["giants"] < base["giants"]
    return bool(holds), gain


# ---------------------------------------------------------------------------- C5


def _tier_standing_measure(tables: Tables, claim: Claim, role: str) -> Values:
    standing = never_crossed(tables, claim.horizon)
    midtier = standing[standing["tier"] == "midtier"]
    return {"standing": float(midtier["standing"].sum()), "firms": float(len(midtier))}


def _fusion_decide(values: Mapping[str, Values], claim: Claim) -> Decision:
    base, test = values["base"], values["test"]
    more = test["standing"] - base["standing"]
    return bool(more >= 1), more


# ---------------------------------------------------------------------------- C6


def _squeeze_measure(tables: Tables, claim: Claim, role: str) -> Values:
    verticals = set(claim.params["verticals"])
    standing = never_crossed(tables, claim.horizon)
    squeezed = standing[standing["vertical"].isin(verticals)]
    # the squeezed firms' share of the entered verticals' revenue (sim/verticals.py)
    niches = at_month(tables["verticals"], claim.horizon)
    niches = niches[niches["vertical"].isin(verticals)]
    total = float(niches["revenue_bn"].sum())
    own = float(niches[niches["firm"].isin(squeezed["firm"])]["revenue_bn"].sum())
    share = own / total if total > 0 else 0.0
    return {"share": share, "crossed": float((~squeezed["standing"]).sum())}


def _squeeze_decide(values: Mapping[str, Values], claim: Claim) -> Decision:
    base, squeeze, edge = values["base"], values["squeeze"], values["edge"]
    holds = squeeze["share"] < base["share"] and edge["crossed"] < squeeze["crossed"]
    return bool(holds), squeeze["share"] - base["share"]


# ---------------------------------------------------------------------------- C7


def _cost_measure(tables: Tables, claim: Claim, role: str) -> Values:
    standing = never_crossed(tables, claim.horizon)
    costly = standing[standing["cost_efficiency_0"] < float(claim.params["max_cost_efficiency"])]
    return {
        "months": float(costly["crossing_month"].sum()),
        "crossed": float((~costly["standing"]).sum()),
        "firms": float(len(costly)),
    }


def _cost_decide(values: Mapping[str, Values], claim: Claim) -> Decision:
    base, test = values["base"], values["test"]
    if test["firms"] == 0:
        return None, math.nan
    faster = base["months"] - test["months"]
    return bool(faster > 0), faster


# ---------------------------------------------------------------------------- C8


def _supply_measure(tables: Tables, claim: Claim, role: str) -> Values:
    firm, rival = claim.params["firm"], claim.params["rival"]
    horizon = claim.horizon
    firms = tables["firms"]
    own = firms[
        (firms["firm"] == firm) & (firms["month"] > horizon - 12) & (firms["month"] <= horizon)
    ]
    users = float(own["users_m"].sum())
    revenue = float((own["consumer_revenue_bn"] + own["commerce_revenue_bn"]).sum())
    migration = tables["migration"]
    window = migration[(migration["month"] > horizon - 12) & (migration["month"] <= horizon)]
    left = float(window[(window["from"] == firm) & (window["to"] != firm)]["users_m"].sum())
    return {
        # RMB per user-month: bn over millions of user-months, times 1000
        "monetisation": revenue / users * 1000.0 if users > 0 else math.nan,
        "stickiness": 1.0 - left / users if users > 0 else math.nan,
        "users_0": firm_value(tables, firm, "users_m", 0),
        "rival_users_0": firm_value(tables, rival, "users_m", 0),
        "supply_0": firm_value(tables, firm, "supply", 0),
        "rival_supply_0": firm_value(tables, rival, "supply", 0),
    }


def sweep_roles(values: Mapping[str, Values]) -> list[str]:
    """A sweep's roles in the order of its values."""
    return sorted((r for r in values if r.startswith("sweep_")), key=lambda r: int(r[6:]))


def _supply_decide(values: Mapping[str, Values], claim: Claim) -> Decision:
    roles = sweep_roles(values)
    low, high = values[roles[0]], values[roles[-1]]
    premise = low["users_0"] > low["rival_users_0"] and low["supply_0"] < low["rival_supply_0"]
    gain = high["monetisation"] - low["monetisation"]
    holds = premise and gain > 0 and high["stickiness"] > low["stickiness"]
    return bool(holds), gain


# ---------------------------------------------------------------------------- C9


def _firm_share_measure(tables: Tables, claim: Claim, role: str) -> Values:
    return {"share": firm_value(tables, claim.params["firm"], "share", claim.horizon)}


def _social_decide(values: Mapping[str, Values], claim: Claim) -> Decision:
    base, test = values["base"], values["test"]
    gain = test["share"] - base["share"]
    return bool(gain > 0), gain


# ---------------------------------------------------------------------------- C10


def _startup_measure(tables: Tables, claim: Claim, role: str) -> Values:
    startups = tables["startups"]
    end = at_month(startups, claim.horizon).iloc[0]
    first = startups.iloc[0]
    counted = end["alive_aged_1_3"] + end["closed_aged_1_3"]
    counted_1 = first["alive_aged_1_3"] + first["closed_aged_1_3"]
    return {
        "closed_share": float(end["closed_aged_1_3"] / counted) if counted else math.nan,
        "closed_share_start": float(first["closed_aged_1_3"] / counted_1)
        if counted_1
        else math.nan,
    }


def _startup_decide(values: Mapping[str, Values], claim: Claim) -> Decision:
    share = values["run"]["closed_share"]
    if not np.isfinite(share):
        return None, math.nan
    return bool(claim.params["low"] <= share <= claim.params["high"]), share


# ---------------------------------------------------------------------------- generic


def _outcome_measure(tables: Tables, claim: Claim, role: str) -> Values:
    from sim.outcomes import compute

    name = claim.params["outcome"]
    return {name: compute(upto(tables, claim.horizon), [name])[name]}


def _outcome_above_decide(values: Mapping[str, Values], claim: Claim) -> Decision:
    value = values["run"][claim.params["outcome"]]
    return bool(value > float(claim.params["above"])), value


def _outcome_paired_decide(values: Mapping[str, Values], claim: Claim) -> Decision:
    name = claim.params["outcome"]
    difference = values["test"][name] - values["base"][name]
    return bool(difference > float(claim.params["above"])), difference


# ---------------------------------------------------------------------------- registry

RULES: dict[str, Rule] = {
    rule.name: rule
    for rule in (
        Rule(
            "tier_order",
            ("run",),
            _tier_order_measure,
            _tier_order_decide,
            value_label="standing share, giants minus verticals",
        ),
        Rule(
            "concentration",
            ("base", "test"),
            _market_measure,
            _concentration_decide,
            value_label="top-3 share, test minus base",
        ),
        Rule(
            "independent_rundown",
            ("run",),
            _rundown_measure,
            _rundown_decide,
            value_label="share of quiet independents run down",
        ),
        Rule(
            "breakthrough_share",
            ("base", "test"),
            _breakthrough_measure,
            _breakthrough_decide,
            value_label="share gained by the breakthrough firm",
        ),
        Rule(
            "fusion_survival",
            ("base", "test"),
            _tier_standing_measure,
            _fusion_decide,
            value_label="mid-tier firms standing, fusion minus none",
        ),
        Rule(
            "vertical_squeeze",
            ("base", "squeeze", "edge"),
            _squeeze_measure,
            _squeeze_decide,
            value_label="squeezed verticals' share, squeeze minus base",
        ),
        Rule(
            "cost_turn",
            ("base", "test"),
            _cost_measure,
            _cost_decide,
            value_label="months sooner high-cost firms cross (sum)",
        ),
        Rule(
            "supply_sweep",
            (),
            _supply_measure,
            _supply_decide,
            record=("migration",),
            value_label="revenue per user-month (RMB), top minus bottom of the sweep",
        ),
        Rule(
            "social_insurance",
            ("base", "test"),
            _firm_share_measure,
            _social_decide,
            value_label="share with the social graph minus without",
        ),
        Rule(
            "startup_exits",
            ("run",),
            _startup_measure,
            _startup_decide,
            record=("startups",),
            value_label="closed share of firms aged 1-3 at the horizon",
        ),
        Rule(
            "outcome_above",
            ("run",),
            _outcome_measure,
            _outcome_above_decide,
            value_label="the outcome",
        ),
        Rule(
            "outcome_paired",
            ("base", "test"),
            _outcome_measure,
            _outcome_paired_decide,
            value_label="the outcome, test minus base",
        ),
    )
}
