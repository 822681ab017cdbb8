"""Scenario mechanics: `extends` chains, event ids, `remove_events`, overrides, validation."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import simulate, small
from pydantic import ValidationError

from sim.scenario import Scenario, list_scenarios, load_scenario, parse_value
from sim.schema import SCENARIOS_DIR, ScenarioError

STATUS_QUO = SCENARIOS_DIR / "status_quo.toml"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def chain(tmp_path: Path) -> Path:
    """grandparent (status_quo) <- parent <- child, in tmp_path."""
    write(
        tmp_path / "parent.toml",
        f"""
extends = "{STATUS_QUO.as_posix()}"
title = "parent"

[kill_line]
runway_months = 9.0
confirm_months = 3

[[events]]
id = "extra_round"
kind = "funding_round"
firm = "kimi"
month = "2026-03"
amount_bn = 1.0

[[events]]
id = "cold_climate"
kind = "funding_climate"
start = "2026-06"
sentiment = 0.5
""",
    )
    return write(
        tmp_path / "child.toml",
        """
extends = "parent.toml"
remove_events = ["zhipu_ipo"]

[kill_line]
runway_months = 4.0

[[events]]
id = "extra_round"
kind = "funding_round"
firm = "kimi"
month = "2026-04"
amount_bn = 2.0

[[events]]
id = "kimi_breaks_through"
kind = "breakthrough"
firm = "kimi"
month = "2026-05"
size = 0.2
""",
    )


def test_child_overrides_and_inherits(chain):
    child = load_scenario(chain)
    parent = load_scenario(chain.parent / "parent.toml")
    assert child.name == "child"
    assert parent.kill_line.runway_months == 9.0
    assert child.kill_line.runway_months == 4.0
    assert child.kill_line.confirm_months == 3, "inherited from the parent"
    base = load_scenario("status_quo")
    assert child.kill_line.collapse_months == base.kill_line.collapse_months
    assert child.title == "parent", "inherited from the parent"
    assert child.description == base.description, "inherited from the grandparent"
    assert child.firms == base.firms


def test_events_are_appended_replaced_by_id_and_removed(chain):
    child = load_scenario(chain)
    ids = [event.id for event in child.events]
    assert ids == [
        "minimax_ipo",
        "stepfun_b_plus",
        "extra_round",
        "cold_climate",
        "kimi_breaks_through",
    ]
    replaced = next(e for e in child.events if e.id == "extra_round")
    assert replaced.amount_bn == 2.0
    assert replaced.month == "2026-04"
    parent = load_scenario(chain.parent / "parent.toml")
    assert [e.id for e in parent.events][:3] == ["zhipu_ipo", "minimax_ipo", "stepfun_b_plus"]
    assert next(e for e in parent.events if e.id == "extra_round").amount_bn == 1.0


def test_removing_an_unknown_event_is_an_error(tmp_path):
    path = write(
        tmp_path / "bad_remove.toml",
        f'extends = "{STATUS_QUO.as_posix()}"\nremove_events = ["zhipu_ipoo"]\n',
    )
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    message = str(caught.value)
    assert "bad_remove.toml" in message
    assert "remove_events" in message
    assert "'zhipu_ipo'" in message


def test_shipped_scenarios_extend_correctly():
    sprint = load_scenario("sprint_race")
    base = load_scenario("status_quo")
    assert [e.id for e in sprint.events][: len(base.events)] == [e.id for e in base.events]
    assert len(sprint.events) > len(base.events)
    assert sprint.title != base.title


def test_every_shipped_scenario_loads():
    paths = list_scenarios()
    assert {p.stem for p in paths} >= {"status_quo", "sprint_race"}
    for path in paths:
        scenario = load_scenario(path)
        assert scenario.name == path.stem
        assert scenario.title and scenario.description


# ------------------------------------------------------------------ overrides


def test_set_overrides_apply_and_appear_in_the_resolved_scenario():
    scenario = load_scenario(
        "sprint_race",
        {
            "kill_line.runway_months": "7.5",
            "firms.doubao.supply": "0.6",
            "kill_line.share_floor.vertical": 0.001,
            "run.users": "2000",
        },
    )
    assert scenario.kill_line.runway_months == 7.5
    assert scenario.firms["doubao"].supply == 0.6
    assert scenario.kill_line.share_floor["vertical"] == 0.001
    assert scenario.run.users == 2000
    resolved = scenario.to_dict()
    assert resolved["kill_line"]["runway_months"] == 7.5
    assert resolved["firms"]["doubao"]["supply"] == 0.6
    assert scenario.digest() != load_scenario("sprint_race").digest()


def test_overrides_reach_the_model():
    scenario = small("sprint_race", {"firms.zhipu.capital_bn": 42.0, "run.months": 1})
    model = simulate(scenario, 1)
    firms = model.tables()["firms"]
    start = firms[(firms["month"] == 0) & (firms["firm"] == "zhipu")]
    assert start["capital_bn"].item() == 42.0


def test_unknown_override_key_is_an_error_with_a_suggestion():
    with pytest.raises(ScenarioError) as caught:
        load_scenario("sprint_race", {"kill_line.runway_month": 3})
    assert caught.value.path == "kill_line.runway_month"
    assert "'runway_months'" in str(caught.value)


def test_with_overrides_revalidates(sprint_race):
    changed = sprint_race.with_overrides({"kill_line.runway_months": 4.0})
    assert changed.kill_line.runway_months == 4.0
    assert sprint_race.kill_line.runway_months != 4.0, "the original is unchanged"
    assert isinstance(changed, Scenario)
    with pytest.raises(ScenarioError) as caught:
        sprint_race.with_overrides({"firms.doubao.supply": 1.5})
    assert caught.value.path == "firms.doubao.supply"
    with pytest.raises(ScenarioError):
        sprint_race.with_overrides({"run.months": "ten"})
    with pytest.raises(ScenarioError):
        sprint_race.with_overrides({"market.segments.social": 0.9})
    with pytest.raises(ScenarioError):
        sprint_race.with_overrides({"kill_line.runway_monthz": 3.0})


def test_scenarios_are_frozen(sprint_race):
    with pytest.raises(ValidationError):
        sprint_race.kill_line.runway_months = 1.0  # type: ignore[misc]


def test_digest_is_stable():
    assert load_scenario("sprint_race").digest() == load_scenario("sprint_race").digest()
    assert len(load_scenario("sprint_race").digest()) == 64


@pytest.mark.parametrize(
    ("text", "value"),
    [("3", 3), ("0.5", 0.5), ("true", True), ('["a", "b"]', ["a", "b"]), ("kimi", "kimi")],
)
def test_set_values_are_read_as_toml(text, value):
    assert parse_value(text) == value


# ------------------------------------------------------------------ validation


def test_events_before_the_start_are_rejected(tmp_path):
    path = write(
        tmp_path / "early.toml",
        f"""extends = "{STATUS_QUO.as_posix()}"
