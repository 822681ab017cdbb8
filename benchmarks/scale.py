"""How the simulation scales with users: sprint_race, 36 months, no plots, 1e4 to 1e6 users.

What is timed (``total``): building the model, that is the set-up of month 0 (the user
population with its social graph, the month-0 awareness fit and the placement of every
adopter, the firms, the startups' warm-up), and its 36 months. Not timed: Python's start
and imports, loading the scenario, the tables and plots. Every run is a fresh Python
process, which reports wall and CPU time for the set-up and the months, the share of the
set-up spent drawing the social graph and fitting month 0, the users stage of the months,
and its peak resident memory (``ru_maxrss``) beside the memory it held after its imports.

Each size runs ``--repeat`` times, interleaved with the other sizes, and the table prints
medians (and the slowest run over the fastest). With ``--baseline REV`` the largest size
also runs, interleaved run for run, from a copy of the source at git revision REV, and
the ratio of the medians is printed. The floor line times what any implementation of this
user model must do at the largest size (draw the set-up's random numbers, write the state
once, and per choice read the friends' uses and take one exponential and one draw per
firm). A benchmark, not a test: it prints figures measured in one run and asserts nothing.

    .venv/bin/python benchmarks/scale.py [--repeat 5] [--sizes 10000 ...]
        [--baseline d0519f2] [--ten-million]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIZES = (10_000, 30_000, 100_000, 300_000, 1_000_000)
SCENARIO = "sprint_race"
TIMES = ("set_up", "run", "total", "set_up_cpu", "run_cpu", "total_cpu", "graph", "fit", "load")


def peak_rss_mb() -> float:
    """This process's peak resident memory so far (MB; Linux reports kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_run(users: int, root: Path) -> dict:
    """Build and run the model once from the source at `root`; timings and memory."""
    sys.path.insert(0, str(root))
    import sim.users
    from sim.model import AIMarket
    from sim.scenario import load_scenario

    scenario = load_scenario(SCENARIO, {"run.users": users})
    spent = {"graph": 0.0, "fit": 0.0}
    sim.users.social_graph = timed(sim.users.social_graph, spent, "graph")
    population = sim.users.UserPopulation
    population.fit_month0 = timed(population.fit_month0, spent, "fit")
    baseline = peak_rss_mb()
    load = os.getloadavg()[0]
    began, began_cpu = time.perf_counter(), time.process_time()
    model = AIMarket(scenario)
    built, built_cpu = time.perf_counter(), time.process_time()
    choices = count_choices(model)
    model.run()
    finished, finished_cpu = time.perf_counter(), time.process_time()
    return {
        "users": users,
        "months": scenario.run.months,
        "set_up": built - began,
        "run": finished - built,
        "total": finished - began,
        "set_up_cpu": built_cpu - began_cpu,
        "run_cpu": finished_cpu - built_cpu,
        "total_cpu": finished_cpu - began_cpu,
        **spent,
        "users_stage": model.stage_seconds["users"],
        "choices": choices["n"],
        "adopters": model.users.n_adopters,
        "peak_mb": peak_rss_mb(),
        "baseline_mb": baseline,
        "load": load,
    }


def timed(function, spent: dict, name: str):
    """`function`, adding its wall time to ``spent[name]``."""

    def wrapper(*args, **kwargs):
        began = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            spent[name] += time.perf_counter() - began

    return wrapper


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
    names = ("segment", "apps", "inertia", "main", "used", "neighbors")
    state = {
        name: np.ones((users, *getattr(probe, name).shape[1:]), dtype=getattr(probe, name).dtype)
        for name in names
    }
    written = time.perf_counter()
    friends = state["neighbors"]
    friends[:] = rng.integers(0, users, size=friends.shape, dtype=np.int32)
    who = rng.integers(0, adopters, size=choices)
    read_start = time.perf_counter()
    block = 1 << 12
    for start in range(0, choices, block):
        chunk = who[start : start + block]
        np.take(state["used"], np.take(friends, chunk, axis=0))
        np.exp(np.ones((probe.n_firms, len(chunk)), dtype=np.float32))
        rng.random((probe.n_firms + 1, len(chunk)), dtype=np.float32)
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


def run(users: int, root: Path = ROOT) -> dict:
    return in_child("--child", str(users), "--root", str(root))


def medians(runs: list[dict]) -> dict:
    """The median of every timing over `runs`, the rest from the first run; the slowest
    total over the fastest as ``spread``."""
    found = dict(runs[0])
    for name in TIMES:
        found[name] = statistics.median(run[name] for run in runs)
    found["peak_mb"] = max(run["peak_mb"] for run in runs)
    totals = [run["total"] for run in runs]
    found["spread"] = max(totals) / min(totals)
    return found


