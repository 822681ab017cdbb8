"""Scenarios: loading with `extends`, `--set` overrides and validation against sim.schema.

A scenario is resolved in layers, later layers winning:

1. ``seeds/parameters.toml``: the default of every model parameter, each with its source;
2. ``seeds/firms.toml``: the roster and the home apps that feed traffic to the firms (a
   scenario may name another roster in seeds/: ``roster = "firms_2024.toml"``);
   ``seeds/verticals.toml``: the vertical sub-markets and their rivals;
3. the chain of scenario files, base first (``extends = "other.toml"``);
4. overrides (``--set key.path=value`` on the command line, or a dict in Python).

The merged tree is checked once, here, at the edge: unknown keys (with the nearest valid
key suggested), wrong types, out-of-range values, events naming unknown firms, broken
``extends`` chains. Every problem is raised as a :class:`ScenarioError` whose message is one
line naming the file, the key path and what is allowed. The model receives a valid, frozen
:class:`Scenario` and never re-checks it.
"""

from __future__ import annotations

import copy
import difflib
import json
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, get_args, get_origin

from pydantic import BaseModel, ValidationError

from sim.schema import (
    EVENT_KINDS,
    PARAMETERS_FILE,
    ROSTER_FILE,
    SCENARIOS_DIR,
    SET_UP_ONLY,
    SHIFTABLE_SECTIONS,
    VERTICALS_FILE,
    ScenarioError,
    ScenarioSchema,
)
from sim.schema_types import roster_file


class Scenario(ScenarioSchema):
    """A resolved, validated scenario, with the operations that derive a changed copy."""

    def with_events(self, events: list[Mapping[str, Any]]) -> Scenario:
        """A copy with more events (plain dicts, as in a scenario file), validated."""
        tree = self.to_dict()
        origins: dict[tuple, str] = {}
        _merge_events(tree, [dict(e) for e in events], origins, "added event")
        return _validate(tree, origins, default_file="added event")

    def with_overrides(self, overrides: Mapping[str, Any]) -> Scenario:
        """A copy with `key.path -> value` overrides applied and validated again."""
        tree = self.to_dict()
        origins: dict[tuple, str] = {}
        for key, value in overrides.items():
            set_path(tree, key, value, origins, "override")
        return _validate(tree, origins, default_file="override")


# --------------------------------------------------------------------------- loading


