"""The parameters the dashboard exposes, and how a setting of them changes a scenario.

A :class:`Control` is either a scenario key path (``kill_line.runway_months``), set as it
is, or a multiplier of the scenario's own events (``giant_programmes`` scales every giant's
investment programme, ``campaigns`` every cash campaign): the scenario's figures are the
default, so a multiplier of 1 is the scenario as written. Ranges are the schema's where it
has one, otherwise a band around the default wide enough to show the mechanism (each says
why in its ``note``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sim.scenario import Scenario


@dataclass(frozen=True)
class Control:
    """One input of the dashboard.

    Attributes:
        key: a scenario key path, or the name of an event multiplier (:data:`SCALES`).
        label: what the dashboard shows.
        low, high, step: the slider's range and step.
        integer: whether the value is a whole number.
        note: what the control moves, for the tooltip.
    """

    key: str
    label: str
    low: float
    high: float
    step: float
    integer: bool = False
    note: str = ""


# multiplier name -> (event kind, tier of the firm or None for every firm)
SCALES = {
    "giant_programmes": ("investment_programme", "giant"),
    "campaigns": ("marketing_campaign", None),
}

CONTROLS = (
    Control(
        "giant_programmes",
        "Giants' programmes (x scenario)",
        0.0,
        3.0,
        0.25,
        note="multiplies every giant's investment programme in the scenario (C1, C8)",
    ),
    Control(
        "capabilities.supply_scale_bn",
        "Supply cost (bn RMB to close 63%)",
        5.0,
        100.0,
        5.0,
        note="bn RMB of supply building that closes 63% of the gap to full supply (F4)",
    ),
    Control(
        "campaigns",
        "Cash campaigns (x scenario)",
        0.0,
        5.0,
        0.25,
        note="multiplies every cash campaign (Spring Festival red packets, S16)",
    ),
    Control(
        "awareness.trial_review_rate",
        "Campaign users' monthly review rate",
        0.0,
        1.0,
        0.05,
        note="chance a month that a user brought by a campaign reviews (lower: better retention)",
    ),
    Control(
        "capabilities.industry_cost_decline",
        "Cost turn: monthly fall in unit cost",
        0.0,
        0.15,
        0.01,
        note="industry-wide monthly fall in the cost of serving tokens (P1-P4)",
    ),
    Control(
        "capabilities.breakthrough_rate",
        "Breakthrough odds",
        0.0,
        0.06,
        0.002,
        note="base monthly odds of a frontier breakthrough (docs/model.md 7.1)",
    ),
    Control(
        "kill_line.runway_months",
        "Kill line: runway threshold (months)",
        1.0,
        24.0,
        1.0,
        note="under this runway a firm can no longer raise or cut its way out",
    ),
    Control(
        "kill_line.confirm_months",
        "Kill line: months to confirm a crossing",
        1.0,
        6.0,
        1.0,
        integer=True,
        note="consecutive months past the line that confirm a crossing",
    ),
    Control(
        "run.users",
        "Simulated users",
        1_000,
        200_000,
        5_000,
        integer=True,
        note="population size (more: smoother, slower)",
    ),
    Control("run.seed", "Seed", 0, 99_999_999, 1, integer=True, note="the random seed"),
)
BY_KEY = {control.key: control for control in CONTROLS}


def defaults(scenario: Scenario) -> dict[str, float]:
    """Each control's value in the scenario as written (multipliers at 1)."""
    values: dict[str, float] = {}
    tree = scenario.to_dict()
    for control in CONTROLS:
        if control.key in SCALES:
            values[control.key] = 1.0
            continue
        node: Any = tree
        for part in control.key.split("."):
            node = node[part]
        values[control.key] = int(node) if control.integer else float(node)
    return values


def apply(scenario: Scenario, settings: Mapping[str, float]) -> Scenario:
    """The scenario with the settings applied: key paths set, event multipliers applied
    to the scenario's own events, validated again.

    Raises:
        ScenarioError: a value the schema does not allow (one line naming the key).
        KeyError: a setting that is no control.
    """
    from sim.scenario import Scenario

    unknown = [key for key in settings if key not in BY_KEY]
    if unknown:
        raise KeyError(f"unknown dashboard control {unknown[0]!r}")
    overrides = {
        key: (int(value) if BY_KEY[key].integer else float(value))
        for key, value in settings.items()
        if key not in SCALES
    }
    changed = scenario.with_overrides(overrides) if overrides else scenario
    scales = {key: float(value) for key, value in settings.items() if key in SCALES}
    if all(value == 1.0 for value in scales.values()):
        return changed
    tree = changed.to_dict()
    tiers = {firm_id: firm["tier"] for firm_id, firm in tree["firms"].items()}
    for event in tree["events"]:
        for key, factor in scales.items():
            kind, tier = SCALES[key]
            if event.get("kind") == kind and (tier is None or tiers.get(event["firm"]) == tier):
                event["total_bn"] = event["total_bn"] * factor
    return Scenario.model_validate(tree)
