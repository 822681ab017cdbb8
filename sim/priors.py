"""Priors of the uncertain parameters (seeds/priors.toml): their ranges, scales and reasons.

A prior is uniform on ``[low, high]``, in the value (``scale = "linear"``) or in its
logarithm (``"log"``). Those marked ``fit = true`` are fitted to the 2024-25 history by
``killline calibrate`` (sim/inference/); the others are carried: a posterior ensemble draws
them from their prior for every replicate (sim/posterior.py).

    from sim import priors
    table = priors.load_priors()                  # every prior, checked
    draw = priors.sample(table, rng)              # {key path: value}, one draw of all
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import Field, ValidationError, model_validator

from sim.schema_types import SEEDS_DIR, ScenarioError, Strict, schema_error

PRIORS_FILE = SEEDS_DIR / "priors.toml"


class PriorEntry(Strict):
    """One ``[[priors]]`` entry of seeds/priors.toml."""

    key: Annotated[str, Field(min_length=3)]
    low: float
    high: float
    scale: Literal["linear", "log"] = "linear"
    fit: bool = True
    reason: Annotated[str, Field(min_length=10)]

    @model_validator(mode="after")
    def _range(self) -> PriorEntry:
        if not self.low < self.high:
            raise ValueError(f"high: {self.high} must be above low {self.low}")
        if self.scale == "log" and self.low <= 0:
            raise ValueError(f"low: a log-scale prior needs low > 0, not {self.low}")
        return self


class PriorFile(Strict):
    priors: Annotated[list[PriorEntry], Field(min_length=1)]


@dataclass(frozen=True)
class Prior:
    """A uniform prior on ``[low, high]`` in the value or in its logarithm."""

    key: str
    low: float
    high: float
    scale: str
    fit: bool
    reason: str

    @property
    def bounds(self) -> tuple[float, float]:
        """The bounds on the sampling scale (logarithms for a log prior)."""
        if self.scale == "log":
            return math.log(self.low), math.log(self.high)
        return self.low, self.high

    def to_value(self, u: np.ndarray | float) -> np.ndarray | float:
        """The value at a point of the sampling scale."""
        return np.exp(u) if self.scale == "log" else u

    def to_scale(self, value: np.ndarray | float) -> np.ndarray | float:
        """A value on the sampling scale."""
        return np.log(value) if self.scale == "log" else value

    def draw(self, rng: np.random.Generator, size: int | None = None) -> np.ndarray | float:
        """Draws from the prior."""
        low, high = self.bounds
        u = rng.uniform(low, high, size)
        return float(self.to_value(u)) if size is None else self.to_value(u)

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high

    def describe(self) -> str:
        kind = "log-uniform" if self.scale == "log" else "uniform"
        return f"{self.key} ~ {kind}({self.low:g}, {self.high:g})"


def read_priors(path: str | Path) -> tuple[Prior, ...]:
    """Read and check a priors file: each key a parameter of the scenario schema, unique,
    with its default value inside the range (one-line ScenarioError otherwise)."""
    from sim.scenario import load_defaults, read_toml

    path = Path(path)
    data = read_toml(path, what="priors file")
    try:
        parsed = PriorFile.model_validate(data)
    except ValidationError as exc:
        raise schema_error(path, exc) from None
    defaults, _ = load_defaults()
    seen: set[str] = set()
    table = []
    for i, entry in enumerate(parsed.priors):
        where = f"priors[{i}].key"
        if entry.key in seen:
            raise ScenarioError(path, where, f"{entry.key!r} has two priors; give one")
        seen.add(entry.key)
        value = lookup(defaults, entry.key)
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise ScenarioError(
                path, where, f"{entry.key!r} is not a numeric parameter of seeds/parameters.toml"
            )
        if not entry.low <= value <= entry.high:
            raise ScenarioError(
                path,
                f"priors[{i}]",
                f"the default {entry.key} = {value:g} lies outside [{entry.low:g}, {entry.high:g}]",
            )
        table.append(Prior(entry.key, entry.low, entry.high, entry.scale, entry.fit, entry.reason))
    return tuple(table)


def lookup(tree: Mapping[str, Any], key: str) -> Any:
    """The value at a dotted key path of a nested table (None when it is not there)."""
    node: Any = tree
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


@cache
def load_priors(path: str | Path = PRIORS_FILE) -> tuple[Prior, ...]:
    """The priors of seeds/priors.toml (or of `path`), checked once per process."""
    return read_priors(path)


def fitted(table: Sequence[Prior]) -> tuple[Prior, ...]:
    """The priors fitted to history."""
    return tuple(p for p in table if p.fit)


def carried(table: Sequence[Prior]) -> tuple[Prior, ...]:
    """The priors a posterior ensemble draws from the prior."""
    return tuple(p for p in table if not p.fit)


def sample(table: Sequence[Prior], rng: np.random.Generator) -> dict[str, float]:
    """One draw of every prior in `table`, in order: {key path: value}."""
    return {p.key: p.draw(rng) for p in table}
