"""How the simulation scales with users: sprint_race, 36 months, no plots, 1e4 to 1e6 users.

Every size runs in a fresh Python process that builds the model (month 0, set-up included)
and runs its 36 months; the tables and plots are left out. The process reports its wall
time and its peak resident memory (``ru_maxrss``), and the memory it held after its
imports, so that the population's own memory shows apart from Python, numpy and pandas.
The table prints the best of ``--repeat`` runs per size (its spread beside it), the time
per simulated user and the log-log slope of time against users (1 = linear).

The floor line times what any implementation of this user model on this machine must do
at the largest size: draw the set-up's random numbers, write the population's state once,
and for every choice in the run read the chooser's friends' assistants, take one
exponential per firm (the logit) and draw one number. A benchmark, not a test: it prints
figures measured in one run and asserts nothing.

    .venv/bin/python benchmarks/scale.py [--repeat 3] [--sizes 10000 ...] [--ten-million]
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIZES = (10_000, 30_000, 100_000, 300_000, 1_000_000)
SCENARIO = "sprint_race"


def peak_rss_mb() -> float:
    """This process's peak resident memory so far (MB; Linux reports kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_run(users: int) -> dict:
    """Build and run the model once; timings, memory and the number of choices made."""
    sys.path.insert(0, str(ROOT))
    from sim.model import AIMarket
    from sim.scenario import load_scenario

    scenario = load_scenario(SCENARIO, {"run.users": users})
    baseline = peak_rss_mb()
    began = time.perf_counter()
    model = AIMarket(scenario)
    built = time.perf_counter()
    choices = count_choices(model)
    model.run()
    finished = time.perf_counter()
    return {
        "users": users,
        "months": scenario.run.months,
        "set_up": built - began,
        "run": finished - built,
        "total": finished - began,
        "users_stage": model.stage_seconds["users"],
        "choices": choices["n"],
        "adopters": model.users.n_adopters,
        "peak_mb": peak_rss_mb(),
        "baseline_mb": baseline,
    }


def count_choices(model) -> dict:
    """Count the users who choose in the run (a wrapper on the population's `choose`)."""
    tally = {"n": 0}
    choose = model.users.choose

    def counted(who, view):
        tally["n"] += len(who)
        return choose(who, view)

    model.users.choose = counted
    return tally


def child_floor(users: int, choices: int) -> dict:
    """Time the unavoidable work of a run at `users` with `choices` choices in all."""
    import numpy as np

    sys.path.insert(0, str(ROOT))
    from sim.scenario import load_scenario
    from sim.users import UserPopulation

    scenario = load_scenario(SCENARIO)
    probe = UserPopulation(scenario, 1000, np.random.default_rng(0))
    rng = np.random.default_rng(1)
    adopters = round(users * scenario.market.adopters_m / scenario.market.internet_users_m)
    # segment, inertia and place in the community shuffle, one per home app and per tie
    draws_per_user = 3 + len(scenario.apps) + scenario.social.degree
    buffer = np.empty(1 << 16)
    began = time.perf_counter()
    for _ in range(0, users * draws_per_user + adopters, len(buffer)):
        rng.random(out=buffer)
    drawn = time.perf_counter()
    state = {
        name: np.ones((users, *getattr(probe, name).shape[1:]), dtype=getattr(probe, name).dtype)
        for name in ("segment", "apps", "inertia", "assistant", "neighbors")
    }
    written = time.perf_counter()
    friends = state["neighbors"]
    friends[:] = rng.integers(0, users, size=friends.shape, dtype=np.int32)
    who = rng.integers(0, adopters, size=choices)
    read_start = time.perf_counter()
    for start in range(0, choices, 1 << 16):
        chunk = who[start : start + (1 << 16)]
        np.take(state["assistant"], np.take(friends, chunk, axis=0))
        np.exp(np.ones((probe.n_firms, len(chunk))))
        rng.random(len(chunk))
    read = time.perf_counter()
    bytes_per_user = sum(a.nbytes for a in state.values()) / users
    return {
        "draws": drawn - began,
        "state": written - drawn,
        "choices": read - read_start,
        "total": (drawn - began) + (written - drawn) + (read - read_start),
        "bytes_per_user": bytes_per_user,
    }


