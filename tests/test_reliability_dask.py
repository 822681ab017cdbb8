"""Dask failure modes on loopback: an address where another service listens (silent),
malformed addresses, and a scheduler without workers. Each is one line, exit 2, within a
bounded wait, with nothing written."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from helpers import cli

from sim.experiments import executors

ARGS = ["ensemble", "sprint_race", "--replicates", "2", "--users", "500", "--months", "3",
        "--set", "run.startups=500", "--quiet"]  # fmt: skip
WAIT = 1.0  # seconds the checks may wait here (CONNECT_TIMEOUT)


@pytest.fixture
def short_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(executors, "CONNECT_TIMEOUT", WAIT)


@pytest.fixture
def silent_service() -> Iterator[str]:
    """A TCP port that accepts connections and never says a word."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    accepted: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                accepted.append(server.accept()[0])
            except OSError:
                return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"tcp://127.0.0.1:{server.getsockname()[1]}"
    server.close()
    for conn in accepted:
        conn.close()


@pytest.fixture
def talking_service() -> Iterator[str]:
    """A TCP port that answers every connection with a line of HTTP and hangs up."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)

    def serve() -> None:
        while True:
            try:
                conn = server.accept()[0]
            except OSError:
                return
            with conn:
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n" * 4)

    threading.Thread(target=serve, daemon=True).start()
    yield f"tcp://127.0.0.1:{server.getsockname()[1]}"
    server.close()


def assert_refused(address: str, out: Path, *texts: str) -> None:
    began = time.monotonic()
    code, _, err = cli([*ARGS, "--scheduler", address, "--out", str(out)])
    assert time.monotonic() - began < 30 * WAIT + 30  # bounded (a loaded machine is slow)
    assert code == 2, err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    for text in texts:
        assert text in err, f"{text!r} not in {err!r}"
    assert not any(out.iterdir()), "nothing is written for a scheduler that cannot run"


def test_another_service_that_says_nothing(short_wait, silent_service, tmp_path: Path) -> None:
    assert_refused(silent_service, tmp_path, "no Dask scheduler answered within 1 s")


def test_another_service_that_talks(short_wait, talking_service, tmp_path: Path) -> None:
    assert_refused(talking_service, tmp_path, "cannot reach the Dask scheduler")


@pytest.mark.parametrize("address", ["nope://host:1", "tcp://[::::", "tcp://127.0.0.1:99999"])
def test_malformed_addresses(short_wait, address: str, tmp_path: Path) -> None:
    assert_refused(address, tmp_path, "cannot reach the Dask scheduler", address)


def test_a_scheduler_without_workers(short_wait, tmp_path: Path) -> None:
    from distributed import LocalCluster

    with LocalCluster(
        host="127.0.0.1", n_workers=0, processes=True, dashboard_address="127.0.0.1:0"
    ) as cluster:
        assert_refused(cluster.scheduler_address, tmp_path, "has no workers")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def test_a_real_scheduler_killed_mid_ensemble(tmp_path: Path) -> None:
    """A Dask scheduler and worker on loopback, the scheduler killed (SIGKILL) once some
    replicates are kept: one line naming the loss and the replicates kept, the command that
    finishes them, exit 1 within a bounded wait; the resume on local processes completes."""
    import os
    import signal
    import subprocess
    import sys

    bin_dir = Path(sys.executable).parent
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    env = {**os.environ, "DASK_DISTRIBUTED__WORKER__DAEMON": "False"}
    scheduler = subprocess.Popen(
        [str(bin_dir / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port),
         "--no-dashboard"], env=env, **quiet)  # fmt: skip
    worker = None
    try:
        worker = subprocess.Popen(
            [str(bin_dir / "dask"), "worker", address, "--nworkers", "1", "--nthreads", "1",
             "--no-dashboard", "--death-timeout", "20"], env=env, **quiet)  # fmt: skip
        out = tmp_path / "out"
        args = ["ensemble", "sprint_race", "--replicates", "16", "--users", "1000", "--months",
                "12", "--set", "run.startups=500", "--quiet", "--out", str(out)]  # fmt: skip
        run = subprocess.Popen(
            [str(bin_dir / "killline"), *args, "--scheduler", address],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)  # fmt: skip

        def kept() -> int:
            return sum(1 for p in out.glob("*/*partial*/replicates/*") if p.name.isdigit())

        _wait_for(lambda: kept() >= 2 or run.poll() is not None, 180, "kept replicates")
        assert run.poll() is None, "the ensemble finished before the scheduler was killed"
        scheduler.send_signal(signal.SIGKILL)
        began = time.monotonic()
        _, err = run.communicate(timeout=120)
        assert time.monotonic() - began < 90, "the loss of the scheduler is noticed in time"
        assert run.returncode == 1, err
        assert "Traceback" not in err, err
        lines = err.strip().splitlines()
        assert len(lines) == 2, err
        assert "lost the Dask scheduler" in lines[0] and "of 16 replicates kept in" in lines[0]
        assert lines[1].startswith("killline: to finish them: killline ensemble")
        assert "--resume" in lines[1]
        code, _, err = cli([*args, "--resume", "--workers", "2"])
        assert code == 0, err
        assert len(list(out.glob("*/ensemble-*"))) == 1
    finally:
        for process in (worker, scheduler):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait(timeout=30)
