"""The dashboard in-process: its controls change the scenario they say, the live run steps
like a run, and the page renders, steps, takes a changed input and resets."""

from __future__ import annotations

import json

import ipyvuetify as v
import ipywidgets
import pytest
import solara
from helpers import small
from pandas.testing import assert_frame_equal

from sim import api
from sim.dashboard import app
from sim.dashboard.controls import BY_KEY, CONTROLS, apply, defaults
from sim.dashboard.session import LiveRun
from sim.scenario import load_scenario

SIZE = {"run.users": 2000, "run.months": 4, "run.startups": 2000}


def giant_programme_totals(scenario) -> dict[str, float]:
    tiers = {firm_id: firm.tier for firm_id, firm in scenario.firms.items()}
    return {
        event.id: event.total_bn
        for event in scenario.events
        if event.kind == "investment_programme" and tiers[event.firm] == "giant"
    }


def test_controls_default_to_the_scenario_and_change_what_they_say():
    scenario = load_scenario("sprint_race")
    values = defaults(scenario)
    assert set(values) == {control.key for control in CONTROLS}
    assert values["kill_line.runway_months"] == scenario.kill_line.runway_months
    assert values["giant_programmes"] == 1.0
    for control in CONTROLS:
        assert control.low <= values[control.key] <= control.high, control.key
    doubled = apply(scenario, {"giant_programmes": 2.0, "kill_line.runway_months": 9.0})
    before, after = giant_programme_totals(scenario), giant_programme_totals(doubled)
    assert before and after == {key: 2.0 * total for key, total in before.items()}
    assert doubled.kill_line.runway_months == 9.0
    # only the giants' programmes: other events keep their totals
    others = [e.total_bn for e in scenario.events if e.id not in before and hasattr(e, "total_bn")]
    kept = [e.total_bn for e in doubled.events if e.id not in before and hasattr(e, "total_bn")]
    assert others == kept
    assert apply(scenario, {}) is scenario
    with pytest.raises(KeyError, match="unknown dashboard control"):
        apply(scenario, {"no.such": 1.0})


def test_cutting_the_giants_programmes_leaves_the_giants_less_to_spend():
    """The multiplier reaches the model: without the programmes the giants spend less."""
    scenario = small("sprint_race", SIZE)
    with_them = LiveRun(scenario)
    without = LiveRun(scenario, {"giant_programmes": 0.0})
    with_them.step(3)
    without.step(3)

    def giant_costs(live: LiveRun) -> float:
        firms = live.tables()["firms"]
        return float(firms.loc[firms["tier"] == "giant", "costs_bn"].sum())

    assert giant_costs(without) < giant_costs(with_them)


def test_the_live_run_steps_like_a_run():
    scenario = small("sprint_race", SIZE)
    live = LiveRun(scenario)
    assert live.month == 0 and not live.done
    assert live.step(2) == 2 and live.month == 2
    assert live.step(10) == 2 and live.done and live.step(1) == 0
    assert live.months_per_second > 0
    ran = api.run(scenario)
    assert_frame_equal(live.tables()["firms"], ran.firms)
    live.reset({"run.seed": 5})
    assert live.month == 0 and live.scenario.run.seed == 5


@pytest.fixture
def page(monkeypatch):
    monkeypatch.setenv(app.OVERRIDES_VARIABLE, json.dumps(SIZE))
    _box, rc = solara.render(app.Page(), handle_error=False)
    yield rc
    rc.close()


def month_heading(rc) -> str:
    """The text of the heading (a Markdown widget: a Vuetify template)."""
    texts = [w.template for w in rc.find(v.VuetifyTemplate).widgets]
    return next(text for text in texts if isinstance(text, str) and "Month " in text)


def images(rc) -> list[bytes]:
    return [bytes(w.value) for w in rc.find(ipywidgets.Image).widgets]


def test_the_page_renders_steps_and_resets_with_a_changed_input(page):
    rc = page
    assert "Month 0 of 4" in month_heading(rc)
    assert f"plots redraw every {app.PLAY_BATCH_MONTHS} months" in month_heading(rc)
    drawn = images(rc)
    assert len(drawn) == len(app.PLOTS) and all(drawn)
    rc.find(v.Btn, children=["Step"]).widget.click()
    assert "Month 1 of 4" in month_heading(rc)
    assert images(rc) != drawn
    # a changed input waits for reset, which rebuilds month 0 with it
    label = BY_KEY["kill_line.runway_months"].label
    slider = rc.find(v.Slider, label=label).widget
    slider.v_model = 12.0
    alerts = rc.find(v.Alert).widgets
    assert any("press Reset" in str(alert.children) for alert in alerts)
    assert "kill line at 6 months" in month_heading(rc)
    rc.find(v.Btn, children=["Reset"]).widget.click()
    assert "Month 0 of 4" in month_heading(rc)
    assert "kill line at 12 months" in month_heading(rc)
    rc.find(v.Btn, children=["Step"]).widget.click()
    rc.find(v.Btn, children=["Step"]).widget.click()
    assert "Month 2 of 4" in month_heading(rc)
