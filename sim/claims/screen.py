"""What each verdict turns on: a Morris screen per claim over the priors and the claim's own
levers, and PRIM boxes where its verdict flips.

**The screen's parameters.** For every claim: every prior of seeds/priors.toml (fitted and
carried alike, with its range and scale: a log-scale prior is sampled uniformly in its
logarithm) and the claim's own ``screen`` entries of seeds/claims.toml (the scenario's
levers, linear on their ranges). A claim's lever may not repeat a prior.

**The screen.** A Morris sample (SALib, through sim/experiments/methods.py, as ``killline
sensitivity`` draws it) over those parameters, on the sampling scale. At every sample point
the parameters override every role of the claim, the roles run on the same few seeds, and
the point's outputs are the share of those replicates in which the claim holds
(``probability``) and the mean of the claim's key value (``value``). Their elementary
effects rank the parameters by mu* (the change over a step of two thirds of the range on
four levels, per whole range); the top two or three are what the verdict turns on.

**Where the verdict flips.** PRIM (sim/experiments/prim.py) over the screen's sample points,
one row per (point, replicate) with the outcome "the claim holds", searches a box where the
claim holds at least as often as ``supported`` asks, and, with the outcome "it fails", one
where it fails at least as often as ``not_supported`` allows; a box whose verdict inside
differs from the verdict outside is a flip. The settings are ``[prim]`` of the claims file
(seeds/claims.toml for a key the file lacks); docs/claims.md argues them.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sim.claims.rules import sweep_roles
from sim.claims.spec import CLAIMS_FILE, Claim, ClaimsSpec
from sim.claims.tasks import decide, measure_task, scenario_for
from sim.experiments.engine import run_tasks
from sim.experiments.methods import analyse, draw_sample
from sim.experiments.prim import find_box
from sim.experiments.sensitivity import check_bounds
from sim.priors import Prior, load_priors
from sim.scenario import Scenario
from sim.schema import ScenarioError

OUTPUTS = ("probability", "value")
PRIM_KEYS = ("peel_alpha", "min_support", "max_dimensions", "max_p_value")
FLIP_COLUMNS = (
    "claim",
    "outcome",
    "box",
    "parameters",
    "coverage",
    "density",
    "support",
    "p_value",
    "probability_inside",
    "probability_outside",
    "verdict_inside",
    "verdict_outside",
    "probability_screen",
)


@dataclass(frozen=True)
class ScreenParameter:
    """One parameter of a claim's screen: its range in the value, and its sampling scale."""

    key: str
    low: float
    high: float
    scale: str
    source: str

    @property
    def bounds(self) -> tuple[float, float]:
        """The bounds on the sampling scale (logarithms for a log scale)."""
        if self.scale == "log":
            return math.log(self.low), math.log(self.high)
        return self.low, self.high

    def to_value(self, u: np.ndarray) -> np.ndarray:
        return np.exp(u) if self.scale == "log" else u


def screen_parameters(claim: Claim, priors: Sequence[Prior], path: Any) -> list[ScreenParameter]:
    """The priors, then the claim's own levers.

    Raises:
        ScenarioError: a lever of the claim repeats a prior.
    """
    found = [
        ScreenParameter(p.key, p.low, p.high, p.scale, "fitted" if p.fit else "carried")
        for p in priors
    ]
    keys = {p.key for p in priors}
    for key, (low, high) in claim.screen.items():
        if key in keys:
            raise ScenarioError(
                path, f"claims.{claim.id}.screen.{key}", "has a prior in seeds/priors.toml"
            )
        found.append(ScreenParameter(key, low, high, "linear", "lever"))
    return found


def prim_settings(spec: ClaimsSpec) -> dict[str, float]:
    """``[prim]`` of the claims file, each key the file lacks from seeds/claims.toml."""
    settings: dict[str, float] = {}
    for path in (CLAIMS_FILE, spec.path):
        table = tomllib.loads(path.read_text(encoding="utf-8")).get("prim", {})
        for key, value in table.items():
            if key not in PRIM_KEYS:
                raise ScenarioError(path, f"prim.{key}", f"unknown key; allowed: {PRIM_KEYS}")
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise ScenarioError(path, f"prim.{key}", "must be a positive number")
            settings[key] = value
    return settings


