"""A fitted posterior: weighted draws of the fitted parameters, the carried priors, and
where they came from; one parameter set per replicate, drawn from it.

``killline calibrate`` writes a posterior file (seeds/posterior.toml ships one); every
ensemble, sweep and claims check run with ``--posterior FILE`` gives replicate ``i`` the
parameters drawn for it: a particle of the fitted posterior, chosen by weight, and a draw of
every carried prior (seeds/priors.toml, ``fit = false``). The draw is seeded by the
scenario's seed and the replicate's index alone, so replicate ``i`` gets the same parameters
serially, on local processes or on Dask, and every point of a sweep (whose points share the
replicate seeds) sees the same draws.

    from sim.posterior import load_posterior, replicate_scenario
    post = load_posterior("seeds/posterior.toml")
    scenario_i, values = replicate_scenario(scenario, i, post)

A key the scenario itself sets away from its default in seeds/parameters.toml (a
scenario's treatment, a ``--set``), a sweep point's own key and a claim run's own override
keep their values: the draw is made whole and those keys dropped from it, so the other keys
get the same draw either way. ``run_ensemble``, ``sweep`` and ``check_claims`` take
``posterior=`` (a Posterior, a path, or ``"default"`` for seeds/posterior.toml) and write a
``parameters`` table: what each replicate ran with.

The file (TOML):

    [meta]                    library, scenario, panel and its SHA-256, the model code's
                              SHA-256, date, seed, users, generations, particles, ...
    [fitted]
    keys = ["choice.b_quality", ...]
    weights = [...]           one per particle (normalised on reading)
    [fitted.values]
    "choice.b_quality" = [...]  one per particle
    [[carried]]               key, low, high, scale, reason: priors drawn per replicate
"""

from __future__ import annotations

import ast
import hashlib
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from pydantic import ValidationError

from sim.priors import Prior, PriorEntry, load_priors, lookup
from sim.schema_types import SEEDS_DIR, ScenarioError

if TYPE_CHECKING:
    from sim.scenario import Scenario

POSTERIOR_FILE = SEEDS_DIR / "posterior.toml"
# the draw's stream: SeedSequence(seed, spawn_key=(index, STREAM)), apart from the model's
# own seed of replicate `index` (spawn_key=(index,), sim/experiments/engine.py)
STREAM = 0x706F7374
CODE_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Posterior:
    """Weighted particles of the fitted parameters, and the priors carried beside them."""

    keys: tuple[str, ...]
    values: np.ndarray  # particles x keys
    weights: np.ndarray  # normalised
    carried: tuple[Prior, ...] = ()
    meta: Mapping[str, Any] = field(default_factory=dict)
    source: str = "<posterior>"
    sha256: str = ""  # the file's, when read from one (else: see digest)

    @property
    def parameters(self) -> tuple[str, ...]:
        """Every key a draw sets: the fitted ones, then the carried ones."""
        return (*self.keys, *(p.key for p in self.carried))

    @property
    def particles(self) -> int:
        return len(self.weights)

    @property
    def digest(self) -> str:
        """The file's SHA-256 when read from a file; else that of the draws themselves."""
        if self.sha256:
            return self.sha256
        content = hashlib.sha256()
        content.update("\n".join(self.parameters).encode())
        content.update(np.ascontiguousarray(self.values, dtype=float).tobytes())
        content.update(np.ascontiguousarray(self.weights, dtype=float).tobytes())
        for prior in self.carried:
            content.update(f"{prior.key} {prior.low!r} {prior.high!r} {prior.scale}".encode())
        return content.hexdigest()

    @property
    def ess(self) -> float:
        """Effective sample size of the weights, 1 / sum(w^2)."""
        return float(1.0 / np.sum(self.weights**2))

    def rng(self, seed: int, index: int) -> np.random.Generator:
        return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(index, STREAM)))

    def draw(self, seed: int, index: int) -> dict[str, float]:
        """The parameters of replicate `index` of a run seeded `seed`: {key path: value}."""
        rng = self.rng(seed, index)
        row = int(rng.choice(self.particles, p=self.weights))
        values = {k: float(v) for k, v in zip(self.keys, self.values[row], strict=True)}
        for prior in self.carried:
            values[prior.key] = prior.draw(rng)
        return values

    def summary(self, table: Sequence[Prior] | None = None) -> pd.DataFrame:
        """Per fitted parameter: weighted mean, sd, 5th/50th/95th percentiles, the prior's
        range and the share of the prior's width (on its scale) the 90% interval covers."""
        table = {p.key: p for p in (table if table is not None else load_priors())}
        rows = []
        for j, key in enumerate(self.keys):
            x = self.values[:, j]
            mean = float(np.sum(self.weights * x))
            sd = float(np.sqrt(np.sum(self.weights * (x - mean) ** 2)))
            q05, q50, q95 = weighted_quantiles(x, self.weights, (0.05, 0.5, 0.95))
            row = {"parameter": key, "mean": mean, "sd": sd, "q05": q05, "median": q50}
            row["q95"] = q95
            prior = table.get(key)
            if prior is not None:
                low, high = prior.bounds
                width = float(prior.to_scale(q95) - prior.to_scale(q05)) / (high - low)
                row |= {"prior_low": prior.low, "prior_high": prior.high}
                row["width_of_prior"] = width
            rows.append(row)
        return pd.DataFrame(rows)


