"""The vectorised user population against the one-agent-per-user Mesa reference.

One run of sprint_race at 20,000 users records what the model asks of its user population
over 36 months: every move (the month's MarketView, reconsider rate and Bass
coefficients), every acquisition's transfer of users and every exit's evacuation; each
month also reads users per firm (twice: accounts and tables), their need for supply and
the migration matrix, as the model does. The population as placed at month 0 is kept.
Both implementations then replay those calls from that same month 0, one after the other
in this process: the vectorised population (sim/users.py) and the Mesa reference with one
agent per user (sim/reference.py). The script prints both times (the best of several
replays each, every replay starting again from month 0) and their ratio; building the
reference's agents is timed apart, and the final shares of both are printed side by side
(they differ by chance only).

A benchmark, not a test: it prints figures measured in one run and asserts nothing.

    .venv/bin/python benchmarks/reference_ratio.py [--users 20000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from copy import deepcopy
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sim.model import AIMarket  # noqa: E402
from sim.reference import ReferenceUsers  # noqa: E402
from sim.scenario import load_scenario  # noqa: E402

CALLS = ("move", "transfer", "evacuate")
VECTORISED_PER_REFERENCE = 5


def record(users: int) -> tuple[object, list[list[tuple]], list[str]]:
    """Run sprint_race once; the month-0 population and each month's calls on it."""
    model = AIMarket(load_scenario("sprint_race", {"run.users": users}))
    start = deepcopy(model.users)
    months: list[list[tuple]] = [[] for _ in range(model.params.run.months)]
    population = model.users
    for name in CALLS:
        setattr(population, name, recorder(model, name, getattr(population, name), months))
    model.run()
    return start, months, model.params.firm_ids


def recorder(model: AIMarket, name: str, method, months: list[list[tuple]]):
    """`method`, which also notes its call (with the choice parameters of the moment)."""

    def recorded(*args):
        months[model.month - 1].append((name, deepcopy(args), model.users.choice))
        return method(*args)

    return recorded


def replay(users, months: list[list[tuple]]) -> None:
    """Make the recorded calls on `users`, month by month, and take the readings the model
    takes every month (users per firm for the accounts and the tables, their need for
    supply, the migration matrix)."""
    for calls in months:
        for name, args, choice in calls:
            users.choice = choice
            getattr(users, name)(*args)
        users.users_m()
        users.supply_need()
        users.users_m()
        users.take_migration()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="reference replays (best shown; 5x as many vectorised)",
    )
    args = parser.parse_args()

    start, months, firm_ids = record(args.users)
    moves = sum(name == "move" for calls in months for name, *_ in calls)
    others = sum(len(calls) for calls in months) - moves
    print(
        f"sprint_race, {args.users:,} users, {len(months)} months: {moves} moves and "
        f"{others} transfers/evacuations replayed from the same month 0"
    )

    vectorised_times, reference_times, build_times = [], [], []
    for _ in range(args.repeat):
        # the vectorised replay is short: more of them make its best as steady as the other's
        for _ in range(VECTORISED_PER_REFERENCE):
            vectorised = deepcopy(start)
            began = time.perf_counter()
            replay(vectorised, months)
            vectorised_times.append(time.perf_counter() - began)

        began = time.perf_counter()
        reference = ReferenceUsers(start, rng=1)
        build_times.append(time.perf_counter() - began)
        began = time.perf_counter()
        replay(reference, months)
        reference_times.append(time.perf_counter() - began)

    fast, slow = min(vectorised_times), min(reference_times)
    print(
        f"best of {len(vectorised_times)} vectorised and {len(reference_times)} reference "
        f"replays (medians {statistics.median(vectorised_times):.4f} s and "
        f"{statistics.median(reference_times):.4f} s)"
    )
    print(f"vectorised (sim/users.py):          {fast:9.4f} s")
    print(f"Mesa reference (sim/reference.py):  {slow:9.4f} s")
    print(f"  (building its {args.users:,} agents: {min(build_times):.4f} s more)")
    print(f"ratio: the vectorised population is {slow / fast:,.0f}x faster")
    print(
        f"  ({statistics.median(reference_times) / statistics.median(vectorised_times):,.0f}x "
        "between the medians)"
    )

    shares = {
        "vectorised": vectorised.counts() / vectorised.counts().sum(),
        "reference": reference.counts() / reference.counts().sum(),
    }
    print("\nfinal shares of users    vectorised  reference")
    order = sorted(range(len(firm_ids)), key=lambda j: -shares["vectorised"][j])
    for j in order[:8]:
        print(f"  {firm_ids[j]:22} {shares['vectorised'][j]:10.3f} {shares['reference'][j]:10.3f}")


if __name__ == "__main__":
    main()
