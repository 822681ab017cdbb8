"""The dashboard's page (Solara): the controls on the left, play / step / reset, and live
plots of the run so far: shares, monthly users, distance to the kill line with exits,
capital and runway, and migration.

Each browser tab has its own live run (sim/dashboard/session.py) and its own live plots
(sim/dashboard/plots.py), redrawn in place after each step; while playing, the run steps
``PLAY_BATCH_MONTHS`` months between redraws (the page says so). A changed control takes
effect on reset (the market is rebuilt at month 0 with it): month 0 is a steady state, and
changing a parameter in the middle of a run would be a different experiment.

The scenario comes from ``KILLLINE_DASHBOARD_SCENARIO`` (a name or path; default
``sprint_race``) and ``KILLLINE_DASHBOARD_SET`` (JSON of ``--set`` overrides), which
``killline dashboard`` sets before serving this page.
"""

from __future__ import annotations

import json
import os
import threading
import time

import solara
from solara.alias import rw

from sim.dashboard.controls import CONTROLS
from sim.dashboard.plots import PLOTS, LivePlots
from sim.dashboard.session import LiveRun

SCENARIO_VARIABLE = "KILLLINE_DASHBOARD_SCENARIO"
OVERRIDES_VARIABLE = "KILLLINE_DASHBOARD_SET"
DEFAULT_SCENARIO = "sprint_race"
# While playing, months stepped between redraws: a month steps in about 10 ms at the
# default population and the five plots redraw in a few tenths of a second, so drawing
# every month would spend nearly all the time drawing.
PLAY_BATCH_MONTHS = 3
PLAY_PAUSE_SECONDS = 0.05  # a breath between batches while playing, for the page to update


def scenario_from_environment():
    """The scenario the server was started with."""
    from sim.scenario import load_scenario

    name = os.environ.get(SCENARIO_VARIABLE, DEFAULT_SCENARIO)
    overrides = json.loads(os.environ.get(OVERRIDES_VARIABLE, "{}") or "{}")
    return load_scenario(name, overrides)


def play(live: LiveRun, redraw, playing, batch: int = PLAY_BATCH_MONTHS) -> None:
    """Step ``live`` ``batch`` months at a time while ``playing()`` holds and the horizon is
    not reached, calling ``redraw()`` after each batch (the plots are drawn then only)."""
    while playing() and not live.done:
        live.step(batch)
        redraw()
        time.sleep(PLAY_PAUSE_SECONDS)


@solara.component
def Controls(settings: dict, set_settings) -> None:
    """A slider per control (sim/dashboard/controls.py)."""
    for control in CONTROLS:

        def changed(value, key=control.key, integer=control.integer):
            set_settings({**settings, key: int(value) if integer else float(value)})

        if control.integer and control.step >= 1:
            solara.SliderInt(
                control.label,
                value=int(settings[control.key]),
                min=int(control.low),
                max=int(control.high),
                step=int(control.step),
                on_value=changed,
            )
        else:
            solara.SliderFloat(
                control.label,
                value=float(settings[control.key]),
                min=control.low,
                max=control.high,
                step=control.step,
                on_value=changed,
            )


@solara.component
def Page() -> None:
    """The dashboard."""
    live = solara.use_memo(lambda: LiveRun(scenario_from_environment()), [])
    settings, set_settings = solara.use_state(dict(live.settings))
    version, set_version = solara.use_state(0)
    playing, set_playing = solara.use_state(False)
    error, set_error = solara.use_state("")

    def advance(months: int = 1) -> None:
        live.step(months)
        set_version(lambda v: v + 1)

    def reset() -> None:
        set_playing(False)
        try:
            live.reset(settings)
            set_error("")
        except Exception as exc:  # a value the schema refuses: shown, the run kept
            set_error(str(exc))
        set_version(lambda v: v + 1)

    def playing_now(cancel: threading.Event) -> None:
        if not playing:
            return
        play(live, lambda: set_version(lambda v: v + 1), lambda: not cancel.is_set())
        if live.done:
            set_playing(False)

    solara.use_thread(playing_now, dependencies=[playing])
    plots = solara.use_memo(lambda: LivePlots(live), [live.resets])
    drawn = solara.use_memo(lambda: plots.draw(live.snapshot()), [version, live.resets])

    solara.Title("killline dashboard")
    with solara.Columns([1, 3]):
        with solara.Column():
            solara.Markdown(f"**{live.scenario.title}**")
            with solara.Row():
                solara.Button("Play", on_click=lambda: set_playing(True), disabled=playing)
                solara.Button("Pause", on_click=lambda: set_playing(False), disabled=not playing)
                solara.Button("Step", on_click=lambda: advance(1), disabled=playing or live.done)
                solara.Button("Reset", on_click=reset)
            pending = {k: v for k, v in settings.items() if v != live.settings.get(k)}
            if pending:
                solara.Info(f"{len(pending)} changed: press Reset to rebuild month 0 with them")
            if error:
                solara.Error(error)
            Controls(settings, set_settings)
        with solara.Column():
            solara.Markdown(
                f"### Month {live.month} of {live.horizon} ({live.model.date})  \n"
                f"{live.scenario.run.users:,} simulated users, seed {live.scenario.run.seed}, "
                f"kill line at {live.scenario.kill_line.runway_months:g} months of runway; "
                f"stepping {live.months_per_second:.1f} months/s, "
                f"plots redrawn in {plots.draw_seconds:.2f} s; "
                f"while playing, plots redraw every {PLAY_BATCH_MONTHS} months"
            )
            with solara.Columns([1, 1]):
                for name in PLOTS[:2]:
                    rw.Image(value=drawn[name], format="png")
            for name in PLOTS[2:]:
                rw.Image(value=drawn[name], format="png")