def in_child(*arguments: str) -> dict:
    """Run this script in a fresh process with `arguments`; its JSON answer."""
    command = [sys.executable, str(Path(__file__).resolve()), *arguments]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(users: int, repeat: int) -> tuple[dict, list[float]]:
    """The best of `repeat` fresh-process runs, and every run's total time."""
    runs = [in_child("--child", str(users)) for _ in range(repeat)]
    return min(runs, key=lambda run: run["total"]), [run["total"] for run in runs]


def slope(points: list[tuple[int, float]]) -> float:
    """Least-squares slope of log(time) on log(users)."""
    xs = [math.log(users) for users, _ in points]
    ys = [math.log(seconds) for _, seconds in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum(
        (x - mx) ** 2 for x in xs
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per size (best is shown)")
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--ten-million", action="store_true", help="also run 10,000,000 users")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--floor", type=int, nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child_run(args.child)))
        return
    if args.floor:
        print(json.dumps(child_floor(*args.floor)))
        return

    print(f"{SCENARIO}, 36 months, plots and tables excluded; each run a fresh process")
    print(f"best of {args.repeat} runs per size; 'spread' is the slowest run over the best\n")
    header = (
        f"{'users':>11} {'set-up s':>9} {'months s':>9} {'total s':>8} {'spread':>7} "
        f"{'us/user':>8} {'vs first':>8} {'peak MB':>8} {'pop. MB':>8} {'B/user':>7}"
    )
    print(header)
    rows = []
    for users in args.sizes:
        best, totals = measure(users, args.repeat)
        rows.append(best)
        population_mb = best["peak_mb"] - best["baseline_mb"]
        per_user = best["total"] / users * 1e6
        first = rows[0]["total"] / rows[0]["users"] * 1e6
        print(
            f"{users:>11,} {best['set_up']:>9.3f} {best['run']:>9.3f} {best['total']:>8.3f} "
            f"{max(totals) / best['total']:>6.2f}x {per_user:>8.3f} {per_user / first:>8.3f} "
            f"{best['peak_mb']:>8.0f} {population_mb:>8.0f} {population_mb * 2**20 / users:>7.0f}"
        )
    points = [(row["users"], row["total"]) for row in rows]
    if len(points) > 1:
        print(f"\nslope of log(time) on log(users), all sizes: {slope(points):.2f} (1 = linear)")
    if len(points) > 2:
        print(f"slope over the two largest sizes: {slope(points[-2:]):.2f}")

    largest = rows[-1]
    print(
        f"\nat {largest['users']:,} users: {largest['adopters']:,} adopters at the end, "
        f"{largest['choices']:,} choices in {largest['months']} months; users stage "
        f"{largest['users_stage']:.3f} s = {largest['users_stage'] / largest['choices'] * 1e6:.2f} "
        "us per choice"
    )
    floor = in_child("--floor", str(largest["users"]), str(largest["choices"]))
    print(
        f"floor at {largest['users']:,} users: random numbers {floor['draws']:.3f} s"
        f" + state write {floor['state']:.3f} s"
        f" + per choice a draw, friends read and a logit {floor['choices']:.3f} s"
        f" = {floor['total']:.3f} s;"
        f" the run takes {largest['total'] / floor['total']:.1f}x the floor"
        f" (state: {floor['bytes_per_user']:.0f} bytes per user)"
    )

    if args.ten_million:
        run = in_child("--child", str(10_000_000))
        print(
            f"\n10,000,000 users: set-up {run['set_up']:.2f} s, months {run['run']:.2f} s, "
            f"total {run['total']:.2f} s; peak RSS {run['peak_mb']:,.0f} MB "
            f"({run['peak_mb'] - run['baseline_mb']:,.0f} MB above the imports)"
        )


if __name__ == "__main__":
    main()