def slope(points: list[tuple[int, float]]) -> float:
    """Least-squares slope of log(time) on log(users)."""
    xs = [math.log(users) for users, _ in points]
    ys = [math.log(seconds) for _, seconds in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum(
        (x - mx) ** 2 for x in xs
    )


def source_at(revision: str, into: Path) -> Path:
    """A copy of the project's source at git `revision`, in `into`."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", revision], check=True, capture_output=True
    )
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into


def print_table(rows: list[dict]) -> None:
    header = (
        f"{'users':>11} {'set-up s':>9} {'graph s':>8} {'fit s':>7} {'months s':>9} "
        f"{'total s':>8} {'cpu s':>7} {'set-up cpu':>10} {'months cpu':>10} {'spread':>7} "
        f"{'us/user':>8} {'peak MB':>8} {'pop. MB':>8} {'B/user':>7} {'load':>5}"
    )
    print(header)
    for row in rows:
        population_mb = row["peak_mb"] - row["baseline_mb"]
        print(
            f"{row['users']:>11,} {row['set_up']:>9.3f} {row['graph']:>8.3f} "
            f"{row['fit']:>7.3f} {row['run']:>9.3f} {row['total']:>8.3f} "
            f"{row['total_cpu']:>7.3f} {row['set_up_cpu']:>10.3f} {row['run_cpu']:>10.3f} "
            f"{row['spread']:>6.2f}x {row['total'] / row['users'] * 1e6:>8.3f} "
            f"{row['peak_mb']:>8.0f} {population_mb:>8.0f} "
            f"{population_mb * 2**20 / row['users']:>7.0f} {row['load']:>5.1f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per size (medians shown)")
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--baseline", help="git revision to compare at the largest size")
    parser.add_argument("--ten-million", action="store_true", help="also run 10,000,000 users")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    parser.add_argument("--floor", type=int, nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child_run(args.child, args.root)))
        return
    if args.floor:
        print(json.dumps(child_floor(*args.floor)))
        return

    print(f"{SCENARIO}, 36 months; timed: set-up (graph, month-0 fit) and months;")
    print("not timed: start, imports, tables, plots; each run a fresh process")
    print(f"medians of {args.repeat} interleaved runs per size; 'spread': slowest over fastest;")
    print("'load': the 1-minute load average as each run began (2 cores here)\n")
    largest = args.sizes[-1]
    runs: dict[int, list[dict]] = {users: [] for users in args.sizes}
    base_runs: list[dict] = []
    with tempfile.TemporaryDirectory() as folder:
        base = source_at(args.baseline, Path(folder)) if args.baseline else None
        for _ in range(args.repeat):
            for users in args.sizes:
                runs[users].append(run(users))
            if base is not None:
                base_runs.append(run(largest, base))
    rows = [medians(runs[users]) for users in args.sizes]
    print_table(rows)
    points = [(row["users"], row["total"]) for row in rows]
    if len(points) > 1:
        print(f"\nslope of log(time) on log(users), all sizes: {slope(points):.2f} (1 = linear)")

    top = rows[-1]
    print(
        f"\nat {top['users']:,} users: {top['adopters']:,} adopters at the end, "
        f"{top['choices']:,} choices in {top['months']} months; users stage "
        f"{top['users_stage']:.3f} s = {top['users_stage'] / top['choices'] * 1e6:.2f} "
        f"us per choice; CPU: set-up {top['set_up_cpu']:.3f} s, months {top['run_cpu']:.3f} s"
    )
    if base_runs:
        old = medians(base_runs)
        print(
            f"baseline {args.baseline} at {largest:,} users: set-up {old['set_up']:.3f} s, "
            f"months {old['run']:.3f} s, total {old['total']:.3f} s "
            f"(CPU {old['total_cpu']:.3f} s: set-up {old['set_up_cpu']:.3f} s, months "
            f"{old['run_cpu']:.3f} s; spread {old['spread']:.2f}x); "
            f"ratio baseline / now: total {old['total'] / top['total']:.2f}x, "
            f"months {old['run'] / top['run']:.2f}x, set-up {old['set_up'] / top['set_up']:.2f}x, "
            f"CPU {old['total_cpu'] / top['total_cpu']:.2f}x (set-up "
            f"{old['set_up_cpu'] / top['set_up_cpu']:.2f}x, months "
            f"{old['run_cpu'] / top['run_cpu']:.2f}x)"
        )
    floor = in_child("--floor", str(top["users"]), str(top["choices"]))
    print(
        f"floor at {top['users']:,} users: random numbers {floor['draws']:.3f} s"
        f" + state write {floor['state']:.3f} s"
        f" + per choice the friends' uses, an exponential and a draw per firm"
        f" {floor['choices']:.3f} s = {floor['total']:.3f} s;"
        f" the run takes {top['total'] / floor['total']:.1f}x the floor"
        f" (state: {floor['bytes_per_user']:.0f} bytes per user)"
    )

    if args.ten_million:
        big = run(10_000_000)
        print(
            f"\n10,000,000 users: set-up {big['set_up']:.2f} s (graph {big['graph']:.2f} s, "
            f"fit {big['fit']:.2f} s), months {big['run']:.2f} s, total {big['total']:.2f} s "
            f"(CPU {big['total_cpu']:.2f} s: set-up {big['set_up_cpu']:.2f} s, months "
            f"{big['run_cpu']:.2f} s); peak RSS {big['peak_mb']:,.0f} MB "
            f"({big['peak_mb'] - big['baseline_mb']:,.0f} MB above the imports); "
            f"load {big['load']:.1f}"
        )


if __name__ == "__main__":
    main()