def weighted_quantiles(
    x: np.ndarray, weights: np.ndarray, qs: Sequence[float]
) -> tuple[float, ...]:
    """Quantiles of weighted draws (the inverse of their weighted empirical CDF)."""
    order = np.argsort(x, kind="stable")
    cdf = np.cumsum(weights[order])
    cdf /= cdf[-1]
    positions = np.searchsorted(cdf, np.asarray(qs), side="left")
    return tuple(float(x[order][min(i, len(x) - 1)]) for i in positions)


# ---------------------------------------------------------------------------- reading


def load_posterior(path: str | Path) -> Posterior:
    """Read and check a posterior file (one-line ScenarioError on bad input)."""
    from sim.scenario import load_defaults, read_toml

    path = Path(path)
    data = read_toml(path, what="posterior file")
    fitted = data.get("fitted")
    if not isinstance(fitted, Mapping):
        raise ScenarioError(path, "fitted", "missing: a [fitted] table with keys, weights, values")
    unknown = sorted(set(data) - {"meta", "fitted", "carried"})
    if unknown:
        raise ScenarioError(path, unknown[0], "unknown table; allowed: meta, fitted, carried")
    strange = sorted(set(fitted) - {"keys", "weights", "values"})
    if strange:
        raise ScenarioError(
            path, f"fitted.{strange[0]}", "unknown key; allowed: keys, weights, values"
        )
    if not isinstance(data.get("meta", {}), Mapping):
        raise ScenarioError(path, "meta", "a table of facts about the fit")
    if not isinstance(data.get("carried", []), list):
        raise ScenarioError(path, "carried", "an array of tables ([[carried]])")
    keys = fitted.get("keys")
    if not isinstance(keys, list) or not keys or not all(isinstance(k, str) for k in keys):
        raise ScenarioError(path, "fitted.keys", "a non-empty list of parameter key paths")
    if len(set(keys)) != len(keys):
        raise ScenarioError(path, "fitted.keys", "a key appears twice")
    weights = _numbers(path, "fitted.weights", fitted.get("weights"))
    if np.any(weights < 0) or not weights.sum() > 0:
        raise ScenarioError(path, "fitted.weights", "weights are >= 0 with a positive sum")
    values_table = fitted.get("values")
    if not isinstance(values_table, Mapping):
        raise ScenarioError(path, "fitted.values", "a table of one list per key")
    defaults, _ = load_defaults()
    columns = []
    for key in keys:
        if key not in values_table:
            raise ScenarioError(path, f"fitted.values.{key}", "missing: one value per weight")
        column = _numbers(path, f"fitted.values.{key}", values_table[key])
        if len(column) != len(weights):
            raise ScenarioError(
                path, f"fitted.values.{key}", f"{len(column)} values for {len(weights)} weights"
            )
        if not _is_parameter(defaults, key):
            raise ScenarioError(path, "fitted.keys", f"{key!r} is not a numeric parameter")
        columns.append(column)
    extra = sorted(set(values_table) - set(keys))
    if extra:
        raise ScenarioError(path, f"fitted.values.{extra[0]}", "not one of fitted.keys")
    carried = []
    for i, entry in enumerate(data.get("carried", [])):
        if not isinstance(entry, Mapping):
            raise ScenarioError(path, f"carried[{i}]", "a table: key, low, high, scale, reason")
        try:
            prior = PriorEntry.model_validate({**entry, "fit": False})
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(part) for part in (f"carried[{i}]", *error["loc"]))
            raise ScenarioError(path, where, error["msg"].lower()) from None
        if prior.key in keys or not _is_parameter(defaults, prior.key):
            raise ScenarioError(path, f"carried[{i}].key", f"{prior.key!r}: fitted or unknown")
        carried.append(Prior(prior.key, prior.low, prior.high, prior.scale, False, prior.reason))
    return Posterior(
        tuple(keys),
        np.column_stack(columns),
        weights / weights.sum(),
        tuple(carried),
        dict(data.get("meta", {})),
        str(path),
        file_hash(path),
    )


