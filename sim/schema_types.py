"""The scenario schema's ground: paths, names (tiers, segments, statuses, spend lines),
value types, the one-line :class:`ScenarioError` and the strict base of every block."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SEEDS_DIR = PROJECT_ROOT / "seeds"
SCENARIOS_DIR = PROJECT_ROOT / "scenarios"
PARAMETERS_FILE = SEEDS_DIR / "parameters.toml"
ROSTER_FILE = SEEDS_DIR / "firms.toml"
VERTICALS_FILE = SEEDS_DIR / "verticals.toml"


def seed_file(name: object) -> Path | None:
    """The file of seeds/ that a scenario names (a bare file name, e.g. a roster or an
    observed panel), or None when `name` is not one or no such file exists."""
    if not isinstance(name, str) or not name or Path(name).name != name:
        return None
    path = SEEDS_DIR / name
    return path if path.is_file() else None


TIERS = ("giant", "midtier", "independent", "vertical")
SEGMENTS = ("social", "shopping", "entertainment", "knowledge", "creator")
# A firm's status: in the market (competing, possibly past the kill line), or gone.
IN_MARKET = ("active", "below_kill_line")
EXITED = ("acquired", "pivoted", "closed")
SPEND_LINES = ("rd", "marketing", "supply", "efficiency", "fixed")
# One bit per assistant in the users' bitmasks (uint32).
MAX_FIRMS = 32

Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
NonNegative = Annotated[float, Field(ge=0.0)]
Positive = Annotated[float, Field(gt=0.0)]
YearMonth = Annotated[str, Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]
FirmId = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]


class ScenarioError(ValueError):
    """A scenario problem, explained in one line: file, key path, what is allowed."""

    def __init__(self, file: str | Path | None, path: str, message: str) -> None:
        self.file = str(file) if file is not None else "<scenario>"
        self.path = path
        self.message = message
        where = f"{self.file}: {path}: " if path else f"{self.file}: "
        super().__init__(where + message)


class Strict(BaseModel):
    """Base of every schema block: unknown keys are errors, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def check_keys(field: str, mapping: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
    """Raise if `mapping` lacks a key of `allowed` or has one outside it."""
    unknown = sorted(set(mapping) - set(allowed))
    missing = sorted(set(allowed) - set(mapping))
    if unknown:
        raise ValueError(f"{field}: unknown key {unknown[0]!r}; allowed: {', '.join(allowed)}")
    if missing:
        raise ValueError(f"{field}: missing key {missing[0]!r}; required: {', '.join(allowed)}")
