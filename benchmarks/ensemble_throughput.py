"""Ensemble throughput: replicates per second on 1 and 2 local worker processes.

    .venv/bin/python benchmarks/ensemble_throughput.py [--replicates 60] [--users 20000]

Runs sprint_race (20,000 users, 36 months by default) as an ensemble on one worker process,
then on two, and prints the replicates per second of each, the ratio, and the time 1,000
replicates would take on two workers. The workers are started (and have imported the model)
before the clock starts, so the figures are the steady rate; the start-up is printed apart.
The replicates run exactly as in ``killline ensemble``: each comes back to this process
as Arrow tables and Parquet bytes, which are written to a replicate folder (in a temporary
directory) as they arrive; the final concatenation, summaries and plots are not timed.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from sim.experiments import ensemble
from sim.experiments.ensemble import replicate_task
from sim.experiments.executors import ProcessExecutor, default_workers
from sim.experiments.store import ReplicateStore
from sim.scenario import prepare_scenario


def throughput(scenario, workers: int, replicates: int) -> tuple[float, float]:
    """(start-up seconds, replicates per second) on ``workers`` local processes."""
    executor = ProcessExecutor(workers, preload=(ensemble,))
    began = time.perf_counter()
    executor.start()
    startup = time.perf_counter() - began
    # one replicate per worker first: the first run in a process pays for lazy set-up
    warm = [(i, (), True) for i in range(workers)]
    for _ in executor.run(replicate_task, scenario, warm):
        pass
    with tempfile.TemporaryDirectory() as folder:
        store = ReplicateStore(Path(folder))
        began = time.perf_counter()
        tasks = [(i, (), True) for i in range(replicates)]
        for position, payload, error in executor.run(replicate_task, scenario, tasks):
            if error is not None:
                raise RuntimeError(error.message)
            store.write(position, payload["parquet"])
        rate = replicates / (time.perf_counter() - began)
    executor.close()
    return startup, rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="sprint_race")
    parser.add_argument("--replicates", type=int, default=60, help="per measurement")
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--months", type=int, default=36)
    args = parser.parse_args()

    scenario = prepare_scenario(args.scenario, users=args.users, months=args.months)
    print(
        f"{scenario.name}: {args.users:,} users, {args.months} months, "
        f"{scenario.run.startups:,} startups; {args.replicates} replicates per measurement; "
        f"{default_workers()} cores available, load average {os.getloadavg()[0]:.2f}"
    )
    rates = {}
    for workers in (1, 2):
        startup, rates[workers] = throughput(scenario, workers, args.replicates)
        print(
            f"  {workers} worker{'s' if workers > 1 else ' '}: {rates[workers]:6.2f} replicates/s"
            f"  ({1 / rates[workers] * workers:.3f} s per replicate per worker; "
            f"start-up {startup:.1f} s)"
        )
    ratio = rates[2] / rates[1]
    print(f"  ratio 2/1 workers: {ratio:.2f}x")
    print(f"  1,000 replicates on 2 workers: {1000 / rates[2]:.0f} s (plus start-up)")


if __name__ == "__main__":
    main()
