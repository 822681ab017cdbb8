"""Time `killline run scenarios/sprint_race.toml` at the default population, plots included.

Prints, as medians over several fresh processes, the whole command's wall time and where
it goes: imports (the modules `killline run` loads), simulation (the model's months),
tables (building the tidy DataFrames), the folder (Parquet, manifest, summary) and plots
(the six PNGs, drawn in one process). The whole command draws half of its plots in a second
process started before the model runs (sim/plots/painter.py), so on two free cores its wall
time is less than the sum of the split. Also the peak memory (maximum resident set size)
and the time per simulated user-month. A benchmark, not a test: it prints figures measured
here and asserts nothing.

    .venv/bin/python benchmarks/run_time.py [--repeat 5] [--users N]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "scenarios" / "sprint_race.toml"

# Runs in a fresh process: the stages of `killline run`, timed one by one.
STAGES = """
import json, sys, tempfile, time
from pathlib import Path
began = time.perf_counter()
from sim import api, folder
from sim.model import AIMarket
from sim.plots.run import save_run_plots, startup_targets
from sim.scenario import load_scenario, prepare_scenario
import sim.reports
imported = time.perf_counter()
scenario = prepare_scenario(load_scenario(sys.argv[1]), users=int(sys.argv[2]) or None)
model = AIMarket(scenario)
model.run()
simulated = time.perf_counter()
tables = model.tables()
tabled = time.perf_counter()
result = api.RunResult(scenario=scenario, tables=tables, facts={})
with tempfile.TemporaryDirectory() as out:
    folder.save(result, out, plots=False)
    written = time.perf_counter()
    save_run_plots(tables, Path(out) / "plots",
                   runway_threshold=scenario.kill_line.runway_months,
                   startup_targets=startup_targets())
plotted = time.perf_counter()
print(json.dumps({"imports": imported - began, "simulation": simulated - imported,
                  "tables": tabled - simulated, "folder": written - tabled,
                  "plots": plotted - written}))
"""


def python_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}


def whole_run(users: int | None) -> float:
    """Wall seconds of one `killline run` in a fresh process."""
    with tempfile.TemporaryDirectory() as out:
        command = [
            sys.executable,
            "-c",
            "import sys; from sim.cli import main; sys.exit(main())",
            "run",
            str(SCENARIO),
            "--out",
            out,
        ]
        if users:
            command += ["--users", str(users)]
        began = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, env=python_env())
        return time.perf_counter() - began


def stages(users: int | None) -> dict[str, float]:
    """Seconds per stage of one run in a fresh process."""
    command = [sys.executable, "-c", STAGES, str(SCENARIO), str(users or 0)]
    done = subprocess.run(command, check=True, capture_output=True, text=True, env=python_env())
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--users", type=int, help="simulated users (default: the scenario's)")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from sim.scenario import load_scenario

    scenario = load_scenario(SCENARIO)
    users = args.users or scenario.run.users
    months = scenario.run.months
    print(f"killline run sprint_race: {users:,} simulated users, {months} months, plots included")
    walls, splits = [], []
    for attempt in range(1, args.repeat + 1):
        walls.append(whole_run(args.users))
        splits.append(stages(args.users))
        print(f"  run {attempt}: wall {walls[-1]:6.2f} s")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"median over {args.repeat} fresh processes (seconds):")
    for stage in splits[0]:
        print(f"  {stage:12} {statistics.median(split[stage] for split in splits):6.2f}")
    wall = statistics.median(walls)
    print(f"  {'whole run':12} {wall:6.2f}   (best {min(walls):.2f}; aim: under 2 s)")
    print(f"peak RSS {peak:.0f} MB; {wall / (users * months) * 1e9:.0f} ns per user-month")


if __name__ == "__main__":
    main()
