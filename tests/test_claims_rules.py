"""Each article rule decides a replicate in the direction its claim states: it holds on
values that show the claim and fails when the claim's channel is cut (the difference gone
or reversed)."""

from __future__ import annotations

import math

import pytest

from sim.claims import load_claims
from sim.claims.rules import RULES

SPEC = load_claims()


def decide(claim_id, values):
    claim = SPEC.claims[claim_id]
    return RULES[claim.rule].decide(values, claim)[0]


def test_tier_order_needs_the_order_and_a_spread():
    ordered = {"standing_giant": 1.0, "standing_midtier": 1.0}
    ordered |= {"standing_independent": 0.8, "standing_vertical": 0.6}
    assert decide("C1", {"run": ordered}) is True
    assert decide("C1", {"run": dict.fromkeys(ordered, 1.0)}) is False  # nobody near the line
    assert decide("C1", {"run": {**ordered, "standing_vertical": 0.9}}) is False


def test_concentration_needs_all_three_movements():
    base = {"top3": 0.80, "hhi": 0.25, "rest": 0.30, "giants": 0.6}
    test = {"top3": 0.85, "hhi": 0.28, "rest": 0.25, "giants": 0.7}
    assert decide("C2", {"base": base, "test": test}) is True
    assert decide("C2", {"base": base, "test": base}) is False
    assert decide("C2", {"base": base, "test": {**test, "rest": 0.31}}) is False


def test_rundown_counts_only_quiet_independents():
    assert decide("C3", {"run": {"quiet": 4.0, "run_down": 2.0}}) is True
    assert decide("C3", {"run": {"quiet": 4.0, "run_down": 1.0}}) is False
    assert decide("C3", {"run": {"quiet": 0.0, "run_down": 0.0}}) is None


def test_breakthrough_needs_a_large_gain_taken_from_the_giants():
    base = {"share": 0.02, "giants": 0.65}
    assert decide("C4", {"base": base, "test": {"share": 0.08, "giants": 0.60}}) is True
    assert decide("C4", {"base": base, "test": {"share": 0.03, "giants": 0.60}}) is False
    assert decide("C4", {"base": base, "test": {"share": 0.08, "giants": 0.66}}) is False


@pytest.mark.parametrize(("more", "holds"), [(1.0, True), (0.0, False), (-1.0, False)])
def test_fusion_needs_one_more_standing_firm(more, holds):
    base = {"standing": 2.0, "firms": 3.0}
    test = {"standing": 2.0 + more, "firms": 3.0}
    assert decide("C5", {"base": base, "test": test}) is holds


def test_vertical_squeeze_needs_both_halves():
    base, squeeze = {"share": 0.03, "crossed": 0.0}, {"share": 0.02, "crossed": 2.0}
    assert decide("C6", {"base": base, "squeeze": squeeze, "edge": {"share": 0.02, "crossed": 1.0}})
    no_edge = {"base": base, "squeeze": squeeze, "edge": squeeze}
    assert decide("C6", no_edge) is False
    no_squeeze = {"base": squeeze, "squeeze": base, "edge": {"share": 0.03, "crossed": 0.0}}
    assert decide("C6", no_squeeze) is False


def test_cost_turn_needs_earlier_crossings():
    base = {"months": 280.0, "crossed": 1.0, "firms": 8.0}
    assert decide("C7", {"base": base, "test": {**base, "months": 260.0}}) is True
    assert decide("C7", {"base": base, "test": base}) is False


def test_supply_sweep_needs_the_premise_and_both_gains():
    low = {"monetisation": 1.5, "stickiness": 0.96, "users_0": 180.0, "rival_users_0": 75.0}
    low |= {"supply_0": 0.25, "rival_supply_0": 0.7}
    high = {**low, "monetisation": 2.5, "stickiness": 0.98}
    assert decide("C8", {"sweep_0": low, "sweep_1": low, "sweep_2": high}) is True
    assert decide("C8", {"sweep_0": low, "sweep_1": {**high, "stickiness": 0.95}}) is False
    no_premise = {**low, "supply_0": 0.9}
    assert decide("C8", {"sweep_0": no_premise, "sweep_1": {**high, "supply_0": 0.9}}) is False


def test_social_insurance_and_startup_exits():
    assert decide("C9", {"base": {"share": 0.09}, "test": {"share": 0.10}}) is True
    assert decide("C9", {"base": {"share": 0.10}, "test": {"share": 0.10}}) is False
    assert decide("C10", {"run": {"closed_share": 0.16, "closed_share_start": 0.16}}) is True
    assert decide("C10", {"run": {"closed_share": 0.05, "closed_share_start": 0.16}}) is False
    assert decide("C10", {"run": {"closed_share": math.nan, "closed_share_start": 0.16}}) is None
