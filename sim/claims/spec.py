"""The claims file (``seeds/claims.toml``): the article's predictions as pre-registered checks.

A :class:`Claim` names its rule (sim/claims/rules.py), the runs it compares by role (each a
scenario with overrides, every role on the same replicate seeds), the horizon month its
rule reads, the rule's settings and the parameters of its Morris screen. A :class:`Run` is
one scenario with overrides: claims that share a run (sprint_race is the base of five)
share its replicates.

Overrides may name an event by its id, ``events.<id>.<field>``; :func:`resolve_overrides`
turns the id into the event's index in the scenario.

    from sim.claims.spec import load_claims
    spec = load_claims()                 # seeds/claims.toml
    spec.claims["C2"].runs["test"]       # Run(scenario="sprint_race", overrides=())
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim.schema import SEEDS_DIR, ScenarioError

CLAIMS_FILE = SEEDS_DIR / "claims.toml"
CLAIM_KEYS = {"statement", "rule", "horizon", "params", "runs", "sweep", "screen"}
CHECK_KEYS = {
    "replicates",
    "users",
    "months",
    "screen_trajectories",
    "screen_levels",
    "screen_replicates",
}


@dataclass(frozen=True)
class Run:
    """One scenario with overrides (key path -> value), as a claim's role runs it."""

    scenario: str
    overrides: tuple[tuple[str, Any], ...] = ()

    @property
    def key(self) -> str:
        """A stable name of the run (scenario and overrides), shared by the claims using it."""
        if not self.overrides:
            return self.scenario
        return f"{self.scenario} {json.dumps(dict(self.overrides), sort_keys=True)}"

    def with_overrides(self, extra: Mapping[str, Any]) -> Run:
        """The run with more overrides (later ones win)."""
        merged = {**dict(self.overrides), **extra}
        return Run(self.scenario, tuple(sorted(merged.items())))


@dataclass(frozen=True)
class Claim:
    """One claim of the article as a check."""

    id: str
    statement: str
    rule: str
    horizon: int
    runs: dict[str, Run]
    params: dict[str, Any] = field(default_factory=dict)
    screen: dict[str, tuple[float, float]] = field(default_factory=dict)
    sweep: dict[str, Any] = field(default_factory=dict)

    def with_params(self, **params: Any) -> Claim:
        """A copy with some rule settings changed (to rerun a claim under another
        assumption)."""
        return Claim(
            self.id,
            self.statement,
            self.rule,
            self.horizon,
            dict(self.runs),
            {**self.params, **params},
            dict(self.screen),
            dict(self.sweep),
        )

    def with_overrides(self, overrides: Mapping[str, Any]) -> Claim:
        """A copy whose every run has these overrides too (a changed assumption)."""
        runs = {role: run.with_overrides(overrides) for role, run in self.runs.items()}
        return Claim(
            self.id,
            self.statement,
            self.rule,
            self.horizon,
            runs,
            dict(self.params),
            dict(self.screen),
            dict(self.sweep),
        )


@dataclass(frozen=True)
class ClaimsSpec:
    """The claims file: the claims in file order, the verdict thresholds, the check's size."""

    claims: dict[str, Claim]
    supported: float
    not_supported: float
    check: dict[str, int]
    path: Path = CLAIMS_FILE

    def verdict(self, probability: float) -> str:
        """``supported``, ``mixed`` or ``not supported`` (``undecided`` if no replicate
        could decide the claim)."""
        if probability != probability:  # NaN
            return "undecided"
        if probability >= self.supported:
            return "supported"
        if probability <= self.not_supported:
            return "not supported"
        return "mixed"

    def select(self, ids: list[str] | None) -> ClaimsSpec:
        """The spec with only the named claims (all when ``ids`` is None)."""
        if not ids:
            return self
        unknown = [i for i in ids if i not in self.claims]
        if unknown:
            raise ScenarioError(
                self.path, f"claims.{unknown[0]}", f"no such claim; known: {', '.join(self.claims)}"
            )
        chosen = {i: self.claims[i] for i in ids}
        return ClaimsSpec(chosen, self.supported, self.not_supported, self.check, self.path)

    def replace(self, claim: Claim) -> ClaimsSpec:
        """The spec with one claim replaced by a changed copy."""
        claims = {**self.claims, claim.id: claim}
        return ClaimsSpec(claims, self.supported, self.not_supported, self.check, self.path)


# ---------------------------------------------------------------------------- reading