def _numbers(path: Path, where: str, value: Any) -> np.ndarray:
    ok = (
        isinstance(value, list)
        and value
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
    )
    array = np.asarray(value, dtype=float) if ok else np.array([])
    if not ok or not np.all(np.isfinite(array)):
        raise ScenarioError(path, where, "a non-empty list of finite numbers")
    return array


def _is_parameter(defaults: Mapping[str, Any], key: str) -> bool:
    node = lookup(defaults, key)
    return isinstance(node, int | float) and not isinstance(node, bool)


# ---------------------------------------------------------------------------- writing


# what a calibration's evaluation runs: the model, its scenario, the panel's summaries and
# the distance; code_hash follows their imports, except into the figures (sim/plots draws,
# it computes no result), so interfaces, plots and reports stay out
MODEL_ENTRY = (
    "model.py",
    "scenario.py",
    "validation.py",
    "inference/summaries.py",
    "inference/distance.py",
)
NOT_MODEL = ("plots",)


def model_modules(root: Path = CODE_DIR, entry: Sequence[str] = MODEL_ENTRY) -> list[Path]:
    """The modules under `root` that `entry` imports, directly or not (read from the
    source's import statements, so a module imported only for type checking counts)."""
    seen: set[Path] = set()
    todo = [root / name for name in entry]
    while todo:
        path = todo.pop()
        if path in seen or not path.is_file():
            continue
        seen.add(path)
        for name in _imported(ast.parse(path.read_bytes())):
            parts = name.split(".")[1:]
            if parts and parts[0] in NOT_MODEL:
                continue
            for candidate in (
                root.joinpath(*parts).with_suffix(".py"),
                root.joinpath(*parts, "__init__.py"),
            ):
                if parts and candidate.is_file():
                    todo.append(candidate)
    return sorted(seen)