[[events]]
kind = "breakthrough"
firm = "kimi"
month = "2025-06"
size = 0.1
""",
    )
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert "early.toml" in str(caught.value)
    assert ".month" in caught.value.path


@pytest.mark.parametrize(
    ("shift", "path"),
    [
        ('{ "kill_line.flight_rate" = 1.5 }', ".set.kill_line.flight_rate"),
        ('{ "market.reconsider_rate" = 0.5, "kill_line.confirm_months" = 0 }', ".confirm_months"),
    ],
)
def test_a_shift_out_of_range_names_its_key(tmp_path, shift, path):
    scenario = write(
        tmp_path / "shift.toml",
        f"""extends = "{STATUS_QUO.as_posix()}"
[[events]]
kind = "parameter_shift"
month = "2026-06"
set = {shift}
""",
    )
    with pytest.raises(ScenarioError) as caught:
        load_scenario(scenario)
    assert "shift.toml" in str(caught.value)
    assert caught.value.path.endswith(path)


def test_spend_split_must_sum_to_one():
    with pytest.raises(ScenarioError) as caught:
        load_scenario("sprint_race", {"firms.kimi.spend_split.rd": 0.9})
    assert "spend_split" in str(caught.value)


def test_api_shares_may_not_exceed_the_market():
    with pytest.raises(ScenarioError) as caught:
        load_scenario("sprint_race", {"firms.kimi.api_share": 0.9})
    assert "api_share" in str(caught.value)
