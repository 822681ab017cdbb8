"""Every number in seeds/ and every scenario event carries its source."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from sim.schema import PARAMETERS_FILE, ROSTER_FILE, SCENARIOS_DIR, SEEDS_DIR

# A source key (S5, C4, I4b, P12, M2, F6, R2 ...), possibly several joined by "/" or a
# range joined by "-", then a colon; or "assumption:".
KEY = r"[SCIPMFR]\d+[a-z]?"
LEADING_KEYS = re.compile(rf"^({KEY}(?:[/-]{KEY})*):")
ORIGIN_COMMENT = re.compile(r"^#\s*(source|calibrated|assumption):")
ASSIGNMENT = re.compile(r"^\s*[A-Za-z0-9_\"'.-]+\s*=")


def _load(path: Path) -> dict:
    with path.open("rb") as handle:
        return tomllib.load(handle)


def _known_keys() -> set[str]:
    """Source keys listed in seeds/source.md: the article's facts (F*) and the others."""
    text = (SEEDS_DIR / "source.md").read_text(encoding="utf-8")
    facts = set(re.findall(r"^\|\s*(F\d+)\s*\|", text, re.MULTILINE))
    listed = text.split("## Source keys", 1)[1]
    others = set(re.findall(rf"(?:^|[\s·:])({KEY})\s+\S+\.\S+", listed, re.MULTILINE))
    return facts | others


def _cited(source: str) -> list[str] | None:
    """The source keys a source string begins with, or None when it is an assumption."""
    if source.startswith("assumption:"):
        return None
    found = LEADING_KEYS.match(source)
    assert found, f"does not start with a source key or 'assumption:': {source!r}"
    return re.findall(KEY, found.group(1))


def _sourced_fields(firm: dict) -> list[str]:
    return [
        key
        for key, value in firm.items()
        if key != "sources"
        and not isinstance(value, bool)
        and isinstance(value, int | float | list | dict)
    ]


ROSTER = _load(ROSTER_FILE)


def test_roster_is_not_empty():
    assert len(ROSTER["firms"]) >= 15
    assert ROSTER["apps"]


@pytest.mark.parametrize("firm_id", list(ROSTER["firms"]))
def test_every_firm_figure_has_a_source(firm_id):
    firm = ROSTER["firms"][firm_id]
    sources = firm.get("sources", {})
    missing = [key for key in _sourced_fields(firm) if not sources.get(key, "").strip()]
    assert not missing, f"{firm_id}: no source for {missing}"
    stray = [key for key in sources if key not in firm]
    assert not stray, f"{firm_id}: sources for fields that do not exist: {stray}"


@pytest.mark.parametrize("firm_id", list(ROSTER["firms"]))
def test_firm_sources_start_with_a_known_key_or_assumption(firm_id):
    known = _known_keys()
    for field, source in ROSTER["firms"][firm_id].get("sources", {}).items():
        cited = _cited(source)
        if cited is None:
            assert len(source) > len("assumption:") + 3, f"{firm_id}.{field}: no reason given"
            continue
        unknown = [key for key in cited if key not in known]
        assert not unknown, f"{firm_id}.{field}: {unknown} not listed in seeds/source.md"


def test_every_app_has_a_source():
    known = _known_keys()
    for app_id, app in ROSTER["apps"].items():
        cited = _cited(app.get("source", ""))
        if cited is not None:
            assert set(cited) <= known, app_id


def test_source_keys_are_parsed_from_source_md():
    known = _known_keys()
    assert {"F1", "F8", "S5", "C8", "I1", "I4b", "P12", "M2", "R2"} <= known
    assert "C11" not in known


def test_every_parameter_has_an_origin_comment():
    lines = PARAMETERS_FILE.read_text(encoding="utf-8").splitlines()
    assignments = 0
    for number, line in enumerate(lines):
        if line.lstrip().startswith(("#", "[")) or not ASSIGNMENT.match(line):
            continue
        assignments += 1
        above = lines[number - 1].strip() if number else ""
        assert ORIGIN_COMMENT.match(above), (
            f"parameters.toml line {number + 1} ({line.split('=')[0].strip()}): the line above "
            "must be a '# source:', '# calibrated:' or '# assumption:' comment"
        )
    assert assignments >= 50


def test_parameter_file_has_no_multiline_values():
    """The origin check reads one line per value; a multi-line array would slip past it."""
    text = PARAMETERS_FILE.read_text(encoding="utf-8")
    data = _load(PARAMETERS_FILE)
    count = sum(len(section) for section in data.values())
    lines = [
        line
        for line in text.splitlines()
        if ASSIGNMENT.match(line) and not line.lstrip().startswith(("#", "["))
    ]
    assert len(lines) == count


@pytest.mark.parametrize("path", sorted(SCENARIOS_DIR.glob("*.toml")), ids=lambda p: p.stem)
def test_every_scenario_event_has_a_source(path):
    events = _load(path).get("events", [])
    for index, event in enumerate(events):
        assert str(event.get("source", "")).strip(), f"{path.name}: event {index} has no source"
        assert event.get("id"), f"{path.name}: event {index} has no id"


def test_calibration_targets_have_sources():
    targets = _load(SEEDS_DIR / "calibration.toml")["targets"]
    for target_id, target in targets.items():
        for field in ("value", "unit", "date", "source", "used_for"):
            assert field in target, f"{target_id}: no {field}"
        assert _cited(target["source"]), target_id