def _imported(tree: ast.AST) -> Iterable[str]:
    """Dotted names of the `sim` modules a module's import statements may load."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names if a.name.startswith("sim."))
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "sim":
            yield node.module
            # `from sim import parents` or `from sim.x import y` may name modules
            yield from (f"{node.module}.{a.name}" for a in node.names)


def code_hash(root: Path = CODE_DIR) -> str:
    """SHA-256 of the model's code: the modules a calibration's evaluation imports
    (:func:`model_modules`), by relative path and content."""
    digest = hashlib.sha256()
    for path in model_modules(root):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def file_hash(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def write_posterior(
    path: str | Path,
    keys: Sequence[str],
    values: np.ndarray,
    weights: np.ndarray,
    carried: Sequence[Prior],
    meta: Mapping[str, Any],
    header: str = "",
) -> Path:
    """Write a posterior file atomically (a sibling temporary file renamed into place)."""
    import tomli_w

    path = Path(path)
    values = np.asarray(values, dtype=float)
    weights = np.asarray(weights, dtype=float)
    document = {
        "meta": dict(meta),
        "fitted": {
            "keys": list(keys),
            "weights": [float(w) for w in weights / weights.sum()],
            "values": {k: [float(v) for v in values[:, j]] for j, k in enumerate(keys)},
        },
        "carried": [
            {"key": p.key, "low": p.low, "high": p.high, "scale": p.scale, "reason": p.reason}
            for p in carried
        ],
    }
    text = "".join(f"# {line}\n".replace("# \n", "#\n") for line in header.splitlines())
    text += tomli_w.dumps(document)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


# ---------------------------------------------------------------------------- using


def as_posterior(posterior: Posterior | str | Path | None) -> Posterior | None:
    """The posterior a caller means: a Posterior as it is, a file's path read and checked,
    ``"default"`` for seeds/posterior.toml; None (no posterior) stays None.

    Raises:
        ScenarioError: a missing or bad file (one line).
    """
    if posterior is None or isinstance(posterior, Posterior):
        return posterior
    return load_posterior(POSTERIOR_FILE if str(posterior) == "default" else posterior)


@cache
def _defaults() -> Mapping[str, Any]:
    from sim.scenario import load_defaults

    return load_defaults()[0]


def fixed_keys(
    scenario: Scenario, posterior: Posterior, fixed: Iterable[str] = ()
) -> tuple[str, ...]:
    """The posterior's keys its draws leave at the scenario's value: those in ``fixed`` (a
    sweep point's or a claim run's own overrides) and those the scenario sets away from
    their default in seeds/parameters.toml (its treatment, or a ``--set``)."""
    tree, kept = scenario.to_dict(), set(fixed)
    return tuple(
        key
        for key in posterior.parameters
        if key in kept or lookup(tree, key) != lookup(_defaults(), key)
    )


def replicate_parameters(
    scenario: Scenario, index: int, posterior: Posterior, fixed: Iterable[str] = ()
) -> dict[str, float]:
    """The posterior's parameters replicate ``index`` of the scenario runs with: the draw
    seeded by ``scenario.run.seed`` and ``index`` (:meth:`Posterior.draw`), with the
    scenario's own value of every fixed key (:func:`fixed_keys`). A fixed key is still
    drawn and dropped, so the other keys get the same draw whichever keys are fixed."""
    keep = fixed_keys(scenario, posterior, fixed)
    tree = scenario.to_dict() if keep else {}
    drawn = posterior.draw(scenario.run.seed, index)
    return {key: float(lookup(tree, key)) if key in keep else value for key, value in drawn.items()}


def replicate_scenario(
    scenario: Scenario, index: int, posterior: Posterior | None, fixed: Iterable[str] = ()
) -> tuple[Scenario, dict[str, float]]:
    """The scenario replicate ``index`` runs, with the parameters it uses
    (:func:`replicate_parameters`); without a posterior, the scenario unchanged and none."""
    if posterior is None:
        return scenario, {}
    fixed = tuple(fixed)
    values = replicate_parameters(scenario, index, posterior, fixed)
    keep = set(fixed_keys(scenario, posterior, fixed))
    drawn = {key: value for key, value in values.items() if key not in keep}
    return (scenario.with_overrides(drawn) if drawn else scenario), values


def parameters_table(
    posterior: Posterior | None,
    scenario: Scenario,
    indices: Sequence[int],
    fixed: Iterable[str] = (),
) -> pd.DataFrame:
    """The ``parameters`` table: one row per replicate, ``replicate`` and one column per
    key of the posterior with the value that replicate used (no other column without a
    posterior)."""
    if posterior is None:
        return pd.DataFrame({"replicate": pd.Series(list(indices), dtype="int64")})
    fixed = tuple(fixed)
    rows = [{"replicate": i} | replicate_parameters(scenario, i, posterior, fixed) for i in indices]
    table = pd.DataFrame(rows, columns=["replicate", *posterior.parameters])
    return table.astype({"replicate": "int64"})


def check_posterior(
    scenario: Scenario, posterior: Posterior | None, fixed: Iterable[str] = ()
) -> None:
    """Refuse, before any run, a posterior whose draws the scenario cannot take: each key's
    lowest and highest value (a particle's, or a carried prior's bound) is validated.

    Raises:
        ScenarioError: naming the posterior file, the key and what is allowed.
    """
    if posterior is None:
        return
    keep = set(fixed_keys(scenario, posterior, fixed))
    ends: list[dict[str, float]] = [{}, {}]
    for j, key in enumerate(posterior.keys):
        ends[0][key], ends[1][key] = (
            float(posterior.values[:, j].min()),
            float(posterior.values[:, j].max()),
        )
    for prior in posterior.carried:
        ends[0][prior.key], ends[1][prior.key] = prior.low, prior.high
    for end in ends:
        end = {key: value for key, value in end.items() if key not in keep}
        try:
            scenario.with_overrides(end)
        except ScenarioError as exc:
            raise ScenarioError(posterior.source, exc.path, exc.message) from None


def posterior_facts(
    posterior: Posterior | None, scenario: Scenario | None = None, fixed: Iterable[str] = ()
) -> dict[str, Any]:
    """What a manifest records of the posterior: its file, SHA-256 and meta (library, date,
    code hash), the keys drawn and those left at the scenario's value (nothing without a
    posterior)."""
    if posterior is None:
        return {}
    kept = list(fixed_keys(scenario, posterior, fixed)) if scenario is not None else []
    return {
        "posterior": {
            **posterior_settings(posterior)["posterior"],
            "meta": dict(posterior.meta),
            "fitted": list(posterior.keys),
            "carried": [prior.key for prior in posterior.carried],
            "particles": posterior.particles,
            "ess": round(posterior.ess, 3),
            "fixed": kept,
        }
    }


def posterior_settings(posterior: Posterior | None) -> dict[str, Any]:
    """The posterior among an experiment's settings (a resume with another is refused):
    its path and SHA-256 (nothing without a posterior, so settings stay as they were)."""
    if posterior is None:
        return {}
    return {"posterior": {"path": posterior.source, "sha256": posterior.digest}}
