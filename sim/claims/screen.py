"""What each verdict turns on: a Morris screen per claim, and where a verdict flips.

For each claim with a ``screen`` table in seeds/claims.toml, a Morris sample (SALib, through
sim/experiments/methods.py, as ``killline sensitivity`` draws it) is drawn over the claim's
parameters and their plausible ranges. At every sample point the parameters override every
role of the claim, the roles run on the same few seeds, and the point's outputs are the
share of those replicates in which the claim holds (``probability``) and the mean of the
claim's key value (``value``). The elementary effects of both are the screen.

Where a verdict flips: the sample points lie on the Morris grid, so each parameter takes
``levels`` values; for the parameter with the largest effect on the probability, the
probability at each of its levels (pooled over the other parameters) is read against the
verdict thresholds, and every change of verdict between neighbouring levels is a flip (a
one-dimensional threshold, the simplest case of a PRIM box).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from sim.claims.rules import sweep_roles
from sim.claims.spec import Claim, ClaimsSpec
from sim.claims.tasks import decide, measure_task, scenario_for
from sim.experiments.engine import run_tasks
from sim.experiments.methods import analyse, draw_sample, problem_for
from sim.experiments.sensitivity import check_bounds

OUTPUTS = ("probability", "value")


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
    trajectories: int | None = None,
    levels: int | None = None,
    replicates: int | None = None,
    workers: int | None = None,
    scheduler: Any = None,
    progress: bool | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Morris screens of every claim with a ``screen`` table.

    Returns:
        ``screen``: one row per (claim, output, parameter) with ``mu``, ``mu_star``,
        ``sigma``, ``mu_star_conf``, ``rank``; ``flips``: one row per claim with the top
        parameter, the probability and verdict at each of its levels and where the verdict
        flips; and the facts of the runs.
    """
    trajectories = trajectories or spec.check.get("screen_trajectories", 2)
    levels = levels or spec.check.get("screen_levels", 4)
    replicates = replicates or spec.check.get("screen_replicates", 2)
    plans = {}
    scenarios, tasks, owners = {}, [], []
    for claim in spec.claims.values():
        if not claim.screen:
            continue
        problem = problem_for(claim.screen)
        sample = draw_sample(problem, "morris", trajectories, levels=levels, seed=size["run.seed"])
        base = scenario_for(next(iter(claim.runs.values())), size)
        integers = check_bounds(base, claim.screen)
        points = [
            {
                key: round(float(v)) if integers[key] else float(v)
                for key, v in zip(problem["names"], row, strict=True)
            }
            for row in sample
        ]
        plans[claim.id] = (problem, sample, points)
        for number, point in enumerate(points):
            at_point = screened_claim(claim, point)
            for role, run in at_point.runs.items():
                key = f"{claim.id}|{number}|{run.key}"
                if key not in scenarios:
                    scenarios[key] = scenario_for(run, size)
                for index in range(replicates):
                    tasks.append((key, index, [(at_point, role)]))
                    owners.append((claim.id, number))
    if not tasks:
        empty = pd.DataFrame(columns=["claim", "output", "parameter", "mu_star", "rank"])
        return empty, pd.DataFrame(columns=["claim", "parameter"]), {"runs": 0}
    results, facts = run_tasks(
        measure_task,
        scenarios,
        tasks,
        workers=workers,
        scheduler=scheduler,
        progress=progress,
        desc="claims screen",
    )
    rows = []
    for (_, index, _), (claim_id, number), result in zip(tasks, owners, results, strict=True):
        for (_, role), values in result["values"].items():
            for measure, value in values.items():
                rows.append(
                    {
                        "point": number,
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
    for claim_id, (problem, sample, points) in plans.items():
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
        screens.append(indices.rename(columns={"outcome": "output"}))
        flips.append(_flip(claim_id, indices, sample, problem, per_point, spec))
    facts = {**facts, "trajectories": trajectories, "levels": levels, "replicates": replicates}
    return pd.concat(screens, ignore_index=True), pd.DataFrame(flips), facts


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


def _flip(
    claim_id: str,
    indices: pd.DataFrame,
    sample: np.ndarray,
    problem: Mapping[str, Any],
    per_point: pd.DataFrame,
    spec: ClaimsSpec,
) -> dict[str, Any]:
    """The top parameter for the probability, its levels, and where the verdict flips."""
    ranked = indices[(indices["outcome"] == "probability") & (indices["note"] == "")]
    if ranked.empty:
        note = indices[indices["outcome"] == "probability"]["note"].iloc[0] or "no effect"
        return {"claim": claim_id, "parameter": "", "levels": "", "flips": f"none ({note})"}
    top = ranked.iloc[0]["parameter"]
    column = list(problem["names"]).index(top)
    values = np.round(sample[:, column], 10)
    table = pd.DataFrame({"level": values, "probability": per_point["probability"].to_numpy()})
    by_level = table.groupby("level")["probability"].mean()
    verdicts = [spec.verdict(p) for p in by_level]
    levels = "; ".join(
        f"{level:g}: {p:.2f} ({v})"
        for (level, p), v in zip(by_level.items(), verdicts, strict=True)
    )
    changes = [
        f"between {a:g} ({va}) and {b:g} ({vb})"
        for (a, va), (b, vb) in zip(
            zip(by_level.index, verdicts, strict=True),
            list(zip(by_level.index, verdicts, strict=True))[1:],
            strict=False,
        )
        if va != vb
    ]
    return {
        "claim": claim_id,
        "parameter": top,
        "levels": levels,
        "flips": "; ".join(changes) if changes else "no flip inside the range",
    }
