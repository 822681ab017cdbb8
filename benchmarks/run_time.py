"""Time `killline run scenarios/sprint_race.toml` at the default population, plots included.

Prints the wall time and the peak memory (maximum resident set size) of the command, run
as a fresh process into a temporary results folder, and the time per simulated user-month.
A benchmark, not a test: it prints figures measured in one run and asserts nothing.

    .venv/bin/python benchmarks/run_time.py [--repeat 3] [--users N]
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KILLLINE = Path(sys.executable).with_name("killline")


def run_once(users: int | None) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one `killline run` in a fresh process."""
    with tempfile.TemporaryDirectory() as out:
        command = [str(KILLLINE), "run", str(ROOT / "scenarios" / "sprint_race.toml"), "--out", out]
        if users:
            command += ["--users", str(users)]
        began = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        wall = time.perf_counter() - began
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return wall, peak_kb / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--users", type=int, help="simulated users (default: the scenario's)")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from sim.scenario import load_scenario

    scenario = load_scenario(ROOT / "scenarios" / "sprint_race.toml")
    users = args.users or scenario.run.users
    months = scenario.run.months
    print(f"killline run sprint_race: {users:,} simulated users, {months} months, plots included")
    walls = []
    for attempt in range(1, args.repeat + 1):
        wall, peak = run_once(args.users)
        walls.append(wall)
        print(f"  run {attempt}: wall {wall:6.2f} s   peak RSS so far {peak:7.1f} MB")
    best = min(walls)
    print(
        f"best wall {best:.2f} s (aim: under 10 s); median {sorted(walls)[len(walls) // 2]:.2f} s"
    )
    print(f"{best / (users * months) * 1e9:.0f} ns per simulated user-month, end to end")


if __name__ == "__main__":
    main()
