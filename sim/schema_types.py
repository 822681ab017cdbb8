"""The scenario schema's ground: paths, names (tiers, segments, statuses, spend lines),
value types, the one-line :class:`ScenarioError` and the strict base of every block."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

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


def roster_file(chain: list[tuple[Path, dict]]) -> Path:
    """The roster a scenario's chain of files names (``roster = "firms_2024.toml"``, a file
    in seeds/; the last file to name one wins), else seeds/firms.toml. Pops the key."""
    roster = ROSTER_FILE
    for file, data in chain:
        name = data.pop("roster", None)
        if name is None:
            continue
        if not isinstance(name, str) or Path(name).name != name:
            raise ScenarioError(file, "roster", "must be the name of a file in seeds/ (string)")
        roster = seed_file(name)
        if roster is None:
            raise ScenarioError(file, "roster", f"no such roster in seeds/: {name}")
    return roster


TIERS = ("giant", "midtier", "independent", "vertical")
SEGMENTS = ("social", "shopping", "entertainment", "knowledge", "creator")
# A firm's status: in the market (competing, possibly past the kill line), or gone.
IN_MARKET = ("active", "below_kill_line")
EXITED = ("acquired", "pivoted", "closed")
SPEND_LINES = ("rd", "marketing", "supply", "efficiency", "fixed")
# One bit per assistant in the users' bitmasks (uint32).
MAX_FIRMS = 32

# Plausible ranges. Every number a scenario holds has an upper bound: a value past it is a
# typo or an overflow, never a scenario (and the model's float64 arithmetic stays finite).
# assumption: 100 trillion RMB is about China's GDP in a year (134 trillion in 2024); no
# firm, parent, programme or market comes within two orders of magnitude of it
MONEY_CAP_BN = 100_000.0
# assumption: China has about 1,410 million people; no population or app exceeds 2,000 million
PEOPLE_CAP_M = 2_000.0
# the longest horizon a run allows (50 years): no delay, runway or memory exceeds it
MONTHS_CAP = 600
# assumption: rates, weights, elasticities, exposures and per-user RMB amounts all lie far
# below 10^6 in their units (the largest, births of startups per month, is about 4 x 10^4)
MAGNITUDE_CAP = 1e6

Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
NonNegative = Annotated[float, Field(ge=0.0, le=MAGNITUDE_CAP)]
Positive = Annotated[float, Field(gt=0.0, le=MAGNITUDE_CAP)]
Signed = Annotated[float, Field(ge=-MAGNITUDE_CAP, le=MAGNITUDE_CAP)]
# money in billions of RMB (a stock, or a flow per month or year)
Bn = Annotated[float, Field(ge=0.0, le=MONEY_CAP_BN)]
PositiveBn = Annotated[float, Field(gt=0.0, le=MONEY_CAP_BN)]
SignedBn = Annotated[float, Field(ge=-MONEY_CAP_BN, le=MONEY_CAP_BN)]
# people in millions
MillionPeople = Annotated[float, Field(ge=0.0, le=PEOPLE_CAP_M)]
PositiveMillionPeople = Annotated[float, Field(gt=0.0, le=PEOPLE_CAP_M)]
# a span of time in months (a real number), and a whole number of months
Months = Annotated[float, Field(ge=0.0, le=MONTHS_CAP)]
PositiveMonths = Annotated[float, Field(gt=0.0, le=MONTHS_CAP)]
MonthCount = Annotated[int, Field(ge=1, le=MONTHS_CAP)]
YearMonth = Annotated[str, Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]
FirmId = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
# the article's claims, C1 to C10 (ARTICLE.md)
CLAIMS = tuple(f"C{number}" for number in range(1, 11))
ClaimId = Literal[CLAIMS]
# a title or a name: some visible text
Text = Annotated[str, Field(min_length=1, pattern=r"\S")]


class ScenarioError(ValueError):
    """A scenario problem, explained in one line: file, key path, what is allowed."""

    def __init__(self, file: str | Path | None, path: str, message: str) -> None:
        self.file = str(file) if file is not None else "<scenario>"
        self.path = path
        self.message = message
        where = f"{self.file}: {path}: " if path else f"{self.file}: "
        super().__init__(where + message)

    def __reduce__(self) -> tuple[Any, ...]:
        # rebuilt from its three parts, so a worker's error reaches the user intact
        return (type(self), (self.file, self.path, self.message))


def schema_error(file: str | Path, exc: ValidationError) -> ScenarioError:
    """A file's first schema error as one line: the key path (``a.b[2].c``) and pydantic's
    message."""
    error = exc.errors()[0]
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error["loc"])
    return ScenarioError(file, where.lstrip("."), error["msg"].lower())


class Strict(BaseModel):
    """Base of every schema block: unknown keys are errors, values are frozen, numbers are
    finite (TOML's ``inf`` and ``nan`` are refused) and a boolean is no number."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _no_booleans_for_numbers(cls, data: Any) -> Any:
        # pydantic reads true as 1 for a number; a boolean where a number belongs is a mistake
        if isinstance(data, Mapping):
            for name, field in cls.model_fields.items():
                if name in data:
                    where = _boolean_in(field.annotation, data[name], name)
                    if where is not None:
                        raise ValueError(f"{where}: a number is expected, not a boolean")
        return data


def _boolean_in(annotation: Any, value: Any, path: str) -> str | None:
    """The key path of a boolean in ``value`` (itself, or in a dict or list of numbers)
    where ``annotation`` wants a number; None if there is none."""
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    origin = get_origin(annotation)
    if origin is dict and isinstance(value, Mapping):
        inner = get_args(annotation)[1]
        found = (_boolean_in(inner, item, f"{path}.{key}") for key, item in value.items())
        return next((where for where in found if where is not None), None)
    if origin is list and isinstance(value, list):
        inner = get_args(annotation)[0]
        found = (_boolean_in(inner, item, f"{path}[{i}]") for i, item in enumerate(value))
        return next((where for where in found if where is not None), None)
    return path if isinstance(value, bool) and annotation in (int, float) else None


def check_keys(field: str, mapping: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
    """Raise if `mapping` lacks a key of `allowed` or has one outside it."""
    unknown = sorted(set(mapping) - set(allowed))
    missing = sorted(set(allowed) - set(mapping))
    if unknown:
        raise ValueError(f"{field}: unknown key {unknown[0]!r}; allowed: {', '.join(allowed)}")
    if missing:
        raise ValueError(f"{field}: missing key {missing[0]!r}; required: {', '.join(allowed)}")