def read_toml(path: Path, *, what: str = "file") -> dict[str, Any]:
    """Parse a TOML file, turning every failure into a one-line ScenarioError."""
    if not path.exists():
        raise ScenarioError(path, "", f"no such {what}")
    if not path.is_file():
        raise ScenarioError(path, "", f"not a regular file (a {what} is a TOML text file)")
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(path, "", f"malformed TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ScenarioError(path, "", "malformed TOML: not UTF-8 text") from None
    except RecursionError:
        raise ScenarioError(path, "", TOO_DEEP) from None
    except OSError as exc:
        raise ScenarioError(path, "", f"cannot read the {what}: {exc.strerror or exc}") from None


def _merge(
    base: dict[str, Any],
    top: Mapping[str, Any],
    origins: dict[tuple, str],
    file: str,
    prefix: tuple = (),
) -> None:
    """Deep-merge `top` into `base`, noting which file set each key."""
    for key, value in top.items():
        here = (*prefix, key)
        if key == "events":
            _merge_events(base, value, origins, file)
        elif isinstance(value, Mapping) and isinstance(base.get(key), dict):
            origins.setdefault(here, file)
            _merge(base[key], value, origins, file, here)
        else:
            base[key] = copy.deepcopy(value)
            origins[here] = file


def _merge_events(base: dict[str, Any], events: Any, origins: dict[tuple, str], file: str) -> None:
    """Append a file's events; one whose `id` is inherited replaces the inherited one. Two
    events of one file with the same `id` are an error (the second would hide the first)."""
    if not isinstance(events, list):
        raise ScenarioError(file, "events", "must be an array of tables ([[events]])")
    merged = base.setdefault("events", [])
    seen: dict[str, int] = {}
    for index, event in enumerate(events):
        event_id = event.get("id") if isinstance(event, Mapping) else None
        if isinstance(event_id, str) and event_id:
            if event_id in seen:
                raise ScenarioError(
                    file,
                    f"events[{index}].id",
                    f"duplicate event id {event_id!r} (also events[{seen[event_id]}] of this "
                    "file); ids must be unique within a file",
                )
            seen[event_id] = index
        same = [i for i, old in enumerate(merged) if event_id and old.get("id") == event_id]
        if same:
            merged[same[0]] = copy.deepcopy(event)
            origins[("events", same[0])] = file
        else:
            merged.append(copy.deepcopy(event))
            origins[("events", len(merged) - 1)] = file


def _remove_events(tree: dict[str, Any], origins: dict[tuple, str], ids: Any, file: Path) -> None:
    """Drop inherited events by id (``remove_events = ["id", ...]``)."""
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise ScenarioError(file, "remove_events", "must be an array of event ids (strings)")
    events = tree.get("events", [])
    known = {e.get("id") for e in events if isinstance(e, Mapping)}
    for event_id in ids:
        if event_id not in known:
            raise ScenarioError(
                file, "remove_events", _unknown(event_id, sorted(known - {None}), "event id")
            )
    keep = [i for i, e in enumerate(events) if e.get("id") not in set(ids)]
    files = [origins.pop(("events", i), str(file)) for i in range(len(events))]
    tree["events"] = [events[i] for i in keep]
    for new_index, old_index in enumerate(keep):
        origins[("events", new_index)] = files[old_index]


def _chain(path: Path, seen: tuple[Path, ...] = ()) -> list[tuple[Path, dict[str, Any]]]:
    """The scenario files from the root of the `extends` chain down to `path`."""
    path = path.resolve()
    if path in seen:
        cycle = " -> ".join(p.name for p in (*seen, path))
        raise ScenarioError(seen[-1], "extends", f"cycle in extends: {cycle}")
    data = read_toml(path, what="scenario file")
    parent = data.pop("extends", None)
    if parent is None:
        return [(path, data)]
    if not isinstance(parent, str):
        raise ScenarioError(path, "extends", "must be a file name (string)")
    parent_path = path.parent / parent
    if not parent_path.is_file():
        raise ScenarioError(path, "extends", f"no such scenario file: {parent_path}")
    return [*_chain(parent_path, (*seen, path)), (path, data)]


TOO_DEEP = "nested too deeply to be a scenario"


def parse_value(text: str) -> Any:
    """Read a `--set` value as TOML (numbers, booleans, arrays), else as a plain string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except (tomllib.TOMLDecodeError, RecursionError):
        return text


def set_path(
    tree: dict[str, Any], key: str, value: Any, origins: dict[tuple, str], file: str
) -> None:
    """Set `a.b.c = value` in a nested dict; the path must exist (typos are caught)."""
    parts = key.split(".")
    node: Any = tree
    for depth, part in enumerate(parts[:-1]):
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
            continue
        if not isinstance(node, dict) or part not in node:
            options = list(node) if isinstance(node, dict) else []
            raise ScenarioError(
                file, ".".join(parts[: depth + 1]), _unknown(part, options, "section")
            )
        node = node[part]
    last = parts[-1]
    if not isinstance(node, dict) or last not in node:
        options = list(node) if isinstance(node, dict) else []
        raise ScenarioError(file, key, _unknown(last, options, "key"))
    node[last] = value
    origins[tuple(parts)] = file


def _unknown(name: str, options: list[str], what: str) -> str:
    near = difflib.get_close_matches(name, options, n=1, cutoff=0.5)
    hint = f"; did you mean {near[0]!r}?" if near else ""
    allowed = f" (allowed: {', '.join(sorted(options))})" if options and len(options) <= 12 else ""
    return f"unknown {what} {name!r}{hint}{allowed}"


def _model_at(model: type[BaseModel], loc: tuple) -> type[BaseModel] | None:
    """The schema block at a validation error's location (for key suggestions), if any."""
    annotation: Any = model
    for part in loc:
        if get_origin(annotation) is Annotated:
            annotation = get_args(annotation)[0]
        origin = get_origin(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = annotation.model_fields.get(str(part))
            if field is None:
                return None
            annotation = field.annotation
        elif origin is dict:
            annotation = get_args(annotation)[1]
        elif origin is list:
            annotation = get_args(annotation)[0]
        elif part in EVENT_KINDS:
            annotation = EVENT_KINDS[part]
        else:
            return None
    if get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _origin_of(loc: tuple, origins: Mapping[tuple, str], default_file: str) -> str:
    for cut in range(len(loc), 0, -1):
        if loc[:cut] in origins:
            return origins[loc[:cut]]
    return default_file


def _validate(tree: dict[str, Any], origins: Mapping[tuple, str], default_file: str) -> Scenario:
    try:
        scenario = Scenario.model_validate(tree)
    except ValidationError as exc:
        raise _explain(exc, tree, origins, default_file) from None
    _check_references(scenario, origins, default_file)
    return scenario


def _explain(
    exc: ValidationError, tree: Mapping[str, Any], origins: Mapping[tuple, str], default: str
) -> ScenarioError:
    """Turn pydantic's first error into one line: file, key path, what is allowed."""
    error = exc.errors()[0]
    loc = tuple(error["loc"])
    # Event unions put the discriminator value in the location: drop it from the key path.
    shown = tuple(p for p in loc if p not in EVENT_KINDS)
    path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in shown).lstrip(".")
    file = _origin_of(shown, origins, default)
    kind = error["type"]
    if kind == "extra_forbidden":
        owner = _model_at(Scenario, loc[:-1])
        options = list(owner.model_fields) if owner is not None else []
        return ScenarioError(file, path, _unknown(str(loc[-1]), options, "key"))
    if kind == "missing":
        return ScenarioError(file, path, "required key is missing")
    if kind == "union_tag_invalid":
        return ScenarioError(
            file, path, f"unknown event kind; allowed: {', '.join(sorted(EVENT_KINDS))}"
        )
    if kind == "value_error":
        message = str(error.get("ctx", {}).get("error", error["msg"]))
        field = message.split(":", 1)[0]
        if field and " " not in field:
            path = f"{path}.{field}" if path else field
            message = message.split(":", 1)[1].strip()
            file = _origin_of((*shown, *field.split(".")), origins, default)
        return ScenarioError(file, path, message)
    value = error.get("input")
    shown_value = json.dumps(value, ensure_ascii=False, default=str)
    if len(shown_value) > 40:
        shown_value = shown_value[:37] + "..."
    message = error["msg"][:1].lower() + error["msg"][1:]
    return ScenarioError(file, path, f"{message} (got {shown_value})")


def _check_references(scenario: Scenario, origins: Mapping[tuple, str], default_file: str) -> None:
    """Cross-references the schema alone cannot check."""
    firms = scenario.firms
    where = lambda loc: _origin_of(loc, origins, default_file)  # noqa: E731
    for firm_id, firm in firms.items():
        for app in firm.home_apps:
            if app not in scenario.apps:
                raise ScenarioError(
                    where(("firms", firm_id, "home_apps")),
                    f"firms.{firm_id}.home_apps",
                    _unknown(app, list(scenario.apps), "app"),
                )
    total_api = sum(f.api_share for f in firms.values())
    if total_api > 1.0 + 1e-6:
        raise ScenarioError(
            where(("firms",)), "firms.*.api_share", f"shares must sum to <= 1, not {total_api:.3f}"
        )
    for acquirer in scenario.acquisition.acquirers:
        if acquirer not in firms:
            raise ScenarioError(
                where(("acquisition", "acquirers")),
                "acquisition.acquirers",
                _unknown(acquirer, list(firms), "firm"),
            )
    start = scenario.run.start
    for index, event in enumerate(scenario.events):
        file = where(("events", index))
        for field in ("firm", "acquirer", "target"):
            firm_id = getattr(event, field, None)
            if firm_id is not None and firm_id not in firms:
                raise ScenarioError(
                    file, f"events[{index}].{field}", _unknown(firm_id, list(firms), "firm")
                )
        for field in ("start", "month"):
            month = getattr(event, field, None)
            if month is not None and month < start:
                raise ScenarioError(
                    file, f"events[{index}].{field}", f"{month} is before run.start ({start})"
                )
        for app in getattr(event, "new_home_apps", []):
            if app not in scenario.apps:
                raise ScenarioError(
                    file,
                    f"events[{index}].new_home_apps",
                    _unknown(app, list(scenario.apps), "app"),
                )
        for key in getattr(event, "set", {}):
            section, _, name = key.partition(".")
            block = getattr(scenario, section, None) if section in SHIFTABLE_SECTIONS else None
            if block is None or name not in type(block).model_fields:
                options = [
                    f"{s}.{n}"
                    for s in SHIFTABLE_SECTIONS
                    for n in type(getattr(scenario, s)).model_fields
                ]
                raise ScenarioError(
                    file, f"events[{index}].set", _unknown(key, options, "parameter")
                )
            if not isinstance(getattr(block, name), float | int):
                raise ScenarioError(
                    file, f"events[{index}].set.{key}", "only numeric parameters can shift"
                )
            if key in SET_UP_ONLY:
                raise ScenarioError(
                    file,
                    f"events[{index}].set.{key}",
                    "acts only when the model is built; set it in the scenario instead",
                )
        _check_shift_values(scenario, event, f"events[{index}].set", file)


def _check_shift_values(scenario: Scenario, event: Any, path: str, file: str) -> None:
    """The values one shift sets must be valid in their blocks, each and together: an
    error names the key when pydantic names a field, else the block."""
    sections: dict[str, dict[str, Any]] = {}
    for key, value in getattr(event, "set", {}).items():
        section, _, name = key.partition(".")
        sections.setdefault(section, {})[name] = value
    for section, updates in sections.items():
        block = getattr(scenario, section)
        try:
            type(block).model_validate({**block.model_dump(), **updates})
        except ValidationError as exc:
            error = exc.errors()[0]
            field = str(error["loc"][0]) if error["loc"] else ""
            where = f"{path}.{section}.{field}" if field in updates else f"{path} ({section})"
            raise ScenarioError(file, where, error["msg"].lower()) from None


def load_defaults(roster: Path = ROSTER_FILE) -> tuple[dict[str, Any], dict[tuple, str]]:
    """The parameter defaults, the roster and the vertical sub-markets, merged, with the
    file each key came from."""
    tree: dict[str, Any] = {}
    origins: dict[tuple, str] = {}
    for path in (PARAMETERS_FILE, roster, VERTICALS_FILE):
        _merge(tree, read_toml(path, what="seed file"), origins, str(path))
    return tree, origins


def load_scenario(path: str | Path, overrides: Mapping[str, Any] | None = None) -> Scenario:
    """Load, merge and validate a scenario file.

    Args:
        path: the scenario's TOML file; a bare name like ``sprint_race`` is looked up in
            ``scenarios/``.
        overrides: ``{"key.path": value}`` applied last (values already typed, or strings
            parsed as TOML values).

    Raises:
        ScenarioError: with one line naming the file, the key path and what is allowed.
    """
    path = resolve_scenario_path(path)
    try:
        chain = _chain(path)
        tree, origins = load_defaults(roster_file(chain))
        tree["name"] = path.stem
        for file, data in chain:
            _remove_events(tree, origins, data.pop("remove_events", []), file)
            _merge(tree, data, origins, str(file))
        tree["name"] = path.stem
        written_months = _months_of(tree)
        for key, value in (overrides or {}).items():
            typed = parse_value(value) if isinstance(value, str) else value
            set_path(tree, key, typed, origins, "--set")
        scenario = _validate(tree, origins, default_file=str(path))
    except RecursionError:
        raise ScenarioError(path, "", TOO_DEEP) from None
    # an event past the horizon the files give would never happen: a typo in its month
    # (a shorter --months or --set run.months only leaves later events out)
    _check_horizon(scenario, max(written_months, scenario.run.months), origins, str(path))
    return scenario


def _months_of(tree: Mapping[str, Any]) -> int:
    """The horizon the files give (0 when it is not a whole number: validation says so)."""
    months = tree.get("run", {}).get("months") if isinstance(tree.get("run"), Mapping) else None
    return months if isinstance(months, int) and not isinstance(months, bool) else 0


def _check_horizon(
    scenario: Scenario, months: int, origins: Mapping[tuple, str], default_file: str
) -> None:
    """Every event's month (or start) lies within the first ``months`` months."""
    year, month = (int(part) for part in scenario.run.start.split("-"))
    last_index = year * 12 + month - 1 + months - 1
    last = f"{last_index // 12:04d}-{last_index % 12 + 1:02d}"
    for index, event in enumerate(scenario.events):
        for field in ("start", "month"):
            when = getattr(event, field, None)
            if when is not None and when > last:
                raise ScenarioError(
                    _origin_of(("events", index), origins, default_file),
                    f"events[{index}].{field}",
                    f"{when} is after the horizon ({months} months from {scenario.run.start} "
                    f"end in {last})",
                )


def resolve_scenario_path(path: str | Path) -> Path:
    """A scenario path as given, or a bare name looked up in scenarios/."""
    candidate = Path(path)
    try:
        if candidate.is_file():
            return candidate
        if candidate.exists():
            raise ScenarioError(candidate, "", "not a regular file (a scenario is a TOML file)")
        named = SCENARIOS_DIR / f"{candidate.stem}.toml"
        if candidate.suffix in ("", ".toml") and candidate.parent == Path(".") and named.is_file():
            return named
    except OSError as exc:  # a name too long, a folder without permission
        raise ScenarioError(candidate, "", f"cannot open: {exc.strerror or exc}") from None
    raise ScenarioError(candidate, "", "no such scenario file")


def list_scenarios() -> list[Path]:
    """Scenario files shipped in scenarios/, sorted by name."""
    return sorted(SCENARIOS_DIR.glob("*.toml"))


def prepare_scenario(
    scenario: Scenario | str | Path,
    *,
    replicates: int | None = None,
    users: int | None = None,
    months: int | None = None,
    seed: int | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Scenario:
    """Load the scenario (if given by name) and apply the run-size shortcuts as overrides."""
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario, overrides)
    elif overrides:
        scenario = scenario.with_overrides(overrides)
    shortcuts = {
        key: value
        for key, value in (
            ("run.replicates", replicates),
            ("run.users", users),
            ("run.months", months),
            ("run.seed", seed),
        )
        if value is not None
    }
    return scenario.with_overrides(shortcuts) if shortcuts else scenario
