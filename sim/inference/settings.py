"""The settings of a calibration (seeds/inference.toml): its size, its seed, the distance's
floor and series weights; the command line changes any of them.

    from sim.inference.settings import load_settings
    settings = load_settings().replace(particles=8, generations=2)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, ValidationError

from sim.schema_types import SEEDS_DIR, Strict, YearMonth, schema_error

SETTINGS_FILE = SEEDS_DIR / "inference.toml"


class CalibrationBlock(Strict):
    scenario: Annotated[str, Field(min_length=1)]
    seed: Annotated[int, Field(ge=0)]
    users: Annotated[int, Field(ge=100)]
    replicates_per_eval: Annotated[int, Field(ge=1)]
    generations: Annotated[int, Field(ge=1)]
    particles: Annotated[int, Field(ge=2)]
    epsilon_quantile: Annotated[float, Field(gt=0.0, lt=1.0)]
    max_evaluations: Annotated[int, Field(ge=1)]
    batch: Annotated[int, Field(ge=1)]
    predictive_draws: Annotated[int, Field(ge=2)]
    fit_until: YearMonth | None = None


class DistanceBlock(Strict):
    floor: Annotated[float, Field(gt=0.0, lt=1.0)]
    weights: dict[str, Annotated[float, Field(gt=0.0)]] = Field(default_factory=dict)


class SettingsFile(Strict):
    calibration: CalibrationBlock
    distance: DistanceBlock


@dataclass(frozen=True)
class Settings:
    """Everything that decides a calibration's posterior (the executor does not)."""

    scenario: str
    seed: int
    users: int
    replicates_per_eval: int
    generations: int
    particles: int
    epsilon_quantile: float
    max_evaluations: int
    batch: int
    predictive_draws: int
    floor: float
    fit_until: str | None = None
    weights: dict[str, float] = field(default_factory=dict)

    def replace(self, **changes: Any) -> Settings:
        """A copy with ``changes`` (None values are left out: a flag not given)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Settings:
        return cls(**data)


def read_settings(path: str | Path) -> Settings:
    """Read and check a settings file (one-line ScenarioError on bad input)."""
    from sim.scenario import read_toml

    path = Path(path)
    data = read_toml(path, what="calibration settings")
    try:
        parsed = SettingsFile.model_validate(data)
    except ValidationError as exc:
        raise schema_error(path, exc) from None
    block = parsed.calibration.model_dump()
    return Settings(**block, floor=parsed.distance.floor, weights=dict(parsed.distance.weights))


@cache
def load_settings(path: str | Path = SETTINGS_FILE) -> Settings:
    """The settings of seeds/inference.toml (or of ``path``), read once per process."""
    return read_settings(path)
