"""The claims check: every claim over seeded replicates, paired by seed, on the engine.

The distinct runs of all claims (a scenario with overrides; sprint_race serves five
claims) are run once per replicate as tasks of sim/experiments/engine.py. Every run of a
check uses the same ensemble seed, so replicate ``i`` of every role of a claim runs with
the same seed: the roles are paired and their difference is the scenario's, not luck's.
Each task reduces its tables to the measures of the claims that use the run (the
``measure`` half of sim/claims/rules.py) in the worker, so only a few numbers travel back;
the ``decide`` half then reads every role of a replicate together.

    from sim.claims import check_claims
    result = check_claims(replicates=8, users=3000)
    result.scorecard            # one row per claim: probability, Wilson interval, verdict
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd

from sim.claims.rules import RULES
from sim.claims.screen import screen_claims
from sim.claims.spec import ClaimsSpec, load_claims
from sim.claims.tasks import (
    decide,
    distinct_runs,
    measure_runs,
    parameters_of_runs,
    run_fixed,
    scenario_for,
)
from sim.experiments.engine import replicate_seed
from sim.experiments.stats import wilson_interval
from sim.posterior import Posterior, as_posterior, fixed_keys, posterior_facts
from sim.results import Result
from sim.scenario import load_scenario

SCORECARD_COLUMNS = (
    "claim",
    "statement",
    "probability",
    "low",
    "high",
    "verdict",
    "holds",
    "decided",
    "replicates",
    "value_median",
    "value_label",
    "runs",
)


@dataclass(kw_only=True)
class ClaimsResult(Result):
    """A finished check.

    Attributes:
        scenario: the base run's scenario as run (for the manifest).
        tables: ``scorecard`` (one row per claim), ``replicates`` (one row per (claim,
            replicate): seed, holds, value), ``measures`` (one row per (run, replicate,
            claim, role, measure)); and, when screened, ``screen`` (Morris indices per claim)
            and ``flips`` (PRIM boxes where a verdict flips).
        facts: sizes, seeds, executor, timings, the claims file, the log of changes.
    """

    kind: ClassVar[str] = "claims"
    spec: ClaimsSpec | None = None

    @property
    def scorecard(self) -> pd.DataFrame:
        """One row per claim: probability it holds, 95% Wilson interval, verdict."""
        return self.tables["scorecard"]

    @property
    def replicates(self) -> pd.DataFrame:
        """One row per (claim, replicate)."""
        return self.tables["replicates"]


def scorecard(spec: ClaimsSpec, decided: pd.DataFrame) -> pd.DataFrame:
    """One row per claim: the share of decided replicates in which it holds, its 95%
    Wilson interval and the verdict."""
    rows = []
    for claim_id, claim in spec.claims.items():
        mine = decided[decided["claim"] == claim_id]
        known = mine[mine["holds"].notna()]
        holds = int(known["holds"].astype(bool).sum())
        count = len(known)
        probability = holds / count if count else float("nan")
        low, high = wilson_interval(holds, count)
        rows.append(
            {
                "claim": claim_id,
                "statement": claim.statement,
                "probability": probability,
                "low": low,
                "high": high,
                "verdict": spec.verdict(probability),
                "holds": holds,
                "decided": count,
                "replicates": len(mine),
                "value_median": float(mine["value"].median()) if len(mine) else float("nan"),
                "value_label": RULES[claim.rule].value_label,
                "runs": ", ".join(f"{role}: {run.key}" for role, run in claim.runs.items()),
            }
        )
    return pd.DataFrame(rows, columns=list(SCORECARD_COLUMNS))


# ---------------------------------------------------------------------------- the check


def check_claims(
    spec: ClaimsSpec | None = None,
    *,
    claims: Sequence[str] | None = None,
    replicates: int | None = None,
    users: int | None = None,
    months: int | None = None,
    seed: int | None = None,
    screen: bool = False,
    workers: int | None = None,
    scheduler: Any = None,
    progress: bool | None = None,
    posterior: Posterior | str | Path | None = None,
) -> ClaimsResult:
    """Check the claims over seeded replicates.

    Args:
        spec: the claims (default: ``seeds/claims.toml``).
        claims: check only these ids (default: all).
        replicates, users, months: the check's size (default: the file's ``[check]``).
        seed: the ensemble seed of every run (default: the base scenario's ``run.seed``).
        screen: also run each claim's Morris screen (sim/claims/screen.py).
        workers, scheduler, progress: as for :func:`sim.experiments.run_ensemble`.
        posterior: a Posterior, a posterior file's path or ``"default"``: replicate ``i`` of
            every run takes the draw of replicate ``i`` (sim/posterior.py), so the roles of
            a claim stay paired; a key a run sets itself keeps the run's value. The Morris
            screens run at the scenarios' values.

    Raises:
        ScenarioError: a run names an unknown scenario, key or event id; a bad posterior.
        RunFailed: a run raised; the message names it.
    """
    began = time.perf_counter()
    spec = (spec or load_claims()).select(list(claims) if claims else None)
    replicates = replicates or spec.check.get("replicates", 10)
    first = next(iter(distinct_runs(spec).values()))
    seed = seed if seed is not None else load_scenario(first.scenario).run.seed
    size = {
        "run.users": users or spec.check.get("users", 5000),
        "run.months": months or spec.check.get("months", 36),
        "run.seed": seed,
    }
    executor = {"workers": workers, "scheduler": scheduler, "progress": progress}
    posterior = as_posterior(posterior)
    measures, ran = measure_runs(spec, replicates, size, **executor, posterior=posterior)
    decided = decide(spec, measures)
    card = scorecard(spec, decided)
    tables = {"scorecard": card, "replicates": decided, "measures": measures}
    if posterior is not None:
        tables["parameters"] = parameters_of_runs(spec, replicates, size, posterior)
    facts: dict[str, Any] = {
        **ran,
        "claims_file": str(spec.path),
        "claims": list(spec.claims),
        "replicates": replicates,
        "seeds": [replicate_seed(seed, i) for i in range(replicates)],
        "size": size,
        "distinct_runs": len(distinct_runs(spec)),
        "verdicts": {"supported": spec.supported, "not_supported": spec.not_supported},
        **posterior_facts(posterior),
    }
    if posterior is not None:
        facts["posterior"]["fixed"] = sorted(
            {
                key
                for run in distinct_runs(spec).values()
                for key in fixed_keys(scenario_for(run, size), posterior, run_fixed(run))
            }
        )
    if screen:
        screened, flips, screen_facts = screen_claims(spec, size, **executor)
        tables["screen"], tables["flips"] = screened, flips
        facts["screen"] = screen_facts
    facts["wall_seconds"] = round(time.perf_counter() - began, 3)
    return ClaimsResult(scenario=scenario_for(first, size), tables=tables, facts=facts, spec=spec)
