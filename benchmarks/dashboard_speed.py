"""How fast the dashboard steps at the default population: months per second of the model
alone, and with the five live plots drawn each month (medians of a few months).

    .venv/bin/python benchmarks/dashboard_speed.py [SCENARIO]
"""

from __future__ import annotations

import io
import statistics
import sys
import time

from sim.dashboard import app
from sim.dashboard.session import LiveRun
from sim.scenario import load_scenario

MONTHS = 12  # months stepped for the model's rate
DRAWN = 3  # months drawn for the plots' cost


def main() -> None:
    live = LiveRun(load_scenario(sys.argv[1] if len(sys.argv) > 1 else "sprint_race"))
    began = time.perf_counter()
    live.step(MONTHS)
    step = (time.perf_counter() - began) / MONTHS
    draws = []
    for _ in range(DRAWN):
        live.step(1)
        began = time.perf_counter()
        for figure in app.figures(live).values():
            figure.canvas.print_png(io.BytesIO())
        draws.append(time.perf_counter() - began)
    draw = statistics.median(draws)
    print(f"{live.scenario.run.users:,} users: stepping {1 / step:.1f} months/s")
    print(f"with the five plots drawn each month: {1 / (step + draw):.2f} months/s")


if __name__ == "__main__":
    main()
