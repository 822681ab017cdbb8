"""How fast the dashboard plays at the default population, as a user sees it.

Prints, measured in one run on the same live market:

* stepping: months per second of the model alone;
* a redraw of the five plots: built again from the run's tables, as the dashboard did
  before its live plots (``sim.plots`` figures, PNG at screen resolution), against the live
  plots redrawn in place (sim/dashboard/plots.py); medians over the months drawn;
* playing: months per second from month 0 to the horizon with the plots drawn the way the
  page draws them (``app.play``: ``PLAY_BATCH_MONTHS`` months between redraws, and the
  pause between batches), against drawing the tables' figures every month.

    .venv/bin/python benchmarks/dashboard_speed.py [SCENARIO] [--drawn N]
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import time

from sim.dashboard import app
from sim.dashboard.plots import PLOT_DPI, LivePlots
from sim.dashboard.session import LiveRun
from sim.scenario import load_scenario

MONTHS = 12  # months stepped for the model's rate


def tables_redraw(live: LiveRun) -> None:
    """The five plots built from the run's tables and encoded (the earlier dashboard)."""
    from sim.plots.market import migration_heatmap, monthly_users
    from sim.plots.run import capital_and_runway, kill_line_distance, market_share

    tables = live.tables()
    firms = tables["firms"]
    threshold = live.scenario.kill_line.runway_months
    for figure in (
        market_share(firms),
        monthly_users(firms),
        kill_line_distance(firms, tables.get("events")),
        capital_and_runway(firms, runway_threshold=threshold),
        migration_heatmap(tables["migration"], firms),
    ):
        figure.set_dpi(PLOT_DPI)
        figure.canvas.print_png(io.BytesIO())


def seconds(action) -> float:
    """Wall time of ``action()``."""
    began = time.perf_counter()
    action()
    return time.perf_counter() - began


def cpu_seconds(action) -> float:
    """CPU time of ``action()`` in this process (less bent by a loaded machine)."""
    began = time.process_time()
    action()
    return time.process_time() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("scenario", nargs="?", default="sprint_race")
    parser.add_argument("--drawn", type=int, default=5, help="months whose redraws are timed")
    args = parser.parse_args()

    live = LiveRun(load_scenario(args.scenario))
    plots = LivePlots(live)
    plots.draw(live.snapshot())  # month 0: the layout and the backgrounds
    step = seconds(lambda: live.step(MONTHS)) / MONTHS
    before, after, cpu_before, cpu_after = [], [], [], []
    for _ in range(args.drawn):  # interleaved, one month apart
        live.step(1)
        before.append(seconds(lambda: tables_redraw(live)))
        after.append(seconds(lambda: plots.draw(live.snapshot())))
        cpu_before.append(cpu_seconds(lambda: tables_redraw(live)))
        cpu_after.append(cpu_seconds(lambda: plots.draw(live.snapshot())))
    redraw_before, redraw_after = statistics.median(before), statistics.median(after)
    cpu = statistics.median(cpu_before), statistics.median(cpu_after)

    live.reset()
    plots = LivePlots(live)
    plots.draw(live.snapshot())
    played = seconds(lambda: app.play(live, lambda: plots.draw(live.snapshot()), lambda: True))
    playing = live.horizon / played
    every_month = 1 / (step + redraw_before + app.PLAY_PAUSE_SECONDS)

    load = os.getloadavg()[0]
    print(
        f"{live.scenario.run.users:,} users, {args.scenario}, {live.horizon} months "
        f"(load average {load:.1f} on {os.cpu_count()} cores)"
    )
    print(f"stepping the model alone: {1 / step:.1f} months/s")
    print(
        f"a redraw of the five plots (median of {args.drawn}): from the tables "
        f"{redraw_before:.2f} s, live plots {redraw_after:.2f} s "
        f"({redraw_before / redraw_after:.1f}x less); CPU {cpu[0]:.2f} s against "
        f"{cpu[1]:.2f} s ({cpu[0] / cpu[1]:.1f}x less)"
    )
    print(
        f"playing with the plots: {playing:.1f} months/s "
        f"(redrawn every {app.PLAY_BATCH_MONTHS} months, {plots.draws} redraws, "
        f"{plots.backgrounds_drawn} full drawings); from the tables every month: "
        f"{every_month:.2f} months/s ({playing / every_month:.0f}x)"
    )


if __name__ == "__main__":
    main()