def screened_claim(claim: Claim, point: Mapping[str, float]) -> Claim:
    """The claim at one sample point: the point's values override every role; a sweep keeps
    only its two ends (what the rule compares)."""
    changed = claim.with_overrides(point)
    sweep = sweep_roles(changed.runs)
    if len(sweep) > 2:
        keep = {sweep[0], sweep[-1]}
        runs = {r: run for r, run in changed.runs.items() if r in keep or r not in sweep}
        changed = Claim(
            changed.id,
            changed.statement,
            changed.rule,
            changed.horizon,
            runs,
            changed.params,
            changed.screen,
            changed.sweep,
        )
    return changed


def screen_claims(
    spec: ClaimsSpec,
    size: Mapping[str, Any],
    *,
    priors: Sequence[Prior] | None = None,
    trajectories: int | None = None,
    levels: int | None = None,
    replicates: int | None = None,
    workers: int | None = None,
    scheduler: Any = None,
    progress: bool | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Morris screens of every claim over the priors (default: seeds/priors.toml) and its
    levers, and PRIM boxes where its verdict flips.

    Returns:
        ``screen``: one row per (claim, output, parameter) with ``mu``, ``mu_star``,
        ``sigma``, ``mu_star_conf``, ``rank``, ``source`` (fitted / carried prior, or the
        claim's lever); ``flips``: one row per box where a verdict flips (claim, outcome,
        the box, coverage, density, support, the largest quasi-p-value, the probability and
        verdict inside and outside, the probability over the whole screen), or one row per
        claim without a flip (empty box); and
        the facts of the runs.
    """
    priors = load_priors() if priors is None else tuple(priors)
    trajectories = trajectories or spec.check.get("screen_trajectories", 2)
    levels = levels or spec.check.get("screen_levels", 4)
    replicates = replicates or spec.check.get("screen_replicates", 2)
    settings = prim_settings(spec)
    plans = {}
    scenarios, tasks, owners = {}, [], []
    for claim in spec.claims.values():
        parameters = screen_parameters(claim, priors, spec.path)
        if not parameters:
            continue
        problem = {
            "num_vars": len(parameters),
            "names": [p.key for p in parameters],
            "bounds": [list(p.bounds) for p in parameters],
        }
        sample = draw_sample(problem, "morris", trajectories, levels=levels, seed=size["run.seed"])
        base = scenario_for(next(iter(claim.runs.values())), size)
        integers = check_bounds(base, {p.key: (p.low, p.high) for p in parameters})
        values = np.column_stack([p.to_value(sample[:, j]) for j, p in enumerate(parameters)])
        points = [
            {
                p.key: round(float(v)) if integers[p.key] else float(v)
                for p, v in zip(parameters, row, strict=True)
            }
            for row in values
        ]
        plans[claim.id] = (parameters, problem, sample, points)
        for number, point in enumerate(points):
            at_point = screened_claim(claim, point)
            for role, run in at_point.runs.items():
                key = f"{claim.id}|{number}|{run.key}"
                if key not in scenarios:
                    scenarios[key] = scenario_for(run, size)
                for index in range(replicates):
                    tasks.append((scenarios[key], index, [(at_point, role)]))
                    owners.append((claim.id, number))
    if not tasks:
        empty = pd.DataFrame(columns=["claim", "output", "parameter", "mu_star", "rank"])
        return empty, pd.DataFrame(columns=list(FLIP_COLUMNS)), {"runs": 0}
    results, facts = run_tasks(
        _point_task,
        None,
        tasks,
        workers=workers,
        scheduler=scheduler,
        progress=progress,
        desc="claims screen",
    )
    rows = []
    for (_, index, _), (claim_id, number), result in zip(tasks, owners, results, strict=True):
        for (_, role), found in result["values"].items():
            for measure, value in found.items():
                rows.append(
                    {
                        "replicate": index,
                        "seed": result["seed"],
                        "claim": f"{claim_id}|{number}",
                        "role": role,
                        "measure": measure,
                        "value": value,
                    }
                )
    measures = pd.DataFrame(rows)
    screens, flips = [], []
    for claim_id, (parameters, problem, sample, points) in plans.items():
        mine = measures[measures["claim"].str.startswith(f"{claim_id}|")]
        claims = {
            f"{claim_id}|{n}": _renamed(screened_claim(spec.claims[claim_id], p), claim_id, n)
            for n, p in enumerate(points)
        }
        local = ClaimsSpec(claims, spec.supported, spec.not_supported, spec.check, spec.path)
        decided = decide(local, mine)
        decided["point"] = decided["claim"].str.split("|").str[1].astype(int)
        per_point = decided.groupby("point").agg(
            probability=("holds", lambda h: _mean_known(h)), value=("value", "mean")
        )
        per_point = per_point.reindex(range(len(points)))
        outputs = {name: per_point[name].to_numpy(dtype=float) for name in OUTPUTS}
        indices, _ = analyse(problem, "morris", sample, outputs, levels=levels, seed=0)
        indices.insert(0, "claim", claim_id)
        source = {p.key: p.source for p in parameters}
        indices["source"] = indices["parameter"].map(source)
        screens.append(indices.rename(columns={"outcome": "output"}))
        flips.extend(_boxes(claim_id, parameters, sample, decided, spec, settings))
    facts = {
        **facts,
        "trajectories": trajectories,
        "levels": levels,
        "replicates": replicates,
        "parameters": {claim_id: len(plan[0]) for claim_id, plan in plans.items()},
        "points": sum(len(plan[3]) for plan in plans.values()),
        "prim": settings,
    }
    return (
        pd.concat(screens, ignore_index=True),
        pd.DataFrame(flips, columns=list(FLIP_COLUMNS)),
        facts,
    )


def _point_task(_: None, scenario: Scenario, index: int, uses: Any) -> dict[str, Any]:
    """One replicate of one role at one sample point. Each task carries its own scenario:
    the screen's hundreds of scenarios are not sent with every task."""
    return measure_task({"point": scenario}, "point", index, uses)


def _renamed(claim: Claim, claim_id: str, number: int) -> Claim:
    return Claim(
        f"{claim_id}|{number}",
        claim.statement,
        claim.rule,
        claim.horizon,
        claim.runs,
        claim.params,
        claim.screen,
        claim.sweep,
    )


def _mean_known(holds: pd.Series) -> float:
    known = holds.dropna()
    return float(known.astype(bool).mean()) if len(known) else math.nan


def _span(key: str, low: float, high: float) -> str:
    return (
        f"{key} = {low:.3g}"
        if f"{low:.3g}" == f"{high:.3g}"
        else f"{key} in [{low:.3g}, {high:.3g}]"
    )


def _boxes(
    claim_id: str,
    parameters: Sequence[ScreenParameter],
    sample: np.ndarray,
    decided: pd.DataFrame,
    spec: ClaimsSpec,
    settings: Mapping[str, float],
) -> list[dict[str, Any]]:
    """PRIM boxes where the claim holds (density at least ``supported``) and where it fails
    (at least ``1 - not_supported``), over (point, replicate) rows; a box is a flip when
    the verdict inside differs from the verdict outside. One empty row when there is none."""
    known = decided[decided["holds"].notna()]
    x = sample[known["point"].to_numpy(dtype=int)]
    holds = known["holds"].astype(bool).to_numpy()
    names = [p.key for p in parameters]
    scale = {p.key: p for p in parameters}
    overall = float(holds.mean()) if len(holds) else math.nan
    rows = []
    for outcome, y, density in (
        ("holds", holds, spec.supported),
        ("fails", ~holds, 1.0 - spec.not_supported),
    ):
        box = find_box(
            x,
            y,
            names,
            peel_alpha=settings["peel_alpha"],
            min_support=settings["min_support"],
            min_density=density,
            max_dimensions=int(settings["max_dimensions"]),
            max_p_value=settings["max_p_value"],
        )
        if box is None:
            continue
        inside = box.density if outcome == "holds" else 1.0 - box.density
        outside = box.outside_density if outcome == "holds" else 1.0 - box.outside_density
        verdicts = spec.verdict(inside), spec.verdict(outside)
        if verdicts[0] == verdicts[1]:
            continue
        limits = {
            key: tuple(float(scale[key].to_value(np.asarray(v))) for v in span)
            for key, span in box.limits.items()
        }
        rows.append(
            {
                "claim": claim_id,
                "outcome": outcome,
                "box": "; ".join(_span(k, lo, hi) for k, (lo, hi) in limits.items()),
                "parameters": ", ".join(limits),
                "coverage": box.coverage,
                "density": box.density,
                "support": box.support,
                "p_value": max(box.p_values.values()),
                "probability_inside": inside,
                "probability_outside": outside,
                "verdict_inside": verdicts[0],
                "verdict_outside": verdicts[1],
                "probability_screen": overall,
            }
        )
    if not rows:
        rows.append(
            {
                "claim": claim_id,
                "outcome": "",
                "box": "",
                "parameters": "",
                "coverage": math.nan,
                "density": math.nan,
                "support": 1.0,
                "p_value": math.nan,
                "probability_inside": overall,
                "probability_outside": math.nan,
                "verdict_inside": spec.verdict(overall),
                "verdict_outside": "",
                "probability_screen": overall,
            }
        )
    return rows
