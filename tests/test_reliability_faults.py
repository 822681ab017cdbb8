"""Faults injected into real processes: Ctrl-C of a parallel ensemble ends within seconds
with 130, a worker killed mid-ensemble is reported as a dead worker with the resume
command, a killed parent takes its forkserver and workers with it, and Ctrl-C while the
command starts is one line. Every wait is bounded."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from sim.schema import PROJECT_ROOT

ENSEMBLE = ["-m", "sim.cli", "ensemble", "sprint_race", "--replicates", "60", "--workers", "2",
            "--users", "2000", "--months", "12", "--set", "run.startups=2000", "--quiet",
            "--no-plots"]  # fmt: skip
DEADLINE = 180.0  # seconds for a loaded machine to start the ensemble and finish a replicate
ENDS_WITHIN = 15.0  # seconds from the fault to the end of every process


def start(out: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, *ENSEMBLE, "--out", str(out)],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_replicates(process: subprocess.Popen, out: Path, count: int = 1) -> list[int]:
    """Wait until ``count`` replicates are stored; returns the workers' process ids."""
    began = time.monotonic()
    while time.monotonic() - began < DEADLINE:
        stored = list(out.glob("sprint_race/ensemble-partial-*/replicates/[0-9]*"))
        if len(stored) >= count:
            return workers_of(process.pid)
        if process.poll() is not None:
            pytest.fail(f"the ensemble ended early: {process.communicate()}")
        time.sleep(0.05)
    process.kill()
    pytest.fail("the ensemble stored no replicate in time")


def workers_of(pid: int) -> list[int]:
    """The worker processes of an ensemble: its descendants that run tasks (the forkserver
    and the resource tracker are descendants too)."""
    return [child.pid for child in psutil.Process(pid).children(recursive=True)]


def ended(pids: list[int], within: float) -> bool:
    began = time.monotonic()
    while time.monotonic() - began < within:
        if not any(psutil.pid_exists(pid) and _running(pid) for pid in pids):
            return True
        time.sleep(0.1)
    return False


def _running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.mark.parametrize("attempt", range(2))
def test_ctrl_c_of_a_parallel_ensemble_ends_with_130(attempt: int, tmp_path: Path) -> None:
    process = start(tmp_path)
    children = wait_for_replicates(process, tmp_path, 1 + attempt)
    process.send_signal(signal.SIGINT)
    began = time.monotonic()
    try:
        _, err = process.communicate(timeout=ENDS_WITHIN)
    except subprocess.TimeoutExpired:
        process.kill()
        pytest.fail("Ctrl-C did not end the ensemble in time")
    assert process.returncode == 130, err
    assert time.monotonic() - began < ENDS_WITHIN
    assert "replicates kept in" in err and "--resume" in err
    assert "Traceback" not in err
    assert ended(children, ENDS_WITHIN), "a worker outlived the interrupted ensemble"


def test_a_killed_worker_is_reported_as_a_dead_worker(tmp_path: Path) -> None:
    process = start(tmp_path)
    wait_for_replicates(process, tmp_path)
    forkserver_children = [
        child
        for child in psutil.Process(process.pid).children(recursive=True)
        if child.ppid() != process.pid  # forked by the forkserver
    ]
    assert forkserver_children, "no worker found"
    os.kill(forkserver_children[0].pid, signal.SIGKILL)
    try:
        _, err = process.communicate(timeout=ENDS_WITHIN * 2)
    except subprocess.TimeoutExpired:
        process.kill()
        pytest.fail("the ensemble did not end after a worker died")
    assert process.returncode == 1, err
    lines = err.strip().splitlines()
    assert len(lines) == 2 and "Traceback" not in err, err
    assert "a worker process died (killed by SIGKILL" in lines[0]
    assert "replicates kept in" in lines[0]
    assert lines[1].startswith("killline: to finish them: killline ensemble")
    assert lines[1].endswith("--resume")


def test_a_killed_parent_takes_its_forkserver_and_workers(tmp_path: Path) -> None:
    process = start(tmp_path)
    children = wait_for_replicates(process, tmp_path)
    assert len(children) >= 3  # the forkserver and two workers at least
    process.kill()
    process.wait(timeout=ENDS_WITHIN)  # its pipes stay open while a child lives
    for pipe in (process.stdout, process.stderr):
        if pipe is not None:
            pipe.close()
    try:
        assert ended(children, ENDS_WITHIN), [p for p in children if _running(p)]
    finally:
        for pid in children:
            if _running(pid):
                os.kill(pid, signal.SIGKILL)


def test_ctrl_c_while_starting_is_one_line(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-X", "importtime", "-m", "sim.cli", "list"],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # importtime writes a line per module: Ctrl-C once the command line is loading
    began = time.monotonic()
    assert process.stderr is not None
    for line in process.stderr:
        if "sim.schema_types" in line or time.monotonic() - began > DEADLINE:
            break
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=ENDS_WITHIN)
    if process.returncode == 0:
        pytest.skip("the command finished before Ctrl-C arrived")
    assert process.returncode == 130, err
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1] == "killline: interrupted"