def load_claims(path: str | Path | None = None) -> ClaimsSpec:
    """Read and check a claims file (default ``seeds/claims.toml``).

    Raises:
        ScenarioError: one line naming the file, the key path and what is allowed.
    """
    from sim.claims.rules import RULES

    path = Path(path) if path is not None else CLAIMS_FILE
    if not path.is_file():
        raise ScenarioError(path, "", "no such claims file")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(path, "", f"malformed TOML: {exc}") from None
    verdicts = data.get("verdicts", {})
    supported = _fraction(path, "verdicts.supported", verdicts.get("supported"))
    not_supported = _fraction(path, "verdicts.not_supported", verdicts.get("not_supported"))
    if not not_supported < supported:
        raise ScenarioError(path, "verdicts", "not_supported must be below supported")
    check = data.get("check", {})
    for key, value in check.items():
        if key not in CHECK_KEYS:
            raise ScenarioError(path, f"check.{key}", f"unknown key; allowed: {sorted(CHECK_KEYS)}")
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ScenarioError(path, f"check.{key}", "must be a positive integer")
    claims = {}
    for claim_id, table in data.get("claims", {}).items():
        claims[claim_id] = _claim(path, claim_id, table, RULES)
    if not claims:
        raise ScenarioError(path, "claims", "no claims defined")
    return ClaimsSpec(claims, supported, not_supported, dict(check), path)


def _fraction(path: Path, key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ScenarioError(path, key, "must be a number between 0 and 1")
    return float(value)


def _claim(path: Path, claim_id: str, table: Any, rules: Mapping[str, Any]) -> Claim:
    where = f"claims.{claim_id}"
    if not isinstance(table, Mapping):
        raise ScenarioError(path, where, "must be a table")
    for key in table:
        if key not in CLAIM_KEYS:
            raise ScenarioError(
                path, f"{where}.{key}", f"unknown key; allowed: {sorted(CLAIM_KEYS)}"
            )
    rule = table.get("rule")
    if rule not in rules:
        raise ScenarioError(path, f"{where}.rule", f"unknown rule {rule!r}; known: {sorted(rules)}")
    horizon = table.get("horizon")
    if isinstance(horizon, bool) or not isinstance(horizon, int) or horizon < 1:
        raise ScenarioError(path, f"{where}.horizon", "must be a month number >= 1")
    runs = {}
    for role, run in table.get("runs", {}).items():
        if not isinstance(run, Mapping) or not isinstance(run.get("scenario"), str):
            raise ScenarioError(path, f"{where}.runs.{role}", 'needs scenario = "name"')
        overrides = run.get("set", {})
        if not isinstance(overrides, Mapping):
            raise ScenarioError(path, f"{where}.runs.{role}.set", "must be a table of key = value")
        runs[role] = Run(run["scenario"], tuple(sorted(overrides.items())))
    sweep = table.get("sweep", {})
    if sweep:
        values = sweep.get("values")
        if not isinstance(sweep.get("scenario"), str) or not isinstance(sweep.get("key"), str):
            raise ScenarioError(path, f"{where}.sweep", "needs scenario, key and values")
        if not isinstance(values, list) or len(values) < 2:
            raise ScenarioError(path, f"{where}.sweep.values", "needs at least two values")
        for index, value in enumerate(values):
            runs[f"sweep_{index}"] = Run(sweep["scenario"], ((sweep["key"], value),))
    if not runs:
        raise ScenarioError(path, f"{where}.runs", "a claim needs at least one run")
    missing = [role for role in rules[rule].roles if role not in runs]
    if missing:
        raise ScenarioError(path, f"{where}.runs.{missing[0]}", f"rule {rule!r} needs this role")
    screen = {}
    for key, span in table.get("screen", {}).items():
        if (
            not isinstance(span, list)
            or len(span) != 2
            or not all(isinstance(v, int | float) for v in span)
            or not span[0] < span[1]
        ):
            raise ScenarioError(
                path, f"{where}.screen.{key}", "must be [low, high] with low < high"
            )
        screen[key] = (float(span[0]), float(span[1]))
    params = table.get("params", {})
    if not isinstance(params, Mapping):
        raise ScenarioError(path, f"{where}.params", "must be a table")
    return Claim(
        claim_id,
        str(table.get("statement", "")),
        rule,
        horizon,
        runs,
        dict(params),
        screen,
        dict(sweep),
    )


# ---------------------------------------------------------------------------- overrides


def resolve_overrides(scenario: Any, overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Overrides with ``events.<id>.`` turned into ``events.<index>.`` for the scenario.

    Raises:
        ScenarioError: an event id the scenario does not have.
    """
    resolved = {}
    ids = [event.id for event in scenario.events]
    for key, value in overrides.items():
        parts = key.split(".")
        if parts[0] == "events" and len(parts) > 2 and not parts[1].isdigit():
            if parts[1] not in ids:
                known = ", ".join(i for i in ids if i) or "none"
                raise ScenarioError(
                    scenario.name, key, f"no event with id {parts[1]!r}; known: {known}"
                )
            parts[1] = str(ids.index(parts[1]))
        resolved[".".join(parts)] = value
    return resolved
