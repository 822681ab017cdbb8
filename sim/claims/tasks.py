"""The tasks of a claims check: the distinct runs of the claims, one replicate of a run
reduced to its claims' measures (in the worker), and the per-replicate decisions.

sim/claims/check.py (the scorecard) and sim/claims/screen.py (the Morris screens) both run
their replicates through :func:`measure_runs` / :func:`measure_task` and read them with
:func:`decide`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from sim.claims.rules import RULES
from sim.claims.spec import Claim, ClaimsSpec, Run, resolve_overrides
from sim.experiments.engine import run_tasks, simulate
from sim.posterior import Posterior, check_posterior, parameters_table, replicate_scenario
from sim.scenario import Scenario, load_scenario, prepare_scenario

# ---------------------------------------------------------------------------- runs


def scenario_for(run: Run, size: Mapping[str, Any]) -> Scenario:
    """The run's scenario at the check's size (``run.users``, ``run.months``, ``run.seed``)."""
    scenario = load_scenario(run.scenario)
    overrides = resolve_overrides(scenario, dict(run.overrides))
    return prepare_scenario(scenario, overrides={**overrides, **size})


def run_fixed(run: Run) -> tuple[str, ...]:
    """The keys a run sets itself, which a posterior's draw leaves at the run's values."""
    return tuple(key for key, _ in run.overrides)


def distinct_runs(spec: ClaimsSpec) -> dict[str, Run]:
    """Every run the claims use, once, by key (in the order claims first use them)."""
    found: dict[str, Run] = {}
    for claim in spec.claims.values():
        for run in claim.runs.values():
            found.setdefault(run.key, run)
    return found


def uses_of(spec: ClaimsSpec, key: str) -> list[tuple[Claim, str]]:
    """The (claim, role) pairs that read the run ``key``."""
    return [
        (claim, role)
        for claim in spec.claims.values()
        for role, run in claim.runs.items()
        if run.key == key
    ]


def measure_task(
    scenarios: Mapping[str, Scenario],
    key: str,
    index: int,
    uses: Sequence[tuple[Claim, str]],
    posterior: Posterior | None = None,
    fixed: Sequence[str] = (),
) -> dict[str, Any]:
    """Replicate ``index`` of run ``key``: the measures of every (claim, role) using it.
    With a posterior, the run takes replicate ``index``'s draw (every run of a check shares
    the seed, so every role of a replicate gets the same draw), but for the ``fixed`` keys
    the run sets itself."""
    record = sorted({table for claim, _ in uses for table in RULES[claim.rule].record})
    scenario, _ = replicate_scenario(scenarios[key], index, posterior, fixed)
    seed, tables = simulate(scenario, index, record)
    values = {
        (claim.id, role): RULES[claim.rule].measure(tables, claim, role) for claim, role in uses
    }
    return {"seed": seed, "values": values}


def measure_runs(
    spec: ClaimsSpec,
    replicates: int,
    size: Mapping[str, Any],
    *,
    workers: int | None = None,
    scheduler: Any = None,
    progress: bool | None = None,
    desc: str = "claims",
    posterior: Posterior | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Run every distinct run of the claims ``replicates`` times (each with replicate
    ``i``'s draw of the posterior, when one is given); return the long table of measures
    (run, replicate, seed, claim, role, measure, value) and the engine's facts."""
    runs = distinct_runs(spec)
    scenarios = {key: scenario_for(run, size) for key, run in runs.items()}
    for key, run in runs.items():
        check_posterior(scenarios[key], posterior, run_fixed(run))
    tail = {key: (posterior, run_fixed(run)) if posterior else () for key, run in runs.items()}
    tasks = [
        (key, index, uses_of(spec, key), *tail[key]) for key in runs for index in range(replicates)
    ]
    results, facts = run_tasks(
        measure_task,
        scenarios,
        tasks,
        workers=workers,
        scheduler=scheduler,
        progress=progress,
        desc=desc,
    )
    rows = []
    for (key, index, *_), result in zip(tasks, results, strict=True):
        for (claim_id, role), values in result["values"].items():
            for measure, value in values.items():
                rows.append(
                    {
                        "run": key,
                        "replicate": index,
                        "seed": result["seed"],
                        "claim": claim_id,
                        "role": role,
                        "measure": measure,
                        "value": value,
                    }
                )
    columns = ["run", "replicate", "seed", "claim", "role", "measure", "value"]
    return pd.DataFrame(rows, columns=columns), facts


def parameters_of_runs(
    spec: ClaimsSpec, replicates: int, size: Mapping[str, Any], posterior: Posterior | None
) -> pd.DataFrame:
    """The ``parameters`` table of a check: one row per (run, replicate), the posterior's
    parameters that run used (``run`` and ``replicate`` alone without a posterior)."""
    tables = []
    for key, run in distinct_runs(spec).items():
        scenario = scenario_for(run, size)
        table = parameters_table(posterior, scenario, range(replicates), run_fixed(run))
        table.insert(0, "run", key)
        tables.append(table)
    return pd.concat(tables, ignore_index=True)


# ---------------------------------------------------------------------------- deciding


def decide(spec: ClaimsSpec, measures: pd.DataFrame) -> pd.DataFrame:
    """One row per (claim, replicate): seed, holds (True / False / None), value."""
    rows = []
    for (claim_id, index), group in measures.groupby(["claim", "replicate"], sort=False):
        claim = spec.claims[claim_id]
        values: dict[str, dict[str, float]] = {}
        for row in group.itertuples():
            values.setdefault(row.role, {})[row.measure] = row.value
        holds, value = RULES[claim.rule].decide(values, claim)
        rows.append(
            {
                "claim": claim_id,
                "replicate": int(index),
                "seed": int(group["seed"].iloc[0]),
                "holds": holds,
                "value": value,
            }
        )
    table = pd.DataFrame(rows, columns=["claim", "replicate", "seed", "holds", "value"])
    return table.sort_values(["claim", "replicate"], key=_claim_order(spec)).reset_index(drop=True)


def _claim_order(spec: ClaimsSpec):
    order = {claim_id: position for position, claim_id in enumerate(spec.claims)}
    return lambda column: column.map(order) if column.name == "claim" else column
